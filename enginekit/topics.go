package enginekit

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
)

// TopicRegistry counts an engine's subscriptions per topic pattern, answers
// Topics and SubscriberCount, and tells the engine when a pattern gains its
// first or loses its last subscription (the moments of TopicCreated and
// TopicDeleted). It is not safe for concurrent use: the engine guards it
// with the lock that guards its subscription table. The zero value is
// ready to use.
type TopicRegistry struct {
	counts map[string]int
}

// Add counts one more subscription on topic and reports whether it is the
// first one.
func (r *TopicRegistry) Add(topic string) (first bool) {
	if r.counts == nil {
		r.counts = map[string]int{}
	}
	r.counts[topic]++
	return r.counts[topic] == 1
}

// Remove counts one subscription less on topic and reports whether it was
// the last one. Removing from a pattern with no subscription is a no-op
// that reports false.
func (r *TopicRegistry) Remove(topic string) (last bool) {
	n, ok := r.counts[topic]
	if !ok {
		return false
	}
	if n <= 1 {
		delete(r.counts, topic)
		return true
	}
	r.counts[topic] = n - 1
	return false
}

// Count returns the number of subscriptions on exactly this pattern.
func (r *TopicRegistry) Count(topic string) int { return r.counts[topic] }

// Topics returns the patterns with at least one subscription, sorted.
func (r *TopicRegistry) Topics() []string {
	out := make([]string, 0, len(r.counts))
	for t := range r.counts {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// ObserverSlot holds an engine's Observer, resolved once when it is set:
// Message is non-nil only if the observer implements MessageObserver, so
// the per-delivery path costs one atomic load and a nil check. The zero
// value holds no observer; it is safe for concurrent use.
type ObserverSlot struct {
	p atomic.Pointer[Observers]
}

// Observers is what an ObserverSlot holds.
type Observers struct {
	Observer bus.Observer        // never nil in a loaded value
	Message  bus.MessageObserver // nil unless Observer wants per-message calls
}

// Set installs o (nil removes the observer).
func (s *ObserverSlot) Set(o bus.Observer) {
	if o == nil {
		s.p.Store(nil)
		return
	}
	obs := &Observers{Observer: o}
	obs.Message, _ = o.(bus.MessageObserver)
	s.p.Store(obs)
}

// Load returns the installed observers, or nil.
func (s *ObserverSlot) Load() *Observers { return s.p.Load() }

// TopicCreated notifies the observer, if any.
func (s *ObserverSlot) TopicCreated(topic string) {
	if o := s.p.Load(); o != nil {
		o.Observer.TopicCreated(topic)
	}
}

// TopicDeleted notifies the observer, if any.
func (s *ObserverSlot) TopicDeleted(topic string) {
	if o := s.p.Load(); o != nil {
		o.Observer.TopicDeleted(topic)
	}
}

// TopicCounters are the live counters of one topic in a TopicTable. An
// engine looks them up once per publish (TopicTable.Counters), carries
// the pointer with the event and increments the fields on delivery, so
// the delivery path does no map lookup.
type TopicCounters struct {
	Published, Delivered, Failed, Dropped, Retried, DeadLettered atomic.Uint64
}

func (c *TopicCounters) load() bus.TopicStats {
	return bus.TopicStats{
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
		return bus.DefaultTopicLimit
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
	if topic == bus.OtherTopic {
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
func (t *TopicTable) Snapshot() map[string]bus.TopicStats {
	var cur map[string]*TopicCounters
	if m := t.cells.Load(); m != nil {
		cur = *m
	}
	out := make(map[string]bus.TopicStats, len(cur)+1)
	for k, c := range cur {
		out[k] = c.load()
	}
	if o := t.other.load(); o != (bus.TopicStats{}) {
		out[bus.OtherTopic] = o
	}
	return out
}
