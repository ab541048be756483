package sharded

import "time"

// Handler latency (EngineStats.HandlerLatency)
//
// Why not one enginekit.LatencyHistogram.Observe per sync handler call: on this
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
// run (enginekit.LatencyHistogram.ObserveN). A run is usually a whole batch, so the cost
// per event is a fraction of a nanosecond under load, and two clock reads
// per event when events trickle in one at a time (the worker is idle then
// anyway). The price is resolution: within one run every call is counted
// at the run's mean, so one slow call among fast ones is smeared over the
// run. Count and Sum are exact; the buckets describe per-run means.
//
// Async handlers run one job at a time on the pool, where a channel
// receive already costs more than a clock read; each call is timed on its
// own into a enginekit.LatencyHistogram (asyncStats.latency).

// monoEpoch anchors mono: time.Since on a time with a monotonic reading
// reads only the monotonic clock, half the cost of time.Now.
var monoEpoch = time.Now()

// mono returns a monotonic clock reading.
func mono() time.Duration { return time.Since(monoEpoch) }
