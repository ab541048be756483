package sharded

import (
	"testing"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

// The conformance suite with the replay log on: the poll section runs
// (paging, CursorLatest, filters, Shards, gaps through TrimTopic).
func TestPollConformance(t *testing.T) {
	configs := map[string]Config{
		"four shards retaining 4096 events each": {Shards: 4, RetainEvents: 4096},
		"one shard with a tiny ring":             {Shards: 1, RingSize: 8, BatchMaxEvents: 3, RetainEvents: 2048},
		"drop-oldest, publish stamping":          {Shards: 3, Backpressure: BackpressureDropOldest, StampAtPublish: true, RetainEvents: 1500},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			eventbustest.Run(t, eventbustest.Config{
				New: func(t *testing.T) bus.EventBus {
					b, err := NewEventBus(cfg)
					if err != nil {
						t.Fatalf("NewEventBus: %v", err)
					}
					return b
				},
				PollShards: func(t *testing.T, b bus.EventBus, _ string) []int {
					var ids []int
					for _, s := range b.(*EventBus).Metrics().Shards {
						ids = append(ids, s.ID)
					}
					return ids
				},
				TrimTopic: func(t *testing.T, b bus.EventBus, topic string, keep int) {
					trimTopic(b.(*EventBus), topic, keep)
				},
				Features: eventbustest.Features{Poll: true, PollGap: true},
			})
		})
	}
}

// trimTopic discards every retained event of topic but the newest keep,
// in every log, as an overflowing replay log would.
func trimTopic(b *EventBus, topic string, keep int) {
	for _, l := range b.replay.logs() {
		l.trim(topic, keep)
	}
}
