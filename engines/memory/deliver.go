package memory

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
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
	if ctx == nil {
		ctx = context.Background()
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

// poolWorker runs async handlers until the pool is closed and drained. If
// a handler ends the goroutine with runtime.Goexit, a replacement worker
// takes its place (handle counted the call as a failed one).
func (b *EventBus) poolWorker(r *runState) {
	goexited := false
	defer func() {
		if goexited {
			go b.poolWorker(r)
			return
		}
		r.poolWG.Done()
	}()
	for j := range r.pool {
		if r.abandon.Load() || j.sub.isRemoved() {
			b.dropQueuedEvent(j.env)
			continue
		}
		b.handle(r, j.sub, j.env, &goexited)
	}
}

// handle calls the handler with panic recovery and accounts for it. The
// handler latency covers the handler call only (panic recovery included),
// not the time the event waited in a queue.
//
// A handler that calls runtime.Goexit (t.FailNow, require.*) ends the
// calling goroutine; nothing can stop that. The deferred function then
// counts the call as a failed, panicking one (bus.ErrHandlerGoexit),
// reports it and sets *goexited, so that the goroutine's owner starts a
// replacement: the subscription keeps receiving.
func (b *EventBus) handle(r *runState, s *subscription, env envelope, goexited *bool) {
	ctx := bus.HandlerContext(env.ctx, s.lifeCtx(r))
	obs := b.observer.Load()
	if obs != nil && obs.Message != nil {
		obs.Message.MessageReceived(ctx, env.ev, s.id)
	}
	s.inFlight.Add(1)
	b.stats.inFlight.Add(1)
	start := time.Now()
	returned := false
	var err error
	defer func() {
		if returned {
			return
		}
		if r := recover(); r != nil { // unreachable: call recovers panics
			err = &bus.PanicError{Value: r}
		} else {
			err = bus.GoexitError()
			*goexited = true
		}
		b.settle(s, env, obs, ctx, start, err)
	}()
	err = call(ctx, s.handler, env.ev)
	returned = true
	b.settle(s, env, obs, ctx, start, err)
}

// settle records a handler call that returned err.
func (b *EventBus) settle(s *subscription, env envelope, obs *bus.Observers, ctx context.Context, start time.Time, err error) {
	b.stats.latency.Observe(time.Since(start))
	b.stats.inFlight.Add(-1)
	s.inFlight.Add(-1)
	switch {
	case bus.IsFiltered(err):
		// The subscription's filter rejected the event: neither a
		// delivery nor a failure (bus.FilteredHandler).
		b.stats.filtered.Add(1)
	case err != nil:
		b.stats.delivered.Add(1)
		env.topic.Delivered.Add(1)
		b.stats.failed.Add(1)
		env.topic.Failed.Add(1)
		if errors.Is(err, bus.ErrHandlerPanic) {
			b.stats.panics.Add(1)
		}
		if obs != nil {
			obs.Observer.MessageFailed(ctx, env.ev, s.id, err)
		}
	default:
		b.stats.delivered.Add(1)
		env.topic.Delivered.Add(1)
	}
	// Last: Flush returns once pending is zero, so everything about this
	// delivery (counters, the failure notification) is done by then.
	b.stats.pending.Add(-1)
}

// call runs h on the calling goroutine, turning a panic into a
// *bus.PanicError. (bus.CallHandler would also survive runtime.Goexit, at
// the cost of a goroutine per call; this engine replaces its goroutine
// instead, see handle.)
func call(ctx context.Context, h bus.EventHandler, e bus.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &bus.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return h(ctx, e)
}

// dropQueuedEvent accounts for an accepted event that will not reach its
// handler.
func (b *EventBus) dropQueuedEvent(env envelope) {
	b.stats.dropped.Add(1)
	env.topic.Dropped.Add(1)
	b.stats.pending.Add(-1)
}
