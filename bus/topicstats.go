package bus

import (
	"sync"
	"sync/atomic"
)

// OtherTopic is the topic under which a TopicTable (and the exporters)
// count every topic beyond their limit, so that a topic explosion cannot
// grow memory or a metrics registry without bound. A real topic named
// "other" is counted together with the overflow.
const OtherTopic = "other"

// DefaultTopicLimit is the number of distinct topics a zero-value
// TopicTable keeps apart before folding new ones into OtherTopic. It is
// the one default topic limit of the module: every engine's topicLimit
// and the exporters' topic label limit (exporters.DefaultTopicLimit)
// default to it.
const DefaultTopicLimit = 256

// TopicStats are an engine's figures for one published topic (not a
// subscription pattern). Counters are monotonic for the life of the
// engine value.
type TopicStats struct {
	// Published counts events accepted by Publish on the topic.
	Published uint64 `json:"published"`
	// Delivered counts handler calls for events of the topic that
	// returned, successfully or not.
	Delivered uint64 `json:"delivered"`
	// Failed counts handler calls that returned an error or panicked.
	Failed uint64 `json:"failed"`
	// Dropped counts (event, subscription) pairs never handed to a
	// handler.
	Dropped uint64 `json:"dropped"`
	// Retried counts handler calls repeated after a failure (broker
	// engines' retry policy; in-process engines do not retry).
	Retried uint64 `json:"retried"`
	// DeadLettered counts events of the topic moved to its dead-letter
	// topic (after their retries, or undecodable/oversized on receive).
	DeadLettered uint64 `json:"deadLettered"`
}

// Add returns the field-wise sum of s and o.
func (s TopicStats) Add(o TopicStats) TopicStats {
	s.Published += o.Published
	s.Delivered += o.Delivered
	s.Failed += o.Failed
	s.Dropped += o.Dropped
	s.Retried += o.Retried
	s.DeadLettered += o.DeadLettered
	return s
}

// TopicStatsProvider is implemented by engines that report per-topic
// figures. The map is keyed by published topic; it holds at most the
// engine's topic limit plus OtherTopic, and is a fresh copy the caller
// may keep.
type TopicStatsProvider interface {
	TopicStats() map[string]TopicStats
}

// TopicCounters are the live counters of one topic in a TopicTable. An
// engine looks them up once per publish (TopicTable.Counters), carries
// the pointer with the event and increments the fields on delivery, so
// the delivery path does no map lookup.
type TopicCounters struct {
	Published, Delivered, Failed, Dropped, Retried, DeadLettered atomic.Uint64
}

func (c *TopicCounters) load() TopicStats {
	return TopicStats{
		Published: c.Published.Load(), Delivered: c.Delivered.Load(),
		Failed: c.Failed.Load(), Dropped: c.Dropped.Load(),
		Retried: c.Retried.Load(), DeadLettered: c.DeadLettered.Load(),
	}
}

// TopicTable holds TopicCounters for at most Limit distinct topics; later
// topics share the OtherTopic counters. Admission is first come, first
// kept: a topic that got its own counters keeps them for the life of the
// table, so every exported series stays monotonic.
//
// Counters is lock-free and allocation-free for a known topic and for
// any topic once the table is full: it reads a copy-on-write map. Only
// the first event of a new topic, while there is room, takes a mutex and
// copies the map (at most Limit times in the table's life).
//
// The zero value is ready to use with DefaultTopicLimit; it must not be
// copied after first use.
type TopicTable struct {
	// Limit is the number of distinct topics kept apart. Set it before
	// first use. Default (0): DefaultTopicLimit.
	Limit int

	cells atomic.Pointer[map[string]*TopicCounters]
	mu    sync.Mutex // serializes growth of cells
	other TopicCounters
}

func (t *TopicTable) limit() int {
	if t.Limit <= 0 {
		return DefaultTopicLimit
	}
	return t.Limit
}

// Counters returns the counters of topic, or the shared OtherTopic
// counters when the table is full. Safe for concurrent use.
func (t *TopicTable) Counters(topic string) *TopicCounters {
	if m := t.cells.Load(); m != nil {
		if c, ok := (*m)[topic]; ok {
			return c
		}
		if len(*m) >= t.limit() {
			return &t.other
		}
	}
	return t.admit(topic)
}

// admit is the slow path of Counters: the topic is new and there may be
// room for it.
func (t *TopicTable) admit(topic string) *TopicCounters {
	if topic == OtherTopic {
		return &t.other
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var cur map[string]*TopicCounters
	if m := t.cells.Load(); m != nil {
		cur = *m
	}
	if c, ok := cur[topic]; ok {
		return c
	}
	if len(cur) >= t.limit() {
		return &t.other
	}
	next := make(map[string]*TopicCounters, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	c := &TopicCounters{}
	next[topic] = c
	t.cells.Store(&next)
	return c
}

// Snapshot returns the figures per topic; OtherTopic is present once a
// topic was folded into it (or a topic named "other" was seen).
func (t *TopicTable) Snapshot() map[string]TopicStats {
	var cur map[string]*TopicCounters
	if m := t.cells.Load(); m != nil {
		cur = *m
	}
	out := make(map[string]TopicStats, len(cur)+1)
	for k, c := range cur {
		out[k] = c.load()
	}
	if o := t.other.load(); o != (TopicStats{}) {
		out[OtherTopic] = o
	}
	return out
}
