package memory

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

var subSeq atomic.Uint64

// testHookRemoved, set by tests only, runs between steps 1 and 2 of the
// removal protocol: it widens the window in which a publisher may still
// pass the gone check, to prove that no event is left behind.
var testHookRemoved func()

// subscription is a handler with its own bounded queue.
//
// Removal protocol (no event is ever left in a queue uncounted):
//  1. Unsubscribe closes removed: blocked publishers give up (and count a
//     drop), the delivery goroutine stops taking events;
//  2. it takes sendMu exclusively and sets gone: from then on no publisher
//     can enqueue (publishers enqueue holding sendMu shared and check
//     gone); then it closes goneSet;
//  3. the delivery goroutine waits for goneSet — not merely for removed:
//     a publisher may still pass the gone check between 1 and 2 — and
//     then drains the queue counting every event as dropped.
//
// One reader at a time: the delivery goroutine of a run starts reading
// the queue only once the previous run's goroutine has exited (a handler
// that ignored an expired Stop may still be running), so a sync
// subscription never runs two handler calls at once and keeps its order.
type subscription struct {
	bus     *EventBus
	id      string
	seq     uint64
	topic   string
	async   bool
	handler bus.EventHandler

	queue   chan envelope
	sendMu  sync.RWMutex
	gone    bool          // guarded by sendMu
	removed chan struct{} // closed once by unsubscribe
	goneSet chan struct{} // closed once gone is set
	once    sync.Once

	exited   atomic.Pointer[chan struct{}] // closed when the current delivery goroutine exits
	life     atomic.Pointer[subLife]       // the handlers' context for the current run
	inFlight atomic.Int64                  // handler calls running now
}

// subLife is a subscription's handler context for one run: the run's
// lifetime plus a value naming the subscription, so that Unsubscribe
// called with it (from the subscription's own handler) does not wait for
// the call it is made from.
type subLife struct {
	run *runState
	ctx context.Context
}

type subCtxKey struct{}

func newSubscription(b *EventBus, topic string, h bus.EventHandler, async bool, buffer int) *subscription {
	return &subscription{
		bus: b, id: enginekit.NewID(), seq: subSeq.Add(1), topic: topic, async: async, handler: h,
		queue: make(chan envelope, buffer), removed: make(chan struct{}), goneSet: make(chan struct{}),
	}
}

func (s *subscription) Topic() string { return s.topic }
func (s *subscription) ID() string    { return s.id }
func (s *subscription) IsAsync() bool { return s.async }

// Cancel removes the subscription at once, like Unsubscribe, but does not
// wait for a handler call in flight: a handler may cancel its own
// subscription. Events still queued for it are counted as dropped.
func (s *subscription) Cancel() error { return s.unsubscribe(context.Background(), false) }

func (s *subscription) isRemoved() bool {
	select {
	case <-s.removed:
		return true
	default:
		return false
	}
}

// lifeCtx returns the handlers' context for run r.
func (s *subscription) lifeCtx(r *runState) context.Context {
	if l := s.life.Load(); l != nil && l.run == r {
		return l.ctx
	}
	return r.life
}

// unsubscribe removes s; with wait, it then waits (bounded by
// UnsubscribeWait and ctx) for the delivery goroutine and any handler call
// in flight, unless ctx is the subscription's own handler context.
func (s *subscription) unsubscribe(ctx context.Context, wait bool) error {
	first := false
	s.once.Do(func() {
		first = true
		s.bus.remove(s)
		close(s.removed)
		if testHookRemoved != nil {
			testHookRemoved()
		}
		s.sendMu.Lock()
		s.gone = true
		s.sendMu.Unlock()
		close(s.goneSet)
	})
	if !first || !wait {
		return nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if self, _ := ctx.Value(subCtxKey{}).(*subscription); self == s {
		return nil // called from its own handler: do not wait for itself
	}
	timer := time.NewTimer(s.bus.cfg.UnsubscribeWait.Std())
	defer timer.Stop()
	if ch := s.exited.Load(); ch != nil && !s.async {
		select {
		case <-*ch:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	for s.inFlight.Load() > 0 {
		select {
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

// launch starts the delivery goroutine for run r. Called with bus.mu held.
func (s *subscription) launch(r *runState) {
	if s.isRemoved() {
		return
	}
	s.life.Store(&subLife{run: r, ctx: context.WithValue(r.life, subCtxKey{}, s)})
	exited := make(chan struct{})
	prev := s.exited.Swap(&exited)
	r.subsWG.Add(1)
	go s.deliverLoop(r, exited, prev)
}

// enqueue offers env to the subscription according to the delivery mode.
// It returns nil when queued, or the reason it was not (the drop is
// counted here). A subscription removed meanwhile is not an error.
func (s *subscription) enqueue(ctx context.Context, env envelope, mode string, timeout time.Duration) error {
	s.sendMu.RLock()
	defer s.sendMu.RUnlock()
	if s.gone {
		return nil
	}
	s.bus.stats.pending.Add(1) // before the send, so the consumer's decrement never goes negative
	select {
	case s.queue <- env:
		return nil
	default:
	}
	return s.wait(ctx, env, mode, timeout)
}

// wait is the slow path of enqueue: the queue was full. On any outcome but
// "queued" it undoes the pending count and counts the drop.
func (s *subscription) wait(ctx context.Context, env envelope, mode string, timeout time.Duration) error {
	notQueued := func(err error) error {
		s.bus.stats.pending.Add(-1)
		s.bus.stats.dropped.Add(1)
		env.topic.Dropped.Add(1)
		return err
	}
	switch mode {
	case DeliveryDrop:
		return notQueued(bus.ErrEventDropped)
	case DeliveryTimeout:
		if timeout <= 0 {
			return notQueued(bus.ErrEventDropped)
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case s.queue <- env:
			return nil
		case <-s.removed:
			return notQueued(nil)
		case <-ctx.Done():
			return notQueued(ctx.Err())
		case <-t.C:
			return notQueued(bus.ErrEventDropped)
		}
	default: // block
		select {
		case s.queue <- env:
			return nil
		case <-s.removed:
			return notQueued(nil)
		case <-ctx.Done():
			return notQueued(ctx.Err())
		}
	}
}

// deliverLoop takes events from the queue until the subscription is
// removed (queued events are dropped, counted) or the run stops (queued
// events are delivered first; an expired Stop drops them instead). It
// first waits for the previous run's delivery goroutine (prev) to exit.
//
// If a handler ends the goroutine with runtime.Goexit, a replacement
// carries on with the same run (handle counted the call as failed).
func (s *subscription) deliverLoop(r *runState, exited chan struct{}, prev *chan struct{}) {
	goexited := false
	defer func() {
		if goexited {
			go s.deliverLoop(r, exited, nil)
			return
		}
		close(exited)
		r.subsWG.Done()
	}()
	if prev != nil {
		select {
		case <-*prev:
		case <-s.removed:
			<-s.goneSet
			s.dropQueued()
			return
		case <-r.abandonCh:
			return
		}
	}
	for !r.abandon.Load() {
		select {
		case env := <-s.queue:
			s.dispatch(r, env, &goexited)
		case <-s.removed:
			<-s.goneSet // barrier: no publisher can still enqueue
			s.dropQueued()
			return
		case <-r.stop:
			for !r.abandon.Load() {
				select {
				case env := <-s.queue:
					s.dispatch(r, env, &goexited)
				default:
					return
				}
			}
			return
		}
	}
}

func (s *subscription) dropQueued() {
	for {
		select {
		case env := <-s.queue:
			s.bus.dropQueuedEvent(env)
		default:
			return
		}
	}
}

// dispatch runs a sync handler here, or hands an async one to the pool.
func (s *subscription) dispatch(r *runState, env envelope, goexited *bool) {
	if r.abandon.Load() || s.isRemoved() {
		s.bus.dropQueuedEvent(env)
		return
	}
	if !s.async {
		s.bus.handle(r, s, env, goexited)
		return
	}
	select {
	case r.pool <- job{sub: s, env: env}:
	case <-s.removed:
		s.bus.dropQueuedEvent(env)
	case <-r.abandonCh:
		s.bus.dropQueuedEvent(env)
	}
}
