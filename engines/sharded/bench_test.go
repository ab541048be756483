package sharded_test

import (
	"testing"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/sharded"
	"github.com/switchyard-go/eventbus/internal/busbench"
)

// Publish→deliver throughput: ns/op is wall time per event. Run with
//
//	go test -run '^$' -bench . -benchmem ./engines/sharded/
//
// and compare within one run only (see docs/performance.md); cmd/busbench
// runs the same workloads in interleaved rounds and prints ratios.
func BenchmarkPublishDeliver(b *testing.B) {
	cases := []struct {
		name string
		run  busbench.Runner
	}{
		{"sharded/1P-1S", busbench.Sharded(sharded.Config{}, busbench.Workload{Producers: 1, Subs: 1})},
		{"sharded/1P-1S-batch16", busbench.Sharded(sharded.Config{}, busbench.Workload{Producers: 1, Subs: 1, Batch: 16})},
		{"sharded/1P-1S-batch64", busbench.Sharded(sharded.Config{}, busbench.Workload{Producers: 1, Subs: 1, Batch: 64})},
		{"sharded/4P-1S", busbench.Sharded(sharded.Config{}, busbench.Workload{Producers: 4, Subs: 1})},
		{"sharded/4P-1S-keyed", busbench.Sharded(sharded.Config{}, busbench.Workload{Producers: 4, Subs: 1, Keyed: true})},
		{"sharded/1P-4S", busbench.Sharded(sharded.Config{}, busbench.Workload{Producers: 1, Subs: 4})},
		{"chan1024/1P", busbench.Channel(busbench.Workload{Producers: 1}, 1024)},
		{"chan1024/4P", busbench.Channel(busbench.Workload{Producers: 4}, 1024)},
		{"memory/1P-1S", busbench.Memory(busbench.Workload{Producers: 1, Subs: 1})},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			// The runner times publish→deliver itself, excluding engine
			// setup and teardown, and counts allocations in that window.
			r, err := c.run(b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(r.Elapsed.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(float64(r.Allocs)/float64(b.N), "allocs/op")
			b.ReportMetric(float64(r.Bytes)/float64(b.N), "B/op")
			b.ReportMetric(float64(b.N)/r.Elapsed.Seconds()/1e6, "Mevents/s")
		})
	}
}

// BenchmarkLatency reports publish→deliver percentiles of b.N events from
// one producer paced at 100k events/s (cmd/busbench covers more rates).
func BenchmarkLatency(b *testing.B) {
	l, err := busbench.LatencyN(func() (bus.EventBus, error) { return sharded.NewEventBus(sharded.Config{}) }, 100_000, max(b.N, 10))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(l.P50.Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(l.P99.Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(l.P999.Nanoseconds()), "p99.9-ns")
}
