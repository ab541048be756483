package memory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Publish offers the event to every subscription whose pattern matches
// event.Topic. In "block" mode it waits for queue room (bounded by ctx);
// a ctx that ends first is returned as the error and the drop counted. In
// "drop" and "timeout" modes a full queue drops the event for that
// subscription, counts it and makes Publish return an error wrapping
// bus.ErrEventDropped. CreatedAt is set when zero. ctx's values (not its
// cancellation) reach the handlers.
func (b *EventBus) Publish(ctx context.Context, event bus.Event) error {
	if err := bus.ValidatePublishTopic(event.Topic); err != nil {
		return fmt.Errorf("memory engine: publish: %w", err)
	}
	b.gate.RLock()
	defer b.gate.RUnlock()
	if b.state.Load() != stateRunning {
		return bus.ErrEventBusNotStarted
	}
	if event.CreatedAt.IsZero() {
		event.CreatedAt = time.Now()
	}
	b.stats.published.Add(1)
	tc := b.stats.topics.Counters(event.Topic)
	tc.Published.Add(1)
	subs := *b.snapshot.Load()
	n := len(subs)
	if n == 0 {
		return nil
	}
	start := 0
	if b.cfg.RotateSubscriberOrder {
		start = int(b.rotation.Add(1) % uint64(n))
	}
	env := envelope{ctx: ctx, ev: event, topic: tc}
	mode, timeout := b.cfg.DeliveryMode, b.cfg.PublishBlockTimeout.Std()
	var failed, matched int
	var firstErr error
	for i := 0; i < n; i++ {
		s := subs[(start+i)%n]
		if !bus.MatchTopic(s.topic, event.Topic) {
			continue
		}
		matched++
		if err := s.enqueue(ctx, env, mode, timeout); err != nil {
			failed++
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("memory engine: publish %q: not queued for %d of %d subscriptions: %w", event.Topic, failed, matched, firstErr)
	}
	return nil
}

// poolWorker runs async handlers until the pool is closed and drained.
func (b *EventBus) poolWorker(r *runState, w *poolWorkerState) {
	defer r.poolWG.Done()
	w.goid.Store(currentGoroutineID())
	for j := range r.pool {
		if r.abandon.Load() || j.sub.isRemoved() {
			b.dropQueuedEvent(j.env)
			continue
		}
		w.current.Store(j.sub)
		b.handle(r, j.sub, j.env)
		w.current.Store(nil)
	}
}

// handle calls the handler with panic recovery and accounts for it. The
// handler latency covers the handler call only (panic recovery included),
// not the time the event waited in a queue.
func (b *EventBus) handle(r *runState, s *subscription, env envelope) {
	ctx := bus.HandlerContext(env.ctx, r.life)
	obs := b.observer.Load()
	if obs != nil && obs.Message != nil {
		obs.Message.MessageReceived(ctx, env.ev, s.id)
	}
	s.inFlight.Add(1)
	b.stats.inFlight.Add(1)
	start := time.Now()
	err := bus.CallHandler(ctx, s.handler, env.ev)
	b.stats.latency.Observe(time.Since(start))
	b.stats.inFlight.Add(-1)
	s.inFlight.Add(-1)
	b.stats.delivered.Add(1)
	env.topic.Delivered.Add(1)
	if err != nil {
		b.stats.failed.Add(1)
		env.topic.Failed.Add(1)
		if errors.Is(err, bus.ErrHandlerPanic) {
			b.stats.panics.Add(1)
		}
		if obs != nil {
			obs.Observer.MessageFailed(ctx, env.ev, s.id, err)
		}
	}
	// Last: Flush returns once pending is zero, so everything about this
	// delivery (counters, the failure notification) is done by then.
	b.stats.pending.Add(-1)
}

// dropQueuedEvent accounts for an accepted event that will not reach its
// handler.
func (b *EventBus) dropQueuedEvent(env envelope) {
	b.stats.dropped.Add(1)
	env.topic.Dropped.Add(1)
	b.stats.pending.Add(-1)
}
