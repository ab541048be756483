package kinesis

import "github.com/switchyard-go/eventbus/bus"

// EngineStats returns the engine's counters (from the shared broker
// dispatcher: delivered, failed, panics, retried, dead-lettered; the
// producer's published and dropped) and gauges: InFlight handler calls,
// QueueDepth (records read and registered but not yet settled) and Lag,
// the largest MillisBehindLatest among the shard readers (milliseconds).
func (b *EventBus) EngineStats() bus.EngineStats {
	s := b.counters.EngineStats()
	b.mu.Lock()
	subs := make([]*subscription, 0, len(b.subs))
	for _, sub := range b.subs {
		subs = append(subs, sub)
	}
	b.mu.Unlock()
	for _, sub := range subs {
		sub.mu.Lock()
		c := sub.run
		sub.mu.Unlock()
		if c == nil {
			continue
		}
		c.mu.Lock()
		for _, r := range c.readers {
			if l := r.lag.Load(); l > s.Lag {
				s.Lag = l
			}
			_, pending := r.tracker.position()
			s.QueueDepth += int64(pending)
		}
		c.mu.Unlock()
	}
	return s
}

// TopicStats returns the figures per published topic
// (bus.TopicStatsProvider): Published, Delivered, Failed and Dropped, for
// at most bus.DefaultTopicLimit topics, the rest under bus.OtherTopic
// (which also counts records that are not CloudEvents: their topic is
// unknown).
func (b *EventBus) TopicStats() map[string]bus.TopicStats { return b.counters.TopicStats() }

// Stats returns the handler calls that returned (delivered) and the
// accepted events never handed to a handler (dropped).
func (b *EventBus) Stats() (delivered, dropped uint64) {
	return b.counters.Delivered.Load(), b.counters.Dropped.Load()
}

// ProducerStats returns the figures of the PutRecords batching (calls,
// records, records sent in full batches, retries, throttled calls).
func (b *EventBus) ProducerStats() ProducerStats {
	p := &b.prodStats
	return ProducerStats{
		Calls:            p.calls.Load(),
		Records:          p.records.Load(),
		FullBatchRecords: p.full.Load(),
		RetriedRecords:   p.retried.Load(),
		ThrottledCalls:   p.throttled.Load(),
	}
}

// GetRecordsCalls returns the number of GetRecords calls made by all the
// engine's shard readers (to check the 5 reads/s/shard budget).
func (b *EventBus) GetRecordsCalls() uint64 { return b.readCalls.Load() }
