package sharded

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// subscription is the engine's bus.Subscription.
type subscription struct {
	bus     *EventBus
	id      string
	topic   string
	async   bool
	handler bus.EventHandler
	seq     uint64 // creation order: delivery order among subscriptions

	active   atomic.Bool // false once unsubscribed: no new handler call starts
	mu       sync.Mutex  // held by a shard worker while it runs this (sync) subscription
	inflight atomic.Int64
	// life is the handlers' fallback context for the current run: the
	// engine's lifetime plus a value identifying this subscription, so
	// that Unsubscribe called from its own handler does not wait for
	// itself.
	life atomic.Pointer[context.Context]
	// cutoffs, set once when the subscription is removed while running
	// (before it is published in a routeTable's retired list), holds per
	// shard the ring tail at that moment: the events below it were
	// accepted while the subscription was there, and those a worker takes
	// after the removal are counted as skipped for it.
	cutoffs map[*shard]uint64
}

type subCtxKey struct{}

func (s *subscription) setLife(runLife context.Context) {
	ctx := context.WithValue(runLife, subCtxKey{}, s)
	s.life.Store(&ctx)
}

func (s *subscription) lifeCtx() context.Context { return *s.life.Load() }

// Topic returns the subscribed topic pattern.
func (s *subscription) Topic() string { return s.topic }

// ID returns the subscription's process-unique id.
func (s *subscription) ID() string { return s.id }

// IsAsync reports whether the handler runs on the async worker pool.
func (s *subscription) IsAsync() bool { return s.async }

// Cancel removes the subscription at once, like EventBus.Unsubscribe, but
// does not wait for a handler call in flight, so a handler may cancel its
// own subscription. Events still queued for it are counted as skipped
// (Metrics.Skipped; dropped in EngineStats and Stats).
func (s *subscription) Cancel() error {
	s.bus.remove(s)
	return nil
}

// Subscribe registers a handler called for every event whose topic
// matches the pattern (see bus.MatchTopic), one call at a time, in
// publish order per partition key, on the shard workers. A slow handler
// delays the other subscriptions of its shard. It returns
// bus.ErrEventBusNotStarted while the engine is stopped.
func (b *EventBus) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return b.subscribe(topic, handler, false)
}

// SubscribeAsync registers a handler run on the async worker pool
// (AsyncWorkers goroutines): calls may run concurrently and out of order.
// It returns bus.ErrEventBusNotStarted while the engine is stopped.
func (b *EventBus) SubscribeAsync(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return b.subscribe(topic, handler, true)
}

func (b *EventBus) subscribe(topic string, handler bus.EventHandler, async bool) (bus.Subscription, error) {
	if err := enginekit.ValidateSubscription(topic, handler); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.run == nil {
		b.mu.Unlock()
		return nil, bus.ErrEventBusNotStarted
	}
	b.nextSeq++
	s := &subscription{bus: b, id: enginekit.NewID(), topic: topic, async: async, handler: handler, seq: b.nextSeq}
	s.active.Store(true)
	s.setLife(b.run.life)
	b.subs[s.id] = s
	first := b.topics.Add(topic)
	b.routes.Store(buildRoutes(b.subs, b.retired))
	b.mu.Unlock()
	if first {
		b.observer.TopicCreated(topic)
	}
	return s, nil
}

// Unsubscribe removes the subscription at once: Topics and
// SubscriberCount stop counting it and no handler call starts after it
// returns. Events accepted while it was subscribed and not yet handled
// are counted as skipped (Metrics.Skipped; Dropped in EngineStats, Stats
// and TopicStats). It then waits, up to Config.UnsubscribeWait or ctx, for
// a call in flight — unless ctx is the subscription's own handler context
// (a handler unsubscribing itself; Cancel never waits). A nil ctx is
// context.Background(). Unsubscribing twice, or while stopped,
// returns nil; a subscription of another engine is refused with
// bus.ErrInvalidSubscriptionType itself (== holds) and left untouched.
func (b *EventBus) Unsubscribe(ctx context.Context, sub bus.Subscription) error {
	s, ok := sub.(*subscription)
	if !ok || s == nil || s.bus != b {
		return bus.ErrInvalidSubscriptionType
	}
	if !b.remove(s) {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if self, _ := ctx.Value(subCtxKey{}).(*subscription); self == s {
		return nil
	}
	s.waitIdle(ctx, b.cfg.UnsubscribeWait.Std())
	return nil
}

// remove takes s out of the tables; it reports whether s was registered.
func (b *EventBus) remove(s *subscription) bool {
	b.mu.Lock()
	if _, ok := b.subs[s.id]; !ok {
		b.mu.Unlock()
		return false
	}
	s.active.Store(false)
	delete(b.subs, s.id)
	last := b.topics.Remove(s.topic)
	b.retireLocked(s)
	b.routes.Store(buildRoutes(b.subs, b.retired))
	b.mu.Unlock()
	if last {
		b.observer.TopicDeleted(s.topic)
	}
	return true
}

// retireLocked records, for a subscription being removed from a running
// engine, the ring tail of every shard that still holds events (its
// cutoffs), and keeps it in b.retired until the workers are past them, so
// that the events accepted for it and not yet handled are counted as
// skipped instead of vanishing. Subscriptions whose cutoffs were all
// passed are pruned. b.mu must be held.
//
// The published routeTable shares b.retired's array, which workers read
// without b.mu: pruning works on a copy (DeleteFunc compacts in place and
// clears the tail), and the append below never writes an element a table
// can see.
func (b *EventBus) retireLocked(s *subscription) {
	b.retired = slices.DeleteFunc(slices.Clone(b.retired), func(x *subscription) bool {
		for sh, c := range x.cutoffs {
			if !sh.exited.Load() && sh.done.Load() < c {
				return false
			}
		}
		return true
	})
	if b.run == nil {
		return
	}
	cut := map[*shard]uint64{}
	for _, sh := range b.run.shards {
		if t, _ := sh.finalTail(); !sh.exited.Load() && sh.done.Load() < t {
			cut[sh] = t
		}
	}
	if len(cut) > 0 {
		s.cutoffs = cut
		b.retired = append(b.retired, s)
	}
}

// waitIdle waits, up to bound or ctx, until no handler call of s runs.
func (s *subscription) waitIdle(ctx context.Context, bound time.Duration) {
	idle := func() bool {
		if s.async {
			return s.inflight.Load() == 0
		}
		if s.mu.TryLock() {
			s.mu.Unlock()
			return true
		}
		return false
	}
	if idle() {
		return
	}
	deadline := time.Now().Add(bound)
	for pause := 10 * time.Microsecond; !idle(); pause = min(2*pause, 5*time.Millisecond) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		time.Sleep(pause)
	}
}

// Topics returns the subscribed topic patterns, sorted.
func (b *EventBus) Topics() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Topics()
}

// SubscriberCount returns the number of subscriptions (sync and async)
// registered with exactly this topic pattern.
func (b *EventBus) SubscriberCount(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Count(topic)
}
