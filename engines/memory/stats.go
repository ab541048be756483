package memory

import (
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
)

type counters struct {
	published, delivered, dropped, failed, panics atomic.Uint64
	inFlight                                      atomic.Int64
	lossy                                         atomic.Bool
}

// Stats returns the delivered and dropped counts (see bus.StatsProvider).
func (b *EventBus) Stats() (delivered uint64, dropped uint64) {
	return b.stats.delivered.Load(), b.stats.dropped.Load()
}

// EngineStats returns the engine's figures; QueueDepth counts events
// waiting in subscription queues and the async pool.
func (b *EventBus) EngineStats() bus.EngineStats {
	var depth int64
	for _, s := range *b.snapshot.Load() {
		depth += int64(len(s.queue))
	}
	b.mu.Lock()
	if b.run != nil {
		depth += int64(len(b.run.pool))
	}
	b.mu.Unlock()
	return bus.EngineStats{
		Published:     b.stats.published.Load(),
		Delivered:     b.stats.delivered.Load(),
		Dropped:       b.stats.dropped.Load(),
		Failed:        b.stats.failed.Load(),
		Panics:        b.stats.panics.Load(),
		InFlight:      b.stats.inFlight.Load(),
		QueueDepth:    depth,
		LossyShutdown: b.stats.lossy.Load(),
	}
}
