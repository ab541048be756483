package exporters_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/exporters"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// sample is one DogStatsD line: "name:value|type|#tag,tag" (optional
// fields such as |c:<container> are ignored).
type sample struct {
	name  string
	value float64
	typ   string
	tags  []string
}

func (s sample) has(tags ...string) bool {
	for _, t := range tags {
		if !slices.Contains(s.tags, t) {
			return false
		}
	}
	return true
}

// agent is a real UDP listener on 127.0.0.1 that parses every datagram
// it receives. Its reader goroutine stops when the test ends.
type agent struct {
	conn    net.PacketConn
	mu      sync.Mutex
	samples []sample
	bad     []string
}

func newAgent(t *testing.T) *agent {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, _, err := conn.ReadFrom(buf)
			if err != nil {
				return
			}
			a.parse(string(buf[:n]))
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return a
}

func (a *agent) addr() string { return a.conn.LocalAddr().String() }

func (a *agent) parse(datagram string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, line := range strings.Split(strings.TrimSpace(datagram), "\n") {
		fields := strings.Split(line, "|")
		nv := strings.SplitN(fields[0], ":", 2)
		if len(fields) < 2 || len(nv) != 2 {
			a.bad = append(a.bad, line)
			continue
		}
		v, err := strconv.ParseFloat(nv[1], 64)
		if err != nil {
			a.bad = append(a.bad, line)
			continue
		}
		s := sample{name: nv[0], value: v, typ: fields[1]}
		for _, f := range fields[2:] {
			if strings.HasPrefix(f, "#") {
				s.tags = strings.Split(f[1:], ",")
			}
		}
		a.samples = append(a.samples, s)
	}
}

// find returns the samples named name carrying every tag in tags.
func (a *agent) find(name string, tags ...string) []sample {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []sample
	for _, s := range a.samples {
		if s.name == name && s.has(tags...) {
			out = append(out, s)
		}
	}
	return out
}

// sum adds the values of the matching samples (the total of counts).
func (a *agent) sum(name string, tags ...string) float64 {
	var total float64
	for _, s := range a.find(name, tags...) {
		total += s.value
	}
	return total
}

func (a *agent) all() []sample {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.samples)
}

// runExporter runs e until the test ends, then closes it.
func runExporter(t *testing.T, e *eventbus.DatadogStatsdExporter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
}

func TestDatadogSendsCountsAsDeltasAndGaugesToARealAgent(t *testing.T) {
	a := newAgent(t)
	eb := newBus(t)
	ctx := testCtx(t)
	if _, err := eb.Subscribe(ctx, "orders.*", func(_ context.Context, e eventbus.Event) error {
		switch e.Payload {
		case "bad":
			return errors.New("rejected")
		case "skip":
			return eventbus.ErrEventFiltered
		}
		time.Sleep(time.Millisecond)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	base := []string{"env:test", "service:shop"}
	e, err := eventbus.NewDatadogStatsdExporter(eb, "", a.addr(), 20*time.Millisecond, base)
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, e)

	// Three bursts across several intervals: if counts were cumulative
	// instead of deltas, their sum would exceed what was published.
	total := 0
	for burst := 1; burst <= 3; burst++ {
		for i := 0; i < 10*burst; i++ {
			mustPublish(t, eb, "orders.placed", i)
			total++
		}
		flush(t, eb)
		want := float64(total)
		testutil.Eventually(t, 5*time.Second, "delivered counts to add up", func() bool {
			return a.sum("eventbus.delivered", "engine:fast") == want
		})
	}
	mustPublish(t, eb, "orders.placed", "bad")
	flush(t, eb)
	testutil.Eventually(t, 5*time.Second, "one failed count", func() bool { return a.sum("eventbus.failed", "engine:fast") == 1 })
	testutil.Eventually(t, 5*time.Second, "published to add up", func() bool {
		return a.sum("eventbus.published", "engine:fast") == float64(total+1)
	})
	testutil.Eventually(t, 5*time.Second, "per-topic counts", func() bool {
		return a.sum("eventbus.topic.delivered", "engine:fast", "topic:orders.placed") == float64(total+1)
	})
	testutil.Eventually(t, 5*time.Second, "the cumulative upstream gauge incl. engine:_all", func() bool {
		g := a.find("eventbus.delivered_total", "engine:_all")
		return len(g) > 0 && g[len(g)-1].value == float64(total+1)
	})
	mustPublish(t, eb, "orders.placed", "skip")
	flush(t, eb)
	testutil.Eventually(t, 5*time.Second, "one filtered count", func() bool { return a.sum("eventbus.filtered", "engine:fast") == 1 })
	if d := a.sum("eventbus.delivered", "engine:fast"); d != float64(total+1) {
		t.Errorf("eventbus.delivered = %v after a filtered event, want %d: filtered events are not deliveries", d, total+1)
	}

	if len(a.find("eventbus.delivered", "engine:fast")) < 3 {
		t.Errorf("expected one delivered count per interval, got %d", len(a.find("eventbus.delivered", "engine:fast")))
	}
	for _, name := range []string{"eventbus.queue_depth", "eventbus.in_flight", "eventbus.lag", "eventbus.lossy_shutdown"} {
		if g := a.find(name, "engine:fast"); len(g) == 0 || g[0].typ != "g" {
			t.Errorf("%s: %v, want gauges tagged engine:fast", name, g)
		}
	}
	if c := a.find("eventbus.delivered", "engine:slow"); len(c) == 0 || c[0].typ != "c" {
		t.Errorf("eventbus.delivered for the idle engine: %v, want counts (zeros) too", c)
	}
	p99 := a.find("eventbus.handler_latency_ms.p99", "engine:fast")
	if len(p99) == 0 || p99[0].value < 1 {
		t.Errorf("handler_latency_ms.p99 = %v, want >= 1ms (handlers sleep 1ms)", p99)
	}
	for _, s := range a.all() {
		if strings.HasPrefix(s.name, "eventbus.") && !s.has(base...) {
			t.Errorf("%s tags %v lack the base tags %v", s.name, s.tags, base)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.bad) > 0 {
		t.Errorf("unparsable lines: %q", a.bad)
	}
}

func TestDatadogDoesNotWriteIntoTheCallersTagSlice(t *testing.T) {
	a := newAgent(t)
	eb := newBus(t)
	backing := []string{"env:test", "spare-slot-untouched"}
	base := backing[:1] // spare capacity an append would write into
	e, err := exporters.NewDatadogStatsdExporter(eb, "app", a.addr(), 10*time.Millisecond, base)
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, e)
	base[0] = "env:changed-after-construction"
	testutil.Eventually(t, 5*time.Second, "two engines reported", func() bool {
		return len(a.find("app.delivered", "engine:fast")) > 0 && len(a.find("app.delivered", "engine:slow")) > 0
	})
	if backing[1] != "spare-slot-untouched" {
		t.Fatalf("the exporter wrote %q into the caller's spare capacity", backing[1])
	}
	if len(a.find("app.delivered", "env:test")) == 0 || len(a.find("app.delivered", "env:changed-after-construction")) > 0 {
		t.Fatalf("base tags must be copied at construction")
	}
}

func TestDatadogTopicTagsAreBoundedAndSanitized(t *testing.T) {
	a := newAgent(t)
	eb := newBus(t)
	e, err := exporters.NewDatadogStatsdExporter(eb, "", a.addr(), 10*time.Millisecond, nil, exporters.WithTopicLimit(2))
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, e)
	for _, topic := range []string{"a|b,c#d", "b.ok", "c", "d", "e"} {
		mustPublish(t, eb, topic, 1)
	}
	testutil.Eventually(t, 5*time.Second, "the overflow topic", func() bool {
		return a.sum("eventbus.topic.published", "topic:other") == 3
	})
	if a.sum("eventbus.topic.published", "topic:a_b_c_d") != 1 {
		t.Errorf("the topic a|b,c#d must arrive as tag topic:a_b_c_d; got %v", a.all())
	}
	topics := map[string]bool{}
	for _, s := range a.find("eventbus.topic.published") {
		for _, tag := range s.tags {
			if strings.HasPrefix(tag, "topic:") {
				topics[tag] = true
			}
		}
	}
	if len(topics) != 3 {
		t.Errorf("topic tags %v, want 2 topics plus other", topics)
	}
}

func TestDatadogConstructorRejectsBadArguments(t *testing.T) {
	eb := newBus(t)
	for _, iv := range []time.Duration{0, -time.Second} {
		if _, err := eventbus.NewDatadogStatsdExporter(eb, "", "127.0.0.1:8125", iv, nil); !errors.Is(err, exporters.ErrInvalidInterval) {
			t.Errorf("interval %v: err %v, want ErrInvalidInterval", iv, err)
		}
	}
	if _, err := eventbus.NewDatadogStatsdExporter(nil, "", "127.0.0.1:8125", time.Second, nil); !errors.Is(err, exporters.ErrNilSource) {
		t.Errorf("nil module: err %v, want ErrNilSource", err)
	}
	var typedNil *eventbus.EventBusModule
	if _, err := exporters.NewDatadogStatsdExporter(typedNil, "", "127.0.0.1:8125", time.Second, nil); !errors.Is(err, exporters.ErrNilSource) {
		t.Errorf("typed nil module: err %v, want ErrNilSource", err)
	}
}

func TestDatadogRunReportsOnceMoreOnCancelAndCloseIsIdempotent(t *testing.T) {
	a := newAgent(t)
	eb := newBus(t)
	e, err := eventbus.NewDatadogStatsdExporter(eb, "", a.addr(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustPublish(t, eb, "orders.placed", 1)
	flush(t, eb)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	time.Sleep(20 * time.Millisecond)
	e.Run(ctx) // a second Run while one runs returns at once
	cancel()
	<-done
	testutil.Eventually(t, 5*time.Second, "the final report", func() bool { return a.sum("eventbus.published", "engine:fast") == 1 })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Run after Close must neither block forever nor panic.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	e.Run(ctx2)
}

func TestDatadogCloseWhileRunningDoesNotDeadlock(t *testing.T) {
	a := newAgent(t)
	eb := newBus(t)
	e, err := exporters.NewDatadogStatsdExporter(eb, "", a.addr(), time.Millisecond, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	testutil.Eventually(t, 5*time.Second, "a report", func() bool { return len(a.find("eventbus.delivered")) > 0 })
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond) // let Run tick against the closed client
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after Close and cancel")
	}
}

func TestDatadogLegacyEnginesReportOnlyDeliveredAndDropped(t *testing.T) {
	a := newAgent(t)
	src := fixedSource{per: map[string]bus.DeliveryStats{"legacy": {Delivered: 4, Dropped: 1}}}
	e, err := exporters.NewDatadogStatsdExporter(src, "p", a.addr(), 10*time.Millisecond, nil, exporters.WithStatsdOptions(statsd.WithoutTelemetry()))
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, e)
	testutil.Eventually(t, 5*time.Second, "delivered 4", func() bool { return a.sum("p.delivered", "engine:legacy") == 4 })
	if len(a.find("p.published")) > 0 || len(a.find("p.queue_depth")) > 0 {
		t.Fatalf("an engine without EngineStats must not report detailed figures")
	}
	if g := a.find("p.dropped_total", "engine:_all"); len(g) == 0 || g[0].value != 1 {
		t.Fatalf("dropped_total{_all} = %v", g)
	}
}

func TestDatadogReportsRetriesAndDeadLettersPerTopic(t *testing.T) {
	a := newAgent(t)
	e, err := exporters.NewDatadogStatsdExporter(fixedFigures(), "", a.addr(), 10*time.Millisecond, nil, exporters.WithTopicLimit(2))
	if err != nil {
		t.Fatal(err)
	}
	runExporter(t, e)
	testutil.Eventually(t, 5*time.Second, "per-topic retries", func() bool {
		return a.sum("eventbus.topic.retried", "topic:orders.b") == 3
	})
	// Counts are deltas: a fixed source is reported once, never again.
	time.Sleep(50 * time.Millisecond)
	for _, c := range []struct {
		name, topic string
		want        float64
	}{
		{"eventbus.topic.retried", "orders.b", 3},
		{"eventbus.topic.retried", "other", 1}, // orders.c, past the limit of 2
		{"eventbus.topic.dead_lettered", "orders.b", 1},
		{"eventbus.topic.dead_lettered", "orders.a", 0},
	} {
		if got := a.sum(c.name, "engine:fast", "topic:"+c.topic); got != c.want {
			t.Errorf("%s topic:%s = %v, want %v", c.name, c.topic, got, c.want)
		}
	}
}
