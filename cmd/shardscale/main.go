// Command shardscale measures the sharded engine's scaling monitor on a
// burst: -subs sync subscriptions whose handlers wait (as a call to a
// database would) receive a burst offered at a fixed rate, then nothing.
// A sync subscription runs one call at a time, so one shard calls them one
// after the other and more shards call them side by side. It runs the same burst on a
// fixed single shard, on the scaling monitor (auto, from one shard up to
// -max) and on a fixed -max shards, in interleaved rounds, and prints
// delivered events/s and the shard count over time, then per scenario the
// median time to deliver the whole burst.
//
//	go run ./cmd/shardscale
//	go run ./cmd/shardscale -rounds 3 -rate 600 -burst 4s -work 1ms -subs 4 -max 8 -ring 256
//	go run ./cmd/shardscale -cpu -rate 400 -work 1ms -max 2   # CPU-bound handlers
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

type params struct {
	rate     int           // offered events/s during the burst
	burst    time.Duration // how long the burst lasts
	idle     time.Duration // quiet time after the burst is delivered
	work     time.Duration // handler wait per event
	maxN     int           // maxShards (and the fixed large count)
	window   time.Duration // printing period
	interval time.Duration // monitor interval
	cooldown time.Duration // monitor cooldown
	keys     int
	subs     int
	ring     int
	cpu      bool // handlers burn CPU for work instead of sleeping
}

type result struct {
	deliver   time.Duration // first publish → last delivery
	peak, end int           // shard counts: highest seen, after the idle time
	changes   uint64
}

func main() {
	var p params
	rounds := flag.Int("rounds", 3, "interleaved rounds per scenario")
	flag.IntVar(&p.rate, "rate", 600, "offered events/s during the burst")
	flag.DurationVar(&p.burst, "burst", 4*time.Second, "burst length")
	flag.DurationVar(&p.idle, "idle", 3*time.Second, "quiet time after the burst is delivered")
	flag.DurationVar(&p.work, "work", time.Millisecond, "handler wait per event (time.Sleep)")
	flag.IntVar(&p.maxN, "max", 8, "scaling.maxShards, and the shard count of the fixed-large scenario")
	flag.DurationVar(&p.window, "window", 500*time.Millisecond, "printing period")
	flag.DurationVar(&p.interval, "interval", 250*time.Millisecond, "scaling.interval")
	flag.DurationVar(&p.cooldown, "cooldown", time.Second, "scaling.cooldown")
	flag.IntVar(&p.keys, "keys", 64, "partition keys")
	flag.IntVar(&p.subs, "subs", 4, "sync subscriptions, each waiting -work per event")
	flag.IntVar(&p.ring, "ring", 256, "ringSize")
	flag.BoolVar(&p.cpu, "cpu", false, "handlers burn CPU for -work instead of sleeping")
	verbose := flag.Bool("v", true, "print the time series of every run")
	flag.Parse()
	scenarios := []struct {
		name string
		cfg  sharded.Config
	}{
		{"fixed 1 shard", sharded.Config{Shards: 1}},
		{"auto 1.." + fmt.Sprint(p.maxN), sharded.Config{Shards: 1, Scaling: sharded.ScalingConfig{
			Auto: true, MinShards: 1, MaxShards: p.maxN, Interval: bus.Duration(p.interval), Cooldown: bus.Duration(p.cooldown)}}},
		{fmt.Sprintf("fixed %d shards", p.maxN), sharded.Config{Shards: p.maxN}},
	}
	res := make([][]result, len(scenarios))
	for r := 1; r <= *rounds; r++ {
		for i, s := range scenarios {
			s.cfg.RingSize = p.ring
			out, err := run(s.name, s.cfg, p, *verbose)
			if err != nil {
				fmt.Fprintln(os.Stderr, "shardscale:", err)
				os.Exit(1)
			}
			fmt.Printf("round %d %-16s burst delivered in %v, peak %d shards, %d after idle, %d changes\n",
				r, s.name, out.deliver.Round(time.Millisecond), out.peak, out.end, out.changes)
			res[i] = append(res[i], out)
		}
	}
	how := "waiting"
	if p.cpu {
		how = "burning CPU for"
	}
	fmt.Printf("\n%d events (%d/s for %v) to %d subscriptions %s %v each, ringSize %d; medians of %d rounds\n",
		int(float64(p.rate)*p.burst.Seconds()), p.rate, p.burst, p.subs, how, p.work, p.ring, *rounds)
	base := median(res[0])
	for i, s := range scenarios {
		m := median(res[i])
		fmt.Printf("%-16s burst delivered in %6v  (%.2fx the fixed-1 time)  %6.0f events/s\n",
			s.name, m.Round(time.Millisecond), m.Seconds()/base.Seconds(), float64(p.rate)*p.burst.Seconds()/m.Seconds())
	}
}

// spin keeps the CPU busy for d.
func spin(d time.Duration) {
	x := 1
	for start := time.Now(); time.Since(start) < d; {
		for i := 0; i < 1000; i++ {
			x = x*31 + i
		}
	}
	sink.Store(int64(x))
}

var sink atomic.Int64

func median(rs []result) time.Duration {
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = r.deliver
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// run offers the burst to one engine and prints a line per window.
func run(name string, cfg sharded.Config, p params, verbose bool) (result, error) {
	ctx := context.Background()
	b, err := sharded.NewEventBus(cfg)
	if err != nil {
		return result{}, err
	}
	if err := b.Start(ctx); err != nil {
		return result{}, err
	}
	defer b.Stop(ctx)
	total := int64(float64(p.rate) * p.burst.Seconds())
	var calls atomic.Int64 // handler calls; an event is delivered once every subscription had it
	var lastAt atomic.Int64
	for range p.subs {
		if _, err := b.Subscribe(ctx, "burst", func(context.Context, bus.Event) error {
			if p.cpu {
				spin(p.work)
			} else {
				time.Sleep(p.work)
			}
			if calls.Add(1) == total*int64(p.subs) {
				lastAt.Store(int64(time.Now().UnixNano()))
			}
			return nil
		}); err != nil {
			return result{}, err
		}
	}
	keys := make([]map[string]any, p.keys)
	for i := range keys {
		keys[i] = map[string]any{bus.MetadataKeyPartition: fmt.Sprint("key", i)}
	}
	start := time.Now()
	pubErr := make(chan error, 1)
	go func() { // paced publisher: catches up when it was held back
		for i := int64(0); i < total; i++ {
			if due := start.Add(time.Duration(float64(i) / float64(p.rate) * float64(time.Second))); time.Until(due) > 0 {
				time.Sleep(time.Until(due))
			}
			if err := b.Publish(ctx, bus.Event{Topic: "burst", Payload: i, Metadata: keys[i%int64(len(keys))]}); err != nil {
				pubErr <- err
				return
			}
		}
		pubErr <- nil
	}()
	var r result
	var last int64
	var doneAt time.Time
	tick := time.NewTicker(p.window)
	defer tick.Stop()
	for now := range tick.C {
		n := calls.Load() / int64(p.subs)
		shards := b.ShardCount()
		r.peak = max(r.peak, shards)
		var util float64
		ms := b.ShardMetrics()
		for _, m := range ms {
			util += m.Utilization
		}
		if verbose {
			fmt.Printf("  %-16s t=%5.1fs  delivered %6.0f/s  shards %d  mean utilization %.2f\n",
				name, now.Sub(start).Seconds(), float64(n-last)/p.window.Seconds(), shards, util/float64(max(len(ms), 1)))
		}
		last = n
		if n == total && doneAt.IsZero() {
			doneAt = now
		}
		if !doneAt.IsZero() && now.Sub(doneAt) >= p.idle {
			break
		}
	}
	if err := <-pubErr; err != nil {
		return result{}, err
	}
	if err := b.Flush(ctx); err != nil {
		return result{}, err
	}
	r.deliver = time.Unix(0, lastAt.Load()).Sub(start)
	r.end = b.ShardCount()
	r.changes = b.EngineStats().ScalingChanges
	return r, nil
}
