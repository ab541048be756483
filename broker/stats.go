package broker

import (
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
)

// Counters are the delivery figures the Dispatcher keeps; engines add
// Published and their gauges (QueueDepth, Lag) when they build
// bus.EngineStats. All fields are safe for concurrent use.
type Counters struct {
	Published    atomic.Uint64
	Delivered    atomic.Uint64
	Dropped      atomic.Uint64
	Failed       atomic.Uint64
	Panics       atomic.Uint64
	Retried      atomic.Uint64
	DeadLettered atomic.Uint64
	InFlight     atomic.Int64
	// HandlerLatency observes every handler call made by the Dispatcher.
	HandlerLatency bus.LatencyHistogram
}

// EngineStats returns the counters as bus.EngineStats (gauges the
// counters do not know stay zero).
func (c *Counters) EngineStats() bus.EngineStats {
	return bus.EngineStats{
		Published:      c.Published.Load(),
		Delivered:      c.Delivered.Load(),
		Dropped:        c.Dropped.Load(),
		Failed:         c.Failed.Load(),
		Panics:         c.Panics.Load(),
		Retried:        c.Retried.Load(),
		DeadLettered:   c.DeadLettered.Load(),
		InFlight:       c.InFlight.Load(),
		HandlerLatency: c.HandlerLatency.Snapshot(),
	}
}
