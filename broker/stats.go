package broker

import (
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
)

// Counters are the delivery figures the Dispatcher keeps; engines add
// Published and their gauges (QueueDepth, Lag) when they build
// bus.EngineStats. All fields are safe for concurrent use.
//
// Per-topic figures live in Topics and are kept by the same calls that
// keep the engine-wide ones, so that for every figure the sum over
// Topics equals the engine-wide counter: the Dispatcher counts
// Delivered, Failed and Dropped per topic; engines count Published and
// their own drops with CountPublished and CountDropped (or, when they
// carry a topic's counters with an event, PublishedOn and DroppedOn).
// The Dispatcher also counts Retried and DeadLettered per topic; Panics
// is engine-wide only (a panic is counted as Failed on its topic).
type Counters struct {
	Published atomic.Uint64
	Delivered atomic.Uint64
	Dropped   atomic.Uint64
	Failed    atomic.Uint64
	// Filtered counts events a subscription's filter rejected
	// (bus.IsFiltered handler results): neither Delivered nor Failed.
	Filtered     atomic.Uint64
	Panics       atomic.Uint64
	Retried      atomic.Uint64
	DeadLettered atomic.Uint64
	InFlight     atomic.Int64
	// HandlerLatency observes every handler call made by the Dispatcher.
	HandlerLatency bus.LatencyHistogram
	// Topics holds the per-topic figures (bus.TopicStats), keyed by the
	// published topic; beyond Topics.Limit topics (default
	// bus.DefaultTopicLimit) they are counted under bus.OtherTopic.
	Topics bus.TopicTable
}

// Topic returns the counters of topic; an empty topic (an entry whose
// topic is unknown, e.g. undecodable) is counted under bus.OtherTopic.
// Lock-free and allocation-free once the topic is known (see
// bus.TopicTable.Counters): look it up once per event and carry it.
func (c *Counters) Topic(topic string) *bus.TopicCounters {
	if topic == "" {
		topic = bus.OtherTopic
	}
	return c.Topics.Counters(topic)
}

// CountPublished counts one event accepted by Publish on topic.
func (c *Counters) CountPublished(topic string) { c.PublishedOn(c.Topic(topic)) }

// PublishedOn counts one event accepted by Publish on the topic whose
// counters are tc (from Topic).
func (c *Counters) PublishedOn(tc *bus.TopicCounters) {
	c.Published.Add(1)
	tc.Published.Add(1)
}

// CountDropped counts one event of topic that no handler will see ("" for
// an unknown topic: counted under bus.OtherTopic).
func (c *Counters) CountDropped(topic string) { c.DroppedOn(c.Topic(topic)) }

// DroppedOn counts one dropped event on the topic whose counters are tc.
func (c *Counters) DroppedOn(tc *bus.TopicCounters) {
	c.Dropped.Add(1)
	tc.Dropped.Add(1)
}

// DeadLetterFailed moves one event of topic from DeadLettered to Dropped:
// the Dispatcher counted it dead-lettered, but the engine could not write
// its dead letter and gave up on it.
func (c *Counters) DeadLetterFailed(topic string) {
	tc := c.Topic(topic)
	c.DeadLettered.Add(^uint64(0))
	tc.DeadLettered.Add(^uint64(0))
	c.DroppedOn(tc)
}

// EngineStats returns the counters as bus.EngineStats (gauges the
// counters do not know stay zero).
func (c *Counters) EngineStats() bus.EngineStats {
	return bus.EngineStats{
		Published:      c.Published.Load(),
		Delivered:      c.Delivered.Load(),
		Dropped:        c.Dropped.Load(),
		Failed:         c.Failed.Load(),
		Filtered:       c.Filtered.Load(),
		Panics:         c.Panics.Load(),
		Retried:        c.Retried.Load(),
		DeadLettered:   c.DeadLettered.Load(),
		InFlight:       c.InFlight.Load(),
		HandlerLatency: c.HandlerLatency.Snapshot(),
	}
}

// TopicStats returns the per-topic figures: a fresh map the caller may
// keep (bus.TopicStatsProvider; engines expose it as their TopicStats).
func (c *Counters) TopicStats() map[string]bus.TopicStats { return c.Topics.Snapshot() }
