package sharded_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/sharded"
	"github.com/switchyard-go/eventbus/internal/busbench"
)

// BenchmarkRetainCost measures what the replay log (Config.RetainEvents)
// costs per published event: publish→deliver of one producer and one
// sync subscriber, with retention off and on, against a buffered channel
// measured in the same run. Rounds are interleaved (channel, off, on, …)
// so that load from other processes hits all three alike; it reports the
// median ns/event of each and the ratios of the medians. Run with
//
//	go test -run '^$' -bench RetainCost -benchtime 1x ./engines/sharded/
//
// (-benchtime 1x: one benchmark iteration runs every round.)
func BenchmarkRetainCost(b *testing.B) {
	const rounds, events = 15, 1_000_000
	for _, w := range []struct {
		name string
		w    busbench.Workload
	}{
		{"1P-1S", busbench.Workload{Producers: 1, Subs: 1}},
		{"4P-1S-keyed", busbench.Workload{Producers: 4, Subs: 1, Keyed: true}},
	} {
		b.Run(w.name, func(b *testing.B) {
			runners := []struct {
				name string
				run  busbench.Runner
			}{
				{"chan1024", busbench.Channel(w.w, 1024)},
				{"retain=0", busbench.Sharded(sharded.Config{}, w.w)},
				{"retain=65536", busbench.Sharded(sharded.Config{RetainEvents: 65536}, w.w)},
			}
			ns := make([][]float64, len(runners))
			for range b.N {
				for range rounds {
					for i, r := range runners {
						res, err := r.run(events)
						if err != nil {
							b.Fatal(err)
						}
						ns[i] = append(ns[i], float64(res.Elapsed.Nanoseconds())/events)
					}
				}
			}
			med := make([]float64, len(runners))
			for i, r := range runners {
				med[i] = busbench.Median(ns[i])
				b.ReportMetric(med[i], r.name+"-ns/event")
				b.Logf("%-13s median %6.1f ns/event over %d rounds: %v", r.name, med[i], len(ns[i]), rounded(ns[i]))
			}
			b.ReportMetric(med[1]/med[0], "off/chan")
			b.ReportMetric(med[2]/med[0], "on/chan")
			b.ReportMetric(med[2]/med[1], "on/off")
			b.Logf("ratios of medians: retain=0/chan %.2f, retain=65536/chan %.2f, on/off %.2f", med[1]/med[0], med[2]/med[0], med[2]/med[1])
			// Paired: the ratio within each round (its three runs ran
			// back to back), then the median of those.
			paired := func(a, z int) float64 {
				r := make([]float64, len(ns[a]))
				for k := range r {
					r[k] = ns[a][k] / ns[z][k]
				}
				return busbench.Median(r)
			}
			b.ReportMetric(paired(2, 1), "on/off-paired")
			b.Logf("median of per-round ratios: retain=0/chan %.2f, retain=65536/chan %.2f, on/off %.2f", paired(1, 0), paired(2, 0), paired(2, 1))
		})
	}
}

// BenchmarkPoll measures Poll throughput in pages of 256 over 4 shards
// holding 65,536 retained events each: plain, with a filter that keeps
// half of the events, and restricted to one shard. ns/op is per page;
// events/s counts the events returned.
func BenchmarkPoll(b *testing.B) {
	const shards, retain, page = 4, 65536, 256
	e, err := sharded.NewEventBus(sharded.Config{Shards: shards, RetainEvents: retain})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer e.Stop(ctx)
	for i := range shards * retain {
		ev := bus.Event{
			Topic:    "bench.orders",
			Payload:  map[string]any{"id": i, "region": []string{"eu", "us"}[i%2]},
			Metadata: map[string]any{bus.MetadataKeyPartition: fmt.Sprint(i % 64)},
		}
		if err := e.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	eu := bus.Eq("region", "eu")
	one := e.Metrics().Shards[0].ID
	for _, c := range []struct {
		name string
		req  bus.ConsumeRequest
	}{
		{"page256", bus.ConsumeRequest{Limit: page}},
		{"page256-filter-half", bus.ConsumeRequest{Limit: page, Filter: &eu}},
		{"page256-one-shard", bus.ConsumeRequest{Limit: page, Shards: []int{one}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := c.req
			events := 0
			start := time.Now()
			for range b.N {
				resp, err := e.Poll(ctx, "bench.orders", req)
				if err != nil {
					b.Fatal(err)
				}
				events += len(resp.Events)
				req.Cursor = resp.Cursor
				if len(resp.Events) < page {
					req.Cursor = "" // read everything: start over
				}
			}
			b.ReportMetric(float64(events)/time.Since(start).Seconds(), "events/s")
		})
	}
}

func rounded(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = fmt.Sprintf("%.1f", x)
	}
	return out
}
