package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/internal/busbench"
)

// measureConfig bounds the measurement run.
type measureConfig struct {
	rounds  int           // throughput rounds per case
	perCase time.Duration // approximate duration of one case in one round
	latDur  time.Duration // duration of one latency run
	rates   []int         // offered rates of the latency runs
}

// measure benchmarks the memory engine (the reference engine): throughput
// from P producers to S subscribers, and publish→handler latency at paced
// rates. Every figure is a median over rounds or runs.
func measure(cfg measureConfig) (*results, error) {
	r := &results{header: fmt.Sprintf("benchchart -measure: memory engine, %s %s/%s GOMAXPROCS=%d NumCPU=%d, %d rounds%s",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.GOMAXPROCS(0), runtime.NumCPU(), cfg.rounds, loadavg())}
	cases := []struct {
		name      string
		producers int
		subs      int
	}{
		{"memory P1 S1", 1, 1},
		{"memory P4 S1", 4, 1},
		{"memory P1 S4", 1, 4},
	}
	for _, c := range cases {
		// Calibrate the event count to the target duration.
		probe, err := throughput(c.producers, c.subs, 20_000)
		if err != nil {
			return nil, err
		}
		n := max(20_000, int(float64(cfg.perCase)/(float64(probe)/20_000)))
		var ns []float64
		for i := 0; i < cfg.rounds; i++ {
			d, err := throughput(c.producers, c.subs, n)
			if err != nil {
				return nil, err
			}
			ns = append(ns, float64(d)/float64(n))
		}
		m := busbench.Median(ns)
		r.throughput = append(r.throughput, throughputRow{name: c.name, nsMedian: m, nsMin: slices.Min(ns), nsMax: slices.Max(ns), mEventsPS: 1e3 / m})
		fmt.Fprintf(os.Stderr, "throughput %s: %.0f ns/event\n", c.name, m)
	}
	for _, rate := range cfg.rates {
		var runs []latencyRow
		for i := 0; i < 3; i++ {
			l, err := latency(rate, cfg.latDur)
			if err != nil {
				return nil, err
			}
			runs = append(runs, l)
		}
		pick := func(f func(latencyRow) float64) float64 {
			var v []float64
			for _, l := range runs {
				v = append(v, f(l))
			}
			return busbench.Median(v)
		}
		r.latency = append(r.latency, latencyRow{
			engine: "memory", rate: rate,
			achieved: pick(func(l latencyRow) float64 { return l.achieved }),
			p50:      pick(func(l latencyRow) float64 { return l.p50 }),
			p99:      pick(func(l latencyRow) float64 { return l.p99 }),
			p999:     pick(func(l latencyRow) float64 { return l.p999 }),
			max:      pick(func(l latencyRow) float64 { return l.max }),
		})
		fmt.Fprintf(os.Stderr, "latency at %d/s done\n", rate)
	}
	return r, nil
}

// throughput publishes n events (split over producers) to subs sync
// subscribers and returns the wall time until every subscriber has
// handled every event: the inverse of throughput, not a latency.
func throughput(producers, subs, n int) (time.Duration, error) {
	b, err := memory.NewEventBus(memory.Config{DefaultEventBufferSize: 1024})
	if err != nil {
		return 0, err
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		return 0, err
	}
	defer b.Stop(ctx)
	per := n / producers
	n = per * producers
	var wg sync.WaitGroup
	for i := 0; i < subs; i++ {
		var got atomic.Int64
		wg.Add(1)
		if _, err := b.Subscribe(ctx, "bench.event", func(context.Context, bus.Event) error {
			if got.Add(1) == int64(n) {
				wg.Done()
			}
			return nil
		}); err != nil {
			return 0, err
		}
	}
	var payload any = "payload"
	errs := make(chan error, producers)
	start := time.Now()
	for p := 0; p < producers; p++ {
		go func() {
			e := bus.Event{Topic: "bench.event", Payload: payload, CreatedAt: start}
			for i := 0; i < per; i++ {
				if err := b.Publish(ctx, e); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for p := 0; p < producers; p++ {
		if err := <-errs; err != nil {
			return 0, err
		}
	}
	wg.Wait()
	return time.Since(start), nil
}

// latency publishes at rate events/s for dur from one producer that
// busy-waits to its schedule and stamps CreatedAt at publish; the one
// subscriber records time.Since(CreatedAt). The first tenth of the
// samples is discarded as warm-up. Figures are in µs.
func latency(rate int, dur time.Duration) (latencyRow, error) {
	b, err := memory.NewEventBus(memory.Config{DefaultEventBufferSize: 1024})
	if err != nil {
		return latencyRow{}, err
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		return latencyRow{}, err
	}
	defer b.Stop(ctx)
	n := max(100, int(float64(rate)*dur.Seconds()))
	samples := make([]time.Duration, 0, n)
	done := make(chan struct{})
	// A sync subscription runs on one goroutine, so samples needs no lock;
	// done (closed after the last append) publishes it to the reader.
	if _, err := b.Subscribe(ctx, "bench.latency", func(_ context.Context, e bus.Event) error {
		samples = append(samples, time.Since(e.CreatedAt))
		if len(samples) == n {
			close(done)
		}
		return nil
	}); err != nil {
		return latencyRow{}, err
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	next := start
	var payload any = "payload"
	for i := 0; i < n; i++ {
		for time.Now().Before(next) {
			runtime.Gosched()
		}
		if err := b.Publish(ctx, bus.Event{Topic: "bench.latency", Payload: payload, CreatedAt: time.Now()}); err != nil {
			return latencyRow{}, err
		}
		next = next.Add(interval)
	}
	elapsed := time.Since(start)
	select {
	case <-done:
	case <-time.After(time.Minute):
		return latencyRow{}, fmt.Errorf("latency run at %d/s: deliveries did not finish", rate)
	}
	s := samples[len(samples)/10:]
	slices.Sort(s)
	at := func(q float64) float64 { return us(s[min(len(s)-1, int(q*float64(len(s))))]) }
	return latencyRow{
		engine: "memory", rate: rate, achieved: float64(n) / elapsed.Seconds(),
		p50: at(0.5), p99: at(0.99), p999: at(0.999), max: us(s[len(s)-1]),
	}, nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

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
