package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/sharded"
	"github.com/switchyard-go/eventbus/internal/busbench"
)

// idleCPU measures what the sharded engine's spinWindow costs at low
// rates: one publisher paced with time.Sleep (not busy-waiting, so it
// costs little CPU itself) publishes at each rate for dur, one sync
// subscriber records publish→handler latency, and the process's CPU time
// (getrusage: user + system) is read around the run. The same paced loop
// calling the handler directly, without a bus, is measured in the same
// round and subtracted: the "engine" column is the CPU the engine added,
// in cores (1.0 = one CPU busy all the time). Rounds interleave; figures
// are medians over rounds.
func idleCPU(rates []int, windows []time.Duration, dur time.Duration, rounds int) {
	type key struct {
		window time.Duration
		rate   int
	}
	type sample struct{ cores, p50, p99 float64 }
	res := map[key][]sample{}
	base := map[int][]float64{}
	for r := 0; r < rounds; r++ {
		for _, rate := range rates {
			c, _, _ := pacedRun(nil, rate, dur)
			base[rate] = append(base[rate], c)
			for _, w := range windows {
				b, err := sharded.NewEventBus(sharded.Config{SpinWindow: bus.Duration(w)})
				check(err)
				cores, p50, p99 := pacedRun(b, rate, dur)
				res[key{w, rate}] = append(res[key{w, rate}], sample{cores - base[rate][len(base[rate])-1], p50, p99})
			}
			fmt.Fprintf(os.Stderr, "round %d: %d/s done\n", r+1, rate)
		}
	}
	fmt.Printf("\nidle CPU of the sharded engine: 1 paced publisher, 1 sync subscriber, %v per run, %d rounds, medians%s\n\n", dur, rounds, loadavg())
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "spinWindow\trate/s\tengine CPU (cores)\tp50 µs\tp99 µs\t")
	for _, w := range windows {
		for _, rate := range rates {
			s := res[key{w, rate}]
			pick := func(f func(sample) float64) float64 {
				v := make([]float64, len(s))
				for i := range s {
					v[i] = f(s[i])
				}
				return busbench.Median(v)
			}
			name := w.String()
			if w < 0 {
				name = "park at once"
			}
			fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.1f\t%.1f\t\n", name, rate,
				pick(func(s sample) float64 { return s.cores }),
				pick(func(s sample) float64 { return s.p50 }),
				pick(func(s sample) float64 { return s.p99 }))
		}
	}
	tw.Flush()
	fmt.Printf("\npublisher alone (subtracted above), cores: ")
	for _, rate := range rates {
		fmt.Printf("%d/s %.3f  ", rate, busbench.Median(base[rate]))
	}
	fmt.Println()
}

// pacedRun publishes rate events/s for dur through b (or, with b nil,
// calls the handler directly) and returns the process CPU used, in cores,
// and the latency p50 and p99 in µs.
func pacedRun(b *sharded.EventBus, rate int, dur time.Duration) (cores, p50, p99 float64) {
	n := int(float64(rate) * dur.Seconds())
	lat := make([]time.Duration, 0, n)
	done := make(chan struct{})
	handler := func(_ context.Context, e bus.Event) error {
		lat = append(lat, time.Since(e.CreatedAt))
		if len(lat) == n {
			close(done)
		}
		return nil
	}
	ctx := context.Background()
	publish := func(e bus.Event) { _ = handler(ctx, e) }
	if b != nil {
		check(b.Start(ctx))
		_, err := b.Subscribe(ctx, "idle.cpu", handler)
		check(err)
		publish = func(e bus.Event) { check(b.Publish(ctx, e)) }
		time.Sleep(50 * time.Millisecond) // let the worker park first
	}
	interval := time.Second / time.Duration(rate)
	cpu0, wall0 := cpuTime(), time.Now()
	next := wall0
	for i := 0; i < n; i++ {
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		publish(bus.Event{Topic: "idle.cpu", CreatedAt: time.Now()})
	}
	<-done
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	if b != nil {
		check(b.Stop(ctx))
	}
	us := make([]float64, len(lat))
	for i, d := range lat {
		us[i] = float64(d) / 1e3
	}
	slices.Sort(us)
	return cpu.Seconds() / wall.Seconds(), us[len(us)/2], us[len(us)*99/100]
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	check(syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
