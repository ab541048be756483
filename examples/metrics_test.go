package examples_test

import (
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestMetricsExamplePrintsAScrapeOfBothEngines(t *testing.T) {
	// A real UDP listener stands in for the DogStatsD agent.
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var datagrams strings.Builder
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			mu.Lock()
			datagrams.Write(buf[:n])
			datagrams.WriteByte('\n')
			mu.Unlock()
		}
	}()
	defer func() { conn.Close(); <-done }()

	out := runExample(t, "metrics", 2*time.Minute, "-once", "-addr", "127.0.0.1:0", "-statsd", conn.LocalAddr().String())
	for _, want := range []string{
		`modular_eventbus_delivered_total{engine="_all"} 250`,
		`modular_eventbus_published_total{engine="orders"} 200`,
		`modular_eventbus_published_total{engine="audit"} 50`,
		`modular_eventbus_failed_total{engine="orders"} 8`,
		`modular_eventbus_handler_duration_seconds_count{engine="orders"} 200`,
		`modular_eventbus_topic_published_total{engine="orders",topic="orders.paid"} 50`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %s\n%s", want, out)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := datagrams.String()
		mu.Unlock()
		if deliveredCount(got, "engine:orders") == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the DogStatsD listener never got the orders delivered count; got:\n%s", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMetricsExampleServesForADurationAndExits(t *testing.T) {
	out := runExample(t, "metrics", 2*time.Minute, "-duration", "500ms", "-addr", "127.0.0.1:0", "-rate", "100")
	if !strings.Contains(out, "serving http://127.0.0.1:") || !strings.Contains(out, "stopping") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}

// deliveredCount adds the eventbus.delivered counts carrying tag (the
// exporter may have reported more than one interval).
func deliveredCount(datagrams, tag string) int {
	total := 0
	for _, line := range strings.Split(datagrams, "\n") {
		fields := strings.Split(line, "|")
		if len(fields) < 3 || fields[1] != "c" || !strings.HasPrefix(fields[0], "eventbus.delivered:") {
			continue
		}
		if !strings.Contains(","+strings.TrimPrefix(fields[2], "#")+",", ","+tag+",") {
			continue
		}
		if n, err := strconv.Atoi(strings.TrimPrefix(fields[0], "eventbus.delivered:")); err == nil {
			total += n
		}
	}
	return total
}
