// Command redisbench measures the Redis Streams engine against a private
// loopback redis-server, next to raw go-redis in the same run:
//
//	go run ./cmd/redisbench                  # 5 interleaved rounds, medians
//	go run ./cmd/redisbench -rounds 3 -duration 1s -events 100000
//	go run ./cmd/redisbench -addr 127.0.0.1:7000   # an existing server
//
// Every round runs each scenario once, in the same order, so slow phases
// of a shared machine hit every scenario alike; the table reports the
// median, min and max over the rounds and the ratio of the median to the
// raw go-redis ceiling. Publish figures count Publish calls that returned
// nil (the entry is stored in Redis); end-to-end figures count events
// published, handled by a subscription and confirmed by Flush.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/engines/redis"
)

// Watermill's published Redis Streams figures (16 B messages, n1-highcpu-16,
// ThreeDotsLabs/watermill-benchmark).
const (
	watermillPublish   = 61642.0
	watermillSubscribe = 11213.0
)

func main() {
	addr := flag.String("addr", "", "existing Redis host:port (default: start a private redis-server)")
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	duration := flag.Duration("duration", 2*time.Second, "length of each publish measurement")
	events := flag.Int("events", 200000, "events per end-to-end measurement")
	size := flag.Int("payload", 100, "approximate JSON payload size in bytes")
	pubs := flag.String("publishers", "16,64", "publisher goroutine counts to measure")
	pipelines := flag.Int("pipelines", 0, "engine publishPipelines (0: the engine default)")
	batch := flag.Int("batch", 0, "engine publishBatch (0: the engine default)")
	only := flag.String("only", "", "run only scenarios whose name contains this")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the benchmark process")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}

	if *addr == "" {
		s, err := startServer()
		if err != nil {
			fmt.Fprintln(os.Stderr, "redisbench:", err)
			os.Exit(1)
		}
		defer s.stop()
		*addr = s.addr
	}
	b := &bench{addr: *addr, payload: payloadOf(*size), duration: *duration, events: *events}
	b.tune = func(c *redis.Config) {
		c.PublishPipelines = *pipelines
		c.PublishBatch = *batch
	}
	b.rawValue = fmt.Sprintf(`{"id":"evt-0000000001","body":"%s"}`, strings.Repeat("x", max(*size-30, 1)))

	var counts []int
	for _, f := range strings.Split(*pubs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "redisbench: bad -publishers", *pubs)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	rawPub := b.rawPublish(256)
	rawE2E := b.rawEndToEnd()
	list := []scenario{rawPub}
	for _, n := range counts {
		list = append(list, b.enginePublish(n, false))
	}
	list = append(list, b.enginePublish(counts[0], true))
	list = append(list, rawE2E)
	for _, n := range counts {
		list = append(list, b.engineEndToEnd(n, false, false))
	}
	list = append(list, b.engineEndToEnd(counts[0], true, false))
	list = append(list, b.engineEndToEnd(counts[0], false, true))

	if *only != "" {
		var keep []scenario
		for _, s := range list {
			if strings.Contains(s.name, *only) || strings.HasPrefix(s.name, "raw") {
				keep = append(keep, s)
			}
		}
		list = keep
	}
	results := make([][]float64, len(list))
	for r := 0; r < *rounds; r++ {
		for i, s := range list {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			v, err := s.run(ctx)
			cancel()
			if err != nil {
				fmt.Fprintf(os.Stderr, "redisbench: %s: %v\n", s.name, err)
				os.Exit(1)
			}
			results[i] = append(results[i], v)
			fmt.Fprintf(os.Stderr, "round %d  %-62s %10.0f events/s\n", r+1, s.name, v)
		}
	}

	median := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		if len(s)%2 == 1 {
			return s[len(s)/2]
		}
		return (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	var rawPubMed, rawE2EMed float64
	for i, s := range list {
		switch s.name {
		case rawPub.name:
			rawPubMed = median(results[i])
		case rawE2E.name:
			rawE2EMed = median(results[i])
		}
	}
	fmt.Printf("redis-server %s, GOMAXPROCS %d, %s, %d rounds, payload ~%d B, publish runs %v, end-to-end runs %d events\n\n",
		*addr, runtime.GOMAXPROCS(0), runtime.Version(), *rounds, *size, *duration, *events)
	fmt.Println("| scenario | median events/s | min | max | vs raw ceiling | vs Watermill Redis |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	for i, s := range list {
		med := median(results[i])
		ceiling, anchor, anchorName := rawPubMed, watermillPublish, "publish"
		if strings.Contains(s.name, "end to end") {
			ceiling, anchor, anchorName = rawE2EMed, watermillSubscribe, "subscribe"
		}
		vsRaw := fmt.Sprintf("%.2f×", med/ceiling)
		vsWM := fmt.Sprintf("%.1f× (%s)", med/anchor, anchorName)
		if strings.HasPrefix(s.name, "raw") {
			vsRaw, vsWM = "ceiling", "–"
		}
		fmt.Printf("| %s | %.0f | %.0f | %.0f | %s | %s |\n", s.name, med, slices.Min(results[i]), slices.Max(results[i]), vsRaw, vsWM)
	}
}
