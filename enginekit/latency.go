package enginekit

import (
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// bounds are the histogram bucket bounds of bus.LatencyBounds.
var bounds = bus.LatencyBounds()

// LatencyHistogram counts durations (handler latency) in the fixed
// buckets of LatencyBounds. Observe is lock-free and allocation-free, so
// an engine can call it on every delivery; the zero value is ready to
// use and it must not be copied after first use.
//
// Engines own one histogram, observe the duration of every handler call
// (enginekit.CallHandler included, from just before the call to its return) and
// report its Snapshot in EngineStats.HandlerLatency.
type LatencyHistogram struct {
	counts [bus.LatencyBucketCount]atomic.Uint64
	sumNs  atomic.Uint64
}

// Observe records one duration. Negative durations count as zero.
func (h *LatencyHistogram) Observe(d time.Duration) {
	if d < 0 {
		d = 0
	}
	// Linear scan from the smallest bound: handler latencies are mostly
	// small, so the loop usually ends within a few comparisons, and it
	// is cheaper than a binary search for 22 entries.
	i := 0
	for i < len(bounds) && d > bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sumNs.Add(uint64(d))
}

// ObserveN records n handler calls that took total together, each
// counted at the mean total/n, with the same two atomic adds as Observe.
// Engines that time a run of calls with one pair of clock reads (the
// sharded engine's workers) use it; Count and Sum stay exact, the buckets
// describe the runs' means. n == 0 records nothing.
func (h *LatencyHistogram) ObserveN(total time.Duration, n uint64) {
	if n == 0 {
		return
	}
	if total < 0 {
		total = 0
	}
	mean := total / time.Duration(n)
	i := 0
	for i < len(bounds) && mean > bounds[i] {
		i++
	}
	h.counts[i].Add(n)
	h.sumNs.Add(uint64(total))
}

// Snapshot returns the current counts. Buckets are read one by one while
// Observe may run, so a snapshot taken under load is not one instant,
// but Count always equals the sum of its buckets and no count is ever
// lost or seen twice across snapshots.
func (h *LatencyHistogram) Snapshot() bus.LatencySnapshot {
	var s bus.LatencySnapshot
	for i := range h.counts {
		c := h.counts[i].Load()
		s.Buckets[i] = c
		s.Count += c
	}
	s.Sum = time.Duration(h.sumNs.Load())
	return s
}
