package bus

import (
	"slices"
	"sync/atomic"
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
	Observer Observer        // never nil in a loaded value
	Message  MessageObserver // nil unless Observer wants per-message calls
}

// Set installs o (nil removes the observer).
func (s *ObserverSlot) Set(o Observer) {
	if o == nil {
		s.p.Store(nil)
		return
	}
	obs := &Observers{Observer: o}
	obs.Message, _ = o.(MessageObserver)
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
