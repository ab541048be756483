package kafka

import (
	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// EngineStats reports the engine's counters (Published, Delivered,
// Failed, Panics, Retried, DeadLettered, Dropped: failed async publishes
// and events dropped after their retries with dead-lettering disabled;
// Filtered: records a subscription's filter rejected, see
// bus.FilteredHandler, whose offsets are committed like handled ones) and
// gauges: InFlight (handler calls running), QueueDepth (records taken for
// handling and not yet settled) and Lag (records between the committed
// position and the high-water mark of every partition this engine's
// subscriptions consume, as of their last fetch).
func (b *EventBus) EngineStats() bus.EngineStats {
	st := b.counters.EngineStats()
	b.mu.Lock()
	runs := make([]*consumerRun, 0, len(b.subs))
	for _, s := range b.subs {
		if s.cur != nil {
			runs = append(runs, s.cur)
		}
	}
	b.mu.Unlock()
	for _, cr := range runs {
		lag, pending := cr.lag()
		st.Lag += lag
		st.QueueDepth += pending
	}
	return st
}

// TopicStats returns the figures per published topic
// (bus.TopicStatsProvider): Published, Delivered, Failed and Dropped, for
// at most bus.DefaultTopicLimit topics, the rest under bus.OtherTopic.
func (b *EventBus) TopicStats() map[string]bus.TopicStats { return b.counters.TopicStats() }

// Stats returns the delivered and dropped counts (bus.StatsProvider).
func (b *EventBus) Stats() (delivered uint64, dropped uint64) {
	return b.counters.Delivered.Load(), b.counters.Dropped.Load()
}

// BackgroundErrors returns how many background errors were reported under
// scope (see SetErrorObserver).
func (b *EventBus) BackgroundErrors(scope broker.Scope) uint64 { return b.errs.Count(scope) }

// Interface checks.
var (
	_ bus.EventBus            = (*EventBus)(nil)
	_ bus.EngineStatsProvider = (*EventBus)(nil)
	_ bus.TopicStatsProvider  = (*EventBus)(nil)
	_ bus.StatsProvider       = (*EventBus)(nil)
	_ bus.Observable          = (*EventBus)(nil)
)

var _ bus.Flusher = (*EventBus)(nil)
