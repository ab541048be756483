package memory

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

type counters struct {
	published, delivered, dropped, failed, filtered, panics atomic.Uint64
	inFlight                                                atomic.Int64
	// pending counts (event, subscription) pairs accepted and not yet
	// handled or dropped: queued, moving to the pool, or in a handler.
	pending atomic.Int64
	lossy   atomic.Bool
	// latency is the handler-call duration histogram (EngineStats.HandlerLatency).
	latency bus.LatencyHistogram
	// topics holds the per-topic counters (TopicStats), bounded by
	// Config.TopicLimit.
	topics bus.TopicTable
}

// Stats returns the delivered and dropped counts (see bus.StatsProvider).
func (b *EventBus) Stats() (delivered uint64, dropped uint64) {
	return b.stats.delivered.Load(), b.stats.dropped.Load()
}

// EngineStats returns the engine's figures; QueueDepth counts events
// waiting in subscription queues and the async pool.
func (b *EventBus) EngineStats() bus.EngineStats {
	inFlight := b.stats.inFlight.Load()
	depth := b.stats.pending.Load() - inFlight
	if depth < 0 { // the two loads are not atomic together
		depth = 0
	}
	return bus.EngineStats{
		Published:      b.stats.published.Load(),
		Delivered:      b.stats.delivered.Load(),
		Dropped:        b.stats.dropped.Load(),
		Failed:         b.stats.failed.Load(),
		Filtered:       b.stats.filtered.Load(),
		Panics:         b.stats.panics.Load(),
		InFlight:       inFlight,
		QueueDepth:     depth,
		LossyShutdown:  b.stats.lossy.Load(),
		HandlerLatency: b.stats.latency.Snapshot(),
	}
}

// TopicStats returns the figures per published topic (bus.TopicStatsProvider):
// at most Config.TopicLimit topics, the rest under bus.OtherTopic.
func (b *EventBus) TopicStats() map[string]bus.TopicStats {
	return b.stats.topics.Snapshot()
}

// Flush waits until every accepted event has been handled or counted as
// dropped (no event queued, moving to the pool or in a handler), or until
// ctx ends (its error is returned). Events published while Flush waits are
// waited for too; the module calls it from PreStop, after publishing was
// refused.
func (b *EventBus) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	for {
		if b.stats.pending.Load() == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("memory engine flush: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}
