package redis

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// subscription is a registered handler. Its consumer group and consumer
// name are fixed at Subscribe, so a restarted bus resumes where the
// subscription stopped (re-reading its own pending entries first).
type subscription struct {
	b       *EventBus
	id      string
	topic   string // pattern as subscribed
	async   bool
	handler bus.EventHandler

	// handling counts the entries being handled, so that Flush also waits
	// for handlers of entries acknowledged before they ran (ack mode
	// on-receive).
	handling brokerkit.Epochs

	group    string
	consumer string
	shared   bool // the engine's configured group: not destroyed on Unsubscribe
	// startMs is the Redis server time (ms) at Subscribe: streams a
	// wildcard subscription discovers later start there, so no event
	// published after Subscribe returned is missed.
	startMs int64

	// streams is the copy-on-write list of stream keys the subscription
	// reads; streamsMu serializes writers.
	streams   atomic.Pointer[[]string]
	streamsMu sync.Mutex

	// marks is where the private group stood on each stream when the
	// last clean Stop released it (release.go); the next run restores it.
	marksMu sync.Mutex
	marks   map[string]groupMark

	pending atomic.Int64 // PEL size, refreshed by the claim loop
	lag     atomic.Int64 // entries not yet read, refreshed likewise

	cur *subRun // guarded by b.mu
}

func (s *subscription) Topic() string { return s.topic }
func (s *subscription) ID() string    { return s.id }
func (s *subscription) IsAsync() bool { return s.async }

// Cancel is Unsubscribe on the bus that created the subscription.
func (s *subscription) Cancel() error { return s.b.Unsubscribe(context.Background(), s) }

func (s *subscription) streamList() []string {
	if p := s.streams.Load(); p != nil {
		return *p
	}
	return nil
}

// addStreams adds keys not already read and reports whether any was new.
func (s *subscription) addStreams(keys ...string) bool {
	s.streamsMu.Lock()
	defer s.streamsMu.Unlock()
	cur := s.streamList()
	next := slices.Clone(cur)
	for _, k := range keys {
		if !slices.Contains(next, k) {
			next = append(next, k)
		}
	}
	if len(next) == len(cur) {
		return false
	}
	s.streams.Store(&next)
	return true
}

// Subscribe registers a handler whose events are handled one at a time,
// in stream order (events of one topic in publish order). The consumer
// group is created before Subscribe returns, so every event published
// after it returned is delivered. Wildcard patterns ("order.*", "*") read
// every matching stream, including streams created later. Returns
// bus.ErrEventBusNotStarted before Start and after Stop.
func (b *EventBus) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return b.subscribe(ctx, topic, handler, false)
}

// SubscribeAsync is Subscribe with up to MaxInFlight handler calls running
// at once (out of order).
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
	rs := b.run.Load()
	if rs == nil {
		return nil, errNotRunning("subscribe")
	}
	s := &subscription{b: b, id: enginekit.NewID(), topic: topic, async: async, handler: handler}
	s.consumer = b.cfg.ConsumerName + "-" + s.id[:12]
	if b.cfg.Group != "" {
		s.group, s.shared = b.cfg.Group, true
	} else {
		s.group = b.privateGroupPrefix() + s.id
	}
	if err := b.prepareStreams(ctx, rs, s); err != nil {
		return nil, fmt.Errorf("redis engine: subscribe %q: %w", topic, err)
	}

	b.mu.Lock()
	if b.run.Load() != rs {
		b.mu.Unlock()
		b.destroyGroups(ctx, rs, s)
		return nil, errNotRunning("subscribe")
	}
	b.subs[s.id] = s
	first := b.topics.Add(topic)
	s.start(rs)
	b.mu.Unlock()
	if first {
		b.dispatcher.Observers().TopicCreated(topic)
	}
	return s, nil
}

// startID is where a new group starts on a stream that existed at
// Subscribe.
func (b *EventBus) startID() string {
	if b.cfg.StartFrom == StartFromBeginning {
		return "0"
	}
	return "$"
}

// laterStartID is where a new group starts on a stream discovered after
// Subscribe: just before the subscription's creation time. A group's
// start id counts as already delivered, and an entry added in the very
// millisecond of Subscribe gets the id "<startMs>-0", so the start is the
// last possible id of the millisecond before.
func (s *subscription) laterStartID() string {
	if s.b.cfg.StartFrom == StartFromBeginning || s.startMs <= 0 {
		return "0"
	}
	return fmt.Sprintf("%d-%d", s.startMs-1, uint64(math.MaxUint64))
}

// prepareStreams creates the subscription's consumer group on every
// stream it reads now. An exact topic's stream is created if missing
// (MKSTREAM); a pattern's existing matching streams are found with SCAN.
func (b *EventBus) prepareStreams(ctx context.Context, rs *runState, s *subscription) error {
	if !bus.IsPattern(s.topic) {
		key := b.streamKey(s.topic)
		if err := createGroup(ctx, rs.client, key, s.group, b.startID()); err != nil {
			return err
		}
		s.addStreams(key)
		return nil
	}
	// Take the time before scanning: a stream created during or after
	// the scan starts at startMs, so nothing published after Subscribe
	// returns can fall between the scan and the group's creation.
	t, err := rs.client.Time(ctx).Result()
	if err != nil {
		return err
	}
	s.startMs = t.UnixMilli()
	keys, err := b.scanStreams(ctx, rs, s.topic)
	if err != nil {
		return err
	}
	var mine []string
	for _, k := range keys {
		if !b.cfg.Options.SubscriptionMatches(s.topic, b.topicOf(k)) {
			continue
		}
		if err := createGroup(ctx, rs.client, k, s.group, b.startID()); err != nil {
			return err
		}
		mine = append(mine, k)
	}
	s.addStreams(mine...)
	return nil
}

// createGroup runs XGROUP CREATE key group start MKSTREAM; an existing
// group is fine.
func createGroup(ctx context.Context, c *goredis.Client, key, group, start string) error {
	err := c.XGroupCreateMkStream(ctx, key, group, start).Err()
	if err != nil && !isBusyGroup(err) {
		return fmt.Errorf("XGROUP CREATE %s %s: %w", key, group, err)
	}
	return nil
}

// Unsubscribe removes the subscription at once (Topics and SubscriberCount
// no longer count it), stops its reading and waits (up to ctx, at most
// 5s, and not at all when called from the subscription's own handler) for
// its running handler calls; their acknowledgements are flushed. A
// private consumer group is then destroyed; in a shared group the
// consumer is removed if it has no pending entries. Idempotent, before
// and after Stop. A subscription of another engine is refused with
// bus.ErrInvalidSubscriptionType itself (== holds).
func (b *EventBus) Unsubscribe(ctx context.Context, sub bus.Subscription) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, ok := sub.(*subscription)
	if !ok || s == nil || s.b != b {
		return bus.ErrInvalidSubscriptionType
	}
	b.mu.Lock()
	if _, live := b.subs[s.id]; !live {
		b.mu.Unlock()
		return nil
	}
	delete(b.subs, s.id)
	last := b.topics.Remove(s.topic)
	r := s.cur
	s.cur = nil
	rs := b.run.Load()
	b.mu.Unlock()
	if last {
		b.dispatcher.Observers().TopicDeleted(s.topic)
	}
	if r == nil || rs == nil {
		// Stopped: nothing runs. Stop released a private group already;
		// forget where it stood.
		s.marksMu.Lock()
		s.marks = nil
		s.marksMu.Unlock()
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, DefaultUnsubscribeWaitBound)
	defer cancel()
	if d, own := broker.DeliveryFrom(ctx); own && d.Subscription == s.id {
		// Called from its own handler: do not wait for ourselves; the
		// run cleans up when its last goroutine ends.
		r.cleanupOnExit.Store(true)
		r.signal(rs)
		return nil
	}
	r.halt(wctx, rs)
	rs.acks.flush(wctx)
	b.destroyGroups(wctx, rs, s)
	return nil
}

// destroyGroups removes what Redis keeps for a subscription that is gone.
func (b *EventBus) destroyGroups(ctx context.Context, rs *runState, s *subscription) {
	for _, key := range s.streamList() {
		var err error
		if s.shared {
			err = deleteIdleConsumer(ctx, rs.client, key, s.group, s.consumer)
		} else {
			err = rs.client.XGroupDestroy(ctx, key, s.group).Err()
		}
		if err != nil && !isNoGroup(err) && ctx.Err() == nil {
			b.errs.Report(broker.ScopeAck, fmt.Errorf("unsubscribe: clean up group %s on %s: %w", s.group, key, err))
		}
	}
}

// deleteIdleConsumer removes a consumer from a shared group unless it
// still owns pending entries (deleting it would make them unclaimable).
func deleteIdleConsumer(ctx context.Context, c *goredis.Client, key, group, consumer string) error {
	p, err := c.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: key, Group: group, Start: "-", End: "+", Count: 1, Consumer: consumer}).Result()
	if err != nil {
		return err
	}
	if len(p) > 0 {
		return nil
	}
	return c.XGroupDelConsumer(ctx, key, group, consumer).Err()
}

// Topics returns the subscribed topic patterns, sorted.
func (b *EventBus) Topics() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Topics()
}

// SubscriberCount returns the number of subscriptions with exactly this
// topic pattern.
func (b *EventBus) SubscriberCount(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Count(topic)
}

// start launches the subscription's goroutines for run rs. Called with
// b.mu held.
func (s *subscription) start(rs *runState) {
	r := newSubRun(s, rs)
	s.cur = r
	r.launch()
}

// stop halts the subscription's current run, waiting up to ctx. It
// reports whether everything finished in time. Called by Stop.
func (s *subscription) stop(ctx context.Context, rs *runState) bool {
	s.b.mu.Lock()
	r := s.cur
	s.b.mu.Unlock()
	if r == nil || r.rs != rs {
		return true
	}
	ok := r.halt(ctx, rs)
	if ok {
		s.b.mu.Lock()
		if s.cur == r {
			s.cur = nil
		}
		s.b.mu.Unlock()
	}
	return ok
}
