// Command kafkabench measures the Kafka engine against a kfake broker (an
// in-process Kafka, run here in a child process so that it does not count
// in the client's allocations), next to raw sarama in the same run:
//
//	go run ./cmd/kafkabench                       # 3 interleaved rounds, medians
//	go run ./cmd/kafkabench -events 200000 -publishers 16,64 -rounds 5
//	go run ./cmd/kafkabench -producer linger.ms=1,compression=lz4
//
// Every round runs each scenario once, in the same order, so slow phases
// of a shared machine hit every scenario alike; the table reports the
// median, min and max over the rounds. Events carry a ~100-byte JSON
// payload. Publish figures count Publish calls that returned nil (the
// broker acknowledged the record, acks=all, idempotent producer); consume
// figures count handler calls; end-to-end figures count events published
// by the publishers and handled by one subscription, from the first
// publish to the last handler call. Allocations are those of this process
// (sarama and the engine; the broker runs in the child) per event; the
// engine's overhead is its figure minus raw sarama's for the same work.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/internal/busbench"
)

// Watermill's published Kafka figures (ThreeDotsLabs/watermill-benchmark: 16 CPUs, real Kafka).
const (
	watermillPublish   = 44090.0
	watermillSubscribe = 108285.0
)

func main() {
	serveMode := flag.Bool("serve", false, "internal: run the kfake broker (child process)")
	brokers := flag.String("brokers", "", "existing brokers host:port,... (default: start kfake in a child process)")
	rounds := flag.Int("rounds", 3, "interleaved rounds")
	events := flag.Int("events", 100000, "events per scenario")
	pubs := flag.String("publishers", "16,64", "publisher goroutine counts to measure")
	partitions := flag.Int("partitions", 8, "partitions per topic")
	producer := flag.String("producer", "", "engine producer options for every scenario, key=value,... (also applied to raw sarama where they map)")
	only := flag.String("only", "", "run only scenarios whose name contains this")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measuring process")
	flag.Parse()
	if *serveMode {
		serve()
		return
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			_ = pprof.StartCPUProfile(f)
			defer pprof.StopCPUProfile()
		}
	}
	var addrs []string
	if *brokers == "" {
		s, err := startServer()
		if err != nil {
			fmt.Fprintln(os.Stderr, "kafkabench:", err)
			os.Exit(1)
		}
		defer s.stop()
		addrs = s.addrs
	} else {
		addrs = strings.Split(*brokers, ",")
	}
	popts := map[string]string{}
	if *producer != "" {
		for _, kv := range strings.Split(*producer, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fmt.Fprintln(os.Stderr, "kafkabench: bad -producer entry", kv)
				os.Exit(2)
			}
			popts[k] = v
		}
	}
	var counts []int
	for _, f := range strings.Split(*pubs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintln(os.Stderr, "kafkabench: bad -publishers", *pubs)
			os.Exit(2)
		}
		counts = append(counts, n)
	}
	b := &bench{addrs: addrs, events: *events, partitions: int32(*partitions), producer: popts}
	scen := b.scenarios(counts)
	results := map[string][]result{}
	for r := 0; r < *rounds; r++ {
		for _, sc := range scen {
			if *only != "" && !strings.Contains(sc.name, *only) {
				continue
			}
			res, err := sc.run(r)
			if err != nil {
				fmt.Fprintf(os.Stderr, "kafkabench: round %d %s: %v\n", r+1, sc.name, err)
				os.Exit(1)
			}
			results[sc.name] = append(results[sc.name], res)
			fmt.Fprintf(os.Stderr, "round %d  %-44s %10.0f ev/s  %6.1f allocs/ev\n", r+1, sc.name, res.rate(), res.allocs())
		}
	}
	fmt.Printf("\nkafkabench: %d events of ~100 B per scenario, %d partitions, %d rounds, GOMAXPROCS=%d, %s/%s, broker kfake (child process)\n\n",
		*events, *partitions, *rounds, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("| scenario | events/s (median) | min | max | allocs/event |\n|---|---:|---:|---:|---:|\n")
	for _, sc := range scen {
		rs := results[sc.name]
		if len(rs) == 0 {
			continue
		}
		rates := make([]float64, len(rs))
		allocs := make([]float64, len(rs))
		for i, r := range rs {
			rates[i], allocs[i] = r.rate(), r.allocs()
		}
		slices.Sort(rates)
		slices.Sort(allocs)
		fmt.Printf("| %s | %.0f | %.0f | %.0f | %.1f |\n", sc.name, busbench.Median(rates), rates[0], rates[len(rates)-1], busbench.Median(allocs))
	}
	fmt.Printf("\nFor comparison: Watermill Kafka %.0f publish / %.0f subscribe msg/s (published figures: 16 CPUs, real Kafka).\n", watermillPublish, watermillSubscribe)
	printRatios(results, counts)
}

func printRatios(results map[string][]result, counts []int) {
	medOne := func(name string) (float64, float64, bool) {
		rs := results[name]
		if len(rs) == 0 {
			return 0, 0, false
		}
		rates := make([]float64, len(rs))
		allocs := make([]float64, len(rs))
		for i, r := range rs {
			rates[i], allocs[i] = r.rate(), r.allocs()
		}
		slices.Sort(rates)
		slices.Sort(allocs)
		return busbench.Median(rates), busbench.Median(allocs), true
	}
	med := func(name string) (float64, float64, bool) {
		r, a, ok := medOne(name)
		if name == "raw sarama consumer group (backlog)" {
			if r2, a2, ok2 := medOne(name[:len(name)-1] + ", again)"); ok2 && (!ok || r2 > r) {
				return r2, a2, true
			}
		}
		return r, a, ok
	}
	for _, n := range counts {
		e, ea, ok1 := med(fmt.Sprintf("engine publish, %d publishers", n))
		r, ra, ok2 := med(fmt.Sprintf("raw sarama SyncProducer, %d publishers", n))
		if ok1 && ok2 {
			fmt.Printf("%d publishers: engine publish = %.2f× raw sarama SyncProducer; adapter overhead %.1f allocs/event beyond sarama's\n", n, e/r, ea-ra)
		}
		if rh, _, ok := med(fmt.Sprintf("raw sarama SyncProducer + CloudEvents headers, %d publishers", n)); ok && ok1 {
			fmt.Printf("%d publishers: engine publish = %.2f× raw sarama SyncProducer sending the same headers\n", n, e/rh)
		}
		e2e, _, ok3 := med(fmt.Sprintf("engine end-to-end, %d publishers", n))
		rc, _, ok4 := med("raw sarama consumer group (backlog)") // the better of its two runs
		if ok3 && ok4 {
			fmt.Printf("%d publishers: engine end-to-end = %.2f× raw sarama consume rate\n", n, e2e/rc)
		}
		if e2ea, _, ok := med(fmt.Sprintf("engine end-to-end async publish, %d publishers", n)); ok && ok4 {
			fmt.Printf("%d publishers: engine end-to-end with async publish = %.2f× raw sarama consume rate", n, e2ea/rc)
			if re, _, ok := med("raw sarama end-to-end (AsyncProducer + consumer group)"); ok {
				fmt.Printf(" (raw sarama end-to-end: %.2f×; engine/raw end-to-end %.2f×)", re/rc, e2ea/re)
			}
			fmt.Println()
		}
	}
	ec, eca, ok1 := med("engine Subscribe (backlog)")
	rc, rca, ok2 := med("raw sarama consumer group (backlog)")
	if ok1 && ok2 {
		fmt.Printf("engine consume = %.2f× raw sarama consume; adapter overhead %.1f allocs/event beyond sarama's\n", ec/rc, eca-rca)
	}
}

// result is one scenario run.
type result struct {
	events  int
	elapsed time.Duration
	mallocs uint64
}

func (r result) rate() float64   { return float64(r.events) / r.elapsed.Seconds() }
func (r result) allocs() float64 { return float64(r.mallocs) / float64(r.events) }

// measure runs fn and returns its duration and this process's allocations.
func measure(events int, fn func() error) (result, error) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	err := fn()
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return result{events: events, elapsed: elapsed, mallocs: after.Mallocs - before.Mallocs}, err
}
