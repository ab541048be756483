package kafka

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// subscription is one Subscribe or SubscribeAsync registration. It
// outlives engine runs: Stop detaches its consumer, Start attaches a new
// one that resumes from the group's committed offsets.
type subscription struct {
	b       *EventBus
	id      string
	topic   string
	async   bool
	handler bus.EventHandler
	group   string
	// generated is set when group is this subscription's own group (no
	// GroupID configured); Unsubscribe then deletes the group.
	generated bool

	removed atomic.Bool

	// handling counts the records being handled (decoded, dispatched,
	// settled), so that Flush also waits for handlers of records already
	// settled before they ran (ack mode on-receive).
	handling brokerkit.Epochs

	// syncMu makes a sync subscription's handler calls one at a time
	// across all its partitions (sarama consumes partitions in parallel).
	syncMu sync.Mutex

	// mu guards known (the topics, with partitions, the group consumes),
	// progress and taken.
	mu    sync.Mutex
	known topicList
	// progress is, per partition, the highest offset this engine marked
	// for the subscription (every record below it was settled); Flush
	// reads it.
	progress map[topicPartition]*atomic.Int64
	// taken is, per partition, the offsets this process took for the
	// subscription in claims that ended (see redelivery.go).
	taken map[topicPartition]offsetRange

	// cur is the consumer of the current run; guarded by b.mu.
	cur *consumerRun
}

// Topic returns the subscribed topic pattern.
func (s *subscription) Topic() string { return s.topic }

// ID returns the subscription's unique id.
func (s *subscription) ID() string { return s.id }

// IsAsync reports whether the subscription was made with SubscribeAsync.
func (s *subscription) IsAsync() bool { return s.async }

// Cancel is Unsubscribe on the engine that created the subscription.
func (s *subscription) Cancel() error { return s.b.Unsubscribe(context.Background(), s) }

// Subscribe registers a handler for topic (an exact topic, "*" or a
// prefix pattern such as "order.*"). Its events are handled one at a time;
// the events of one partition key arrive in publish order.
//
// Before returning, Subscribe commits the group's starting offsets (the
// current end of every matching partition, or its start with
// initialOffset "oldest") unless the group already has some, so every
// event published after Subscribe returned is delivered. A wildcard
// subscription also consumes matching topics created later (found by the
// topic watcher, read from their beginning). Each subscription has its
// own consumer group unless GroupID is set.
//
// Errors: ErrEventBusNotStarted when the engine is not running;
// ErrEmptyTopic and ErrEventHandlerNil for unusable arguments; a
// *TopicError wrapping ErrTopicNotFound for a missing exact topic when
// autoCreateTopics is off.
func (b *EventBus) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return b.subscribe(ctx, topic, handler, false)
}

// SubscribeAsync is Subscribe with handler calls running on the
// subscription's worker pool (maxInFlight workers): events may be handled
// concurrently and out of order. Offsets are still committed in order: an
// offset is committed only when every earlier event of its partition was
// handled.
func (b *EventBus) SubscribeAsync(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return b.subscribe(ctx, topic, handler, true)
}

func (b *EventBus) subscribe(ctx context.Context, topic string, handler bus.EventHandler, async bool) (bus.Subscription, error) {
	if err := enginekit.ValidateSubscription(topic, handler); err != nil {
		return nil, err
	}
	r, err := b.running()
	if err != nil {
		return nil, err
	}
	s := &subscription{b: b, id: enginekit.NewID(), topic: topic, async: async, handler: handler}
	if s.group = b.set.cfg.GroupID; s.group == "" {
		s.group = b.set.cfg.GroupIDPrefix + s.id
		s.generated = true
	}
	parts := topicList{}
	if bus.IsPattern(topic) {
		list, err := r.listTopics()
		if err != nil {
			return nil, fmt.Errorf("kafka engine: subscribe %q: list topics: %w", topic, err)
		}
		for t, ps := range list {
			if b.opts.SubscriptionMatches(topic, t) {
				parts[t] = ps
			}
		}
	} else {
		if err := r.topics.ensure(ctx, topic, "subscribe"); err != nil {
			return nil, err
		}
		ps, err := r.describe(topic)
		if err != nil {
			return nil, &TopicError{Topic: topic, Op: "subscribe", Err: err}
		}
		parts[topic] = ps
	}
	if err := r.commitStartOffsets(s.group, parts, b.set.initialOffset == sarama.OffsetNewest); err != nil {
		return nil, fmt.Errorf("kafka engine: subscribe %q: %w", topic, err)
	}
	s.known = parts
	r.reportMissingDeadLetterTopics(topic, parts)

	b.mu.Lock()
	// Stop marks the engine stopping before it stops the registered
	// consumers under b.mu: a subscription registered after that would
	// start a consumer Stop does not know about.
	if b.run != r || b.state.Load() != stateRunning {
		b.mu.Unlock()
		return nil, bus.ErrEventBusNotStarted
	}
	b.subs[s.id] = s
	first := b.topics.Add(topic)
	s.startConsumer(r)
	b.mu.Unlock()
	if first {
		b.disp.Observers().TopicCreated(topic)
	}
	return s, nil
}

// Unsubscribe removes the subscription at once (Topics and SubscriberCount
// stop counting it; its handler is not called for any further event),
// then waits up to unsubscribeWait (or ctx) for its handler calls in
// flight, their offset commits and the consumer leaving its group. A
// consumer still busy after that finishes in the background; Stop waits
// for it. The subscription's own consumer group (no GroupID configured) is
// deleted. Idempotent, before and after Stop. A subscription of another
// engine is refused with ErrInvalidSubscriptionType.
func (b *EventBus) Unsubscribe(ctx context.Context, sub bus.Subscription) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, ok := sub.(*subscription)
	if !ok || s == nil || s.b != b {
		return bus.ErrInvalidSubscriptionType
	}
	b.mu.Lock()
	if _, ok := b.subs[s.id]; !ok {
		b.mu.Unlock()
		return nil
	}
	s.removed.Store(true)
	delete(b.subs, s.id)
	last := b.topics.Remove(s.topic)
	cr := s.cur
	s.cur = nil
	b.mu.Unlock()
	if last {
		b.disp.Observers().TopicDeleted(s.topic)
	}
	if cr == nil {
		return nil
	}
	cr.stop()
	wait := time.NewTimer(b.set.cfg.UnsubscribeWait.Std())
	defer wait.Stop()
	select {
	case <-cr.done:
	case <-wait.C:
	case <-ctx.Done():
	}
	return nil
}

// startConsumer starts the subscription's consumer for run r. Called with
// b.mu held.
func (s *subscription) startConsumer(r *runState) {
	cr := newConsumerRun(s, r)
	s.cur = cr
	r.wg.Add(1)
	go cr.run()
}

// detach forgets the consumer of run r (stopped by Stop). Called with
// b.mu held.
func (s *subscription) detach(r *runState) {
	if s.cur != nil && s.cur.r == r {
		s.cur = nil
	}
}

type topicPartition struct {
	topic     string
	partition int32
}

// progressOf returns the progress cell of one partition, creating it.
func (s *subscription) progressOf(topic string, partition int32) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.progress == nil {
		s.progress = map[topicPartition]*atomic.Int64{}
	}
	tp := topicPartition{topic, partition}
	p := s.progress[tp]
	if p == nil {
		p = new(atomic.Int64)
		s.progress[tp] = p
	}
	return p
}

// topicNames returns the topics the group consumes, sorted.
func (s *subscription) topicNames() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Keys(s.known))
	slices.Sort(out)
	return out
}

// reconcile compares the subscription's topics and partitions with the
// cluster's list. New topics and partitions get the group's starting
// offset committed at their beginning (they were created after the
// subscription, so all their events are newer than it); then the consumer
// rejoins its group with the new set. A failure is reported and retried
// at the next refresh.
func (s *subscription) reconcile(r *runState, list topicList) {
	if s.removed.Load() {
		return
	}
	want := topicList{}
	for t, ps := range list {
		if s.b.opts.SubscriptionMatches(s.topic, t) {
			want[t] = ps
		}
	}
	s.mu.Lock()
	known := s.known
	s.mu.Unlock()
	if !bus.IsPattern(s.topic) {
		if _, ok := want[s.topic]; !ok {
			return // deleted, or not visible yet: keep what we have
		}
	}
	added := topicList{}
	changed := len(want) != len(known)
	for t, ps := range want {
		old, ok := known[t]
		if !ok {
			added[t] = ps
			changed = true
			continue
		}
		for _, p := range ps {
			if !slices.Contains(old, p) {
				added[t] = append(added[t], p)
				changed = true
			}
		}
	}
	if !changed {
		return
	}
	if err := r.commitStartOffsets(s.group, added, false); err != nil {
		if !isClosed(r.quit) {
			s.b.errs.Report(broker.ScopeDiscover, fmt.Errorf("kafka engine: subscription %q: new topics %v: %w", s.topic, slices.Collect(maps.Keys(added)), err))
		}
		return
	}
	s.mu.Lock()
	s.known = want
	s.mu.Unlock()
	r.reportMissingDeadLetterTopics(s.topic, added)
	s.b.mu.Lock()
	cr := s.cur
	s.b.mu.Unlock()
	if cr != nil {
		cr.rejoin()
	}
}
