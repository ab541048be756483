package sharded

import (
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Handler latency (EngineStats.HandlerLatency)
//
// Why not one bus.LatencyHistogram.Observe per sync handler call: on this
// project's 2-vCPU VMs a clock read costs 25 ns (monotonic only; time.Now
// is ~50 ns) and Observe two atomic adds (~4.5 ns). Two clock reads and
// an Observe per call would more than double the worker's per-event cost
// (13–15 ns, BenchmarkDispatchOnly), and the worker is what limits
// PublishBatch throughput.
//
// So a shard worker times each run: the consecutive events of one topic
// that one sync subscription handles in one go (runSync). It reads the
// clock before the first call and after the last, and records the run as
// `calls` observations of duration/calls each, with two atomic adds per
// run (runLatency.observeRun). A run is usually a whole batch, so the cost
// per event is a fraction of a nanosecond under load, and two clock reads
// per event when events trickle in one at a time (the worker is idle then
// anyway). The price is resolution: within one run every call is counted
// at the run's mean, so one slow call among fast ones is smeared over the
// run. Count and Sum are exact; the buckets describe per-run means.
//
// Async handlers run one job at a time on the pool, where a channel
// receive already costs more than a clock read; each call is timed on its
// own into a bus.LatencyHistogram (asyncStats.latency).

// monoEpoch anchors mono: time.Since on a time with a monotonic reading
// reads only the monotonic clock, half the cost of time.Now.
var monoEpoch = time.Now()

// mono returns a monotonic clock reading.
func mono() time.Duration { return time.Since(monoEpoch) }

// latencyBounds caches bus.LatencyBounds for bucketOf.
var latencyBounds = bus.LatencyBounds()

// bucketOf returns the bus.LatencySnapshot bucket of d.
func bucketOf(d time.Duration) int {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	return i
}

// runLatency is a shard's handler-latency histogram, in the buckets of
// bus.LatencyBounds, that can record many observations with one atomic
// add (bus.LatencyHistogram records one at a time). Written by the shard's
// worker only; read by EngineStats at any time.
type runLatency struct {
	counts [bus.LatencyBucketCount]atomic.Uint64
	sumNs  atomic.Uint64
}

// observeRun records calls handler calls that took d in total, each at
// d/calls. calls must be > 0.
func (h *runLatency) observeRun(d time.Duration, calls uint64) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(d/time.Duration(calls))].Add(calls)
	h.sumNs.Add(uint64(d))
}

// snapshot returns the counts; like bus.LatencyHistogram.Snapshot, Count
// is the sum of the buckets read.
func (h *runLatency) snapshot() bus.LatencySnapshot {
	var s bus.LatencySnapshot
	for i := range h.counts {
		c := h.counts[i].Load()
		s.Buckets[i] = c
		s.Count += c
	}
	s.Sum = time.Duration(h.sumNs.Load())
	return s
}
