// Command busbench compares publish→deliver throughput and latency of the
// sharded ring engine against a buffered channel (chan bus.Event, buffer
// 1024) and the memory engine, in the same process, in interleaved rounds.
//
//	go run ./cmd/busbench                 # 5 rounds, ~0.3 s per case, latency at 10k/100k/1M events/s
//	go run ./cmd/busbench -rounds 7 -latency=false
//	go run ./cmd/busbench -idlecpu -rounds 3   # CPU and latency at 100, 1k, 10k events/s per spinWindow
//
// Every figure is a median over rounds; ratios are medians of per-round
// ratios against the channel measured in the same round, because on a
// shared or virtualized machine absolute numbers swing by 2-4x between
// rounds (see the cache-line ping-pong RTT column). Read
// docs/performance.md for the method and the recorded results.
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/engines/sharded"
	"github.com/switchyard-go/eventbus/internal/busbench"
)

type benchCase struct {
	name string
	run  busbench.Runner
}

func cases(rings []int) []benchCase {
	sh := func(w busbench.Workload) busbench.Runner { return busbench.Sharded(sharded.Config{}, w) }
	var sweep []benchCase
	for _, r := range rings {
		cfg := sharded.Config{RingSize: r}
		sweep = append(sweep,
			benchCase{name: fmt.Sprintf("sharded P1 S1 ring=%d", r), run: busbench.Sharded(cfg, busbench.Workload{Producers: 1, Subs: 1})},
			benchCase{name: fmt.Sprintf("sharded P1 S1 batch64 ring=%d", r), run: busbench.Sharded(cfg, busbench.Workload{Producers: 1, Subs: 1, Batch: 64})},
			benchCase{name: fmt.Sprintf("sharded P4 S1 ring=%d", r), run: busbench.Sharded(cfg, busbench.Workload{Producers: 4, Subs: 1})},
		)
	}
	return append([]benchCase{
		{name: "chan1024 P1", run: busbench.Channel(busbench.Workload{Producers: 1}, 1024)},
		{name: "chan1024 P4", run: busbench.Channel(busbench.Workload{Producers: 4}, 1024)},
		{name: "memory P1 S1", run: busbench.Memory(busbench.Workload{Producers: 1, Subs: 1})},
		{name: "sharded P1 S1", run: sh(busbench.Workload{Producers: 1, Subs: 1})},
		{name: "sharded P1 S1 batch16", run: sh(busbench.Workload{Producers: 1, Subs: 1, Batch: 16})},
		{name: "sharded P1 S1 batch64", run: sh(busbench.Workload{Producers: 1, Subs: 1, Batch: 64})},
		{name: "sharded P4 S1", run: sh(busbench.Workload{Producers: 4, Subs: 1})},
		{name: "sharded P4 S1 keyed", run: sh(busbench.Workload{Producers: 4, Subs: 1, Keyed: true})},
		{name: "sharded P1 S4", run: sh(busbench.Workload{Producers: 1, Subs: 4})},
	}, sweep...)
}

type sample struct {
	ns     float64 // per event
	allocs float64 // per event
	bytes  float64
}

func main() {
	rounds := flag.Int("rounds", 5, "interleaved rounds")
	target := flag.Duration("time", 300*time.Millisecond, "approximate duration of one case in one round")
	filter := flag.String("run", "", "only cases whose name matches this regexp (the channel baseline always runs)")
	latency := flag.Bool("latency", true, "also measure paced latency")
	latDur := flag.Duration("latdur", time.Second, "duration of one latency run")
	latRuns := flag.Int("latruns", 3, "latency runs per rate")
	ringList := flag.String("rings", "", "comma-separated ring sizes: add sharded cases with these RingSize values")
	idle := flag.Bool("idlecpu", false, "measure instead the CPU the sharded engine uses at low rates, per spinWindow (see idlecpu.go)")
	idleDur := flag.Duration("idledur", 2*time.Second, "with -idlecpu: duration of one run")
	idleRates := flag.String("idlerates", "100,1000,10000", "with -idlecpu: comma-separated rates, events/s")
	idleWindows := flag.String("idlewindows", "50us,20us,5us,-1ns", "with -idlecpu: comma-separated spinWindow values (negative: park at once)")
	flag.Parse()
	if *idle {
		var rates []int
		for _, f := range strings.Split(*idleRates, ",") {
			var r int
			_, err := fmt.Sscan(strings.TrimSpace(f), &r)
			check(err)
			rates = append(rates, r)
		}
		var windows []time.Duration
		for _, f := range strings.Split(*idleWindows, ",") {
			w, err := time.ParseDuration(strings.TrimSpace(f))
			check(err)
			windows = append(windows, w)
		}
		idleCPU(rates, windows, *idleDur, *rounds)
		return
	}

	var rings []int
	for _, f := range strings.Split(*ringList, ",") {
		if f = strings.TrimSpace(f); f != "" {
			var r int
			_, err := fmt.Sscan(f, &r)
			check(err)
			rings = append(rings, r)
		}
	}
	all := cases(rings)
	var re *regexp.Regexp
	if *filter != "" {
		re = regexp.MustCompile(*filter)
	}
	var list []benchCase
	for _, c := range all {
		if c.name == "chan1024 P1" || re == nil || re.MatchString(c.name) {
			list = append(list, c)
		}
	}

	fmt.Printf("busbench: %s %s/%s GOMAXPROCS=%d NumCPU=%d, %d rounds, ~%v per case%s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), *rounds, *target, loadavg())

	// Calibrate: events per case for the target duration.
	sizes := map[string]int{}
	for _, c := range list {
		r, err := c.run(20_000)
		check(err)
		per := float64(r.Elapsed) / 20_000
		sizes[c.name] = max(20_000, int(float64(*target)/per))
	}

	res := map[string][]sample{}
	var rtts []float64
	for round := 0; round < *rounds; round++ {
		rtts = append(rtts, float64(busbench.PingPongRTT(200_000)))
		for _, c := range list {
			n := sizes[c.name]
			r, err := c.run(n)
			check(err)
			res[c.name] = append(res[c.name], sample{
				ns:     float64(r.Elapsed) / float64(n),
				allocs: float64(r.Allocs) / float64(n),
				bytes:  float64(r.Bytes) / float64(n),
			})
		}
		fmt.Fprintf(os.Stderr, "round %d/%d done (RTT %.0f ns)\n", round+1, *rounds, rtts[round])
	}

	base := res["chan1024 P1"]
	ratio := func(name string) []float64 {
		out := make([]float64, len(base))
		for i := range base {
			out[i] = res[name][i].ns / base[i].ns
		}
		return out
	}
	ns := func(name string) []float64 {
		var out []float64
		for _, s := range res[name] {
			out = append(out, s.ns)
		}
		return out
	}

	fmt.Printf("\ncache-line ping-pong RTT: median %.0f ns (min %.0f, max %.0f)\n\n", busbench.Median(rtts), slices.Min(rtts), slices.Max(rtts))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\tns/event median\tmin\tmax\tM events/s\tallocs/event\tB/event\t× chan (median)\t× chan (best round)\t× chan (worst round)\t")
	for _, c := range list {
		r := ratio(c.name)
		var allocs, bytes []float64
		for _, s := range res[c.name] {
			allocs = append(allocs, s.allocs)
			bytes = append(bytes, s.bytes)
		}
		m := busbench.Median(ns(c.name))
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.3f\t%.1f\t%.2f\t%.2f\t%.2f\t\n", c.name, m, slices.Min(ns(c.name)), slices.Max(ns(c.name)),
			1e3/m, busbench.Median(allocs), busbench.Median(bytes), busbench.Median(r), slices.Min(r), slices.Max(r))
	}
	tw.Flush()

	// Summary: ratios within each round, medians over rounds.
	fmt.Println("\nsummary (medians of per-round ratios):")
	rel := func(a, b string) []float64 {
		out := make([]float64, len(res[a]))
		for i := range out {
			out[i] = res[a][i].ns / res[b][i].ns
		}
		return out
	}
	has := func(names ...string) bool {
		for _, n := range names {
			if res[n] == nil {
				return false
			}
		}
		return true
	}
	if has("sharded P1 S1") {
		r := ratio("sharded P1 S1")
		fmt.Printf("  P1→S1 Publish:                 %.2f× chan (worst round %.2f×)\n", busbench.Median(r), slices.Max(r))
	}
	for _, b := range []string{"sharded P1 S1 batch16", "sharded P1 S1 batch64"} {
		if has(b) {
			fmt.Printf("  %-30s %.2f× chan\n", strings.TrimPrefix(b, "sharded P1 S1 ")+" PublishBatch:", busbench.Median(ratio(b)))
		}
	}
	if has("sharded P4 S1", "chan1024 P4", "sharded P1 S1") {
		fmt.Printf("  P4→S1:                         %.2f× chan P4, %.2f× own P1\n",
			busbench.Median(rel("sharded P4 S1", "chan1024 P4")), busbench.Median(rel("sharded P4 S1", "sharded P1 S1")))
	}
	if has("sharded P1 S4", "sharded P1 S1") {
		fmt.Printf("  4 subscribers:                 %.2f× the 1-subscriber cost per event\n", busbench.Median(rel("sharded P1 S4", "sharded P1 S1")))
	}
	if has("sharded P1 S1", "memory P1 S1") {
		fmt.Printf("  memory engine / sharded:       %.1f×\n", busbench.Median(rel("memory P1 S1", "sharded P1 S1")))
	}
	var worst float64
	for _, c := range list {
		if strings.HasPrefix(c.name, "sharded") {
			for _, s := range res[c.name] {
				worst = max(worst, s.allocs)
			}
		}
	}
	fmt.Printf("  allocs/event, worst sharded round: %.4f\n", worst)

	if *latency {
		latencyTable(*latDur, *latRuns)
	}
}

func latencyTable(dur time.Duration, runs int) {
	rates := []int{10_000, 100_000, 1_000_000}
	type key struct {
		name string
		rate int
	}
	got := map[key][]busbench.Latencies{}
	newSharded := func() (bus.EventBus, error) { return sharded.NewEventBus(sharded.Config{}) }
	newMemory := func() (bus.EventBus, error) {
		return memory.NewEventBus(memory.Config{DeliveryMode: memory.DeliveryBlock, DefaultEventBufferSize: 1024})
	}
	for run := 0; run < runs; run++ {
		for _, rate := range rates {
			l, err := busbench.Latency(newSharded, rate, dur)
			check(err)
			got[key{"sharded", rate}] = append(got[key{"sharded", rate}], l)
			l, err = busbench.ChannelLatency(1024, rate, dur)
			check(err)
			got[key{"chan1024", rate}] = append(got[key{"chan1024", rate}], l)
			l, err = busbench.Latency(newMemory, rate, dur)
			check(err)
			got[key{"memory", rate}] = append(got[key{"memory", rate}], l)
		}
		fmt.Fprintf(os.Stderr, "latency run %d/%d done\n", run+1, runs)
	}
	fmt.Printf("\nlatency, 1 producer paced, 1 subscriber, %v per run, medians of %d runs (µs):\n\n", dur, runs)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "engine\trate/s\tachieved/s\tp50\tp99\tp99.9\tmax\t")
	us := func(d time.Duration) float64 { return float64(d) / 1e3 }
	for _, name := range []string{"sharded", "chan1024", "memory"} {
		for _, rate := range rates {
			ls := got[key{name, rate}]
			pick := func(f func(busbench.Latencies) time.Duration) float64 {
				var v []float64
				for _, l := range ls {
					v = append(v, us(f(l)))
				}
				return busbench.Median(v)
			}
			var ach []float64
			for _, l := range ls {
				ach = append(ach, l.Achieved)
			}
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f\t%.1f\t%.1f\t%.0f\t\n", name, rate, busbench.Median(ach),
				pick(func(l busbench.Latencies) time.Duration { return l.P50 }),
				pick(func(l busbench.Latencies) time.Duration { return l.P99 }),
				pick(func(l busbench.Latencies) time.Duration { return l.P999 }),
				pick(func(l busbench.Latencies) time.Duration { return l.Max }))
		}
	}
	tw.Flush()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return ", loadavg " + strings.Join(f[:3], " ")
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "busbench:", err)
		os.Exit(1)
	}
}
