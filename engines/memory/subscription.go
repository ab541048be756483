package memory

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

var subSeq atomic.Uint64

// subscription is a handler with its own bounded queue.
//
// Removal protocol (no event is ever left in a queue uncounted):
//  1. Unsubscribe closes removed: blocked publishers give up (and count a
//     drop), the delivery goroutine stops taking events;
//  2. it takes sendMu exclusively and sets gone: from then on no publisher
//     can enqueue (publishers enqueue holding sendMu shared and check gone);
//  3. the delivery goroutine, after the same barrier, drains the queue
//     counting every event as dropped.
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
	once    sync.Once

	exited   atomic.Pointer[chan struct{}] // closed when the current delivery goroutine exits
	loopGoid atomic.Int64                  // goroutine id of the current delivery goroutine
	inFlight atomic.Int64                  // handler calls running now
}

func newSubscription(b *EventBus, topic string, h bus.EventHandler, async bool, buffer int) *subscription {
	return &subscription{
		bus: b, id: bus.NewID(), seq: subSeq.Add(1), topic: topic, async: async, handler: h,
		queue: make(chan envelope, buffer), removed: make(chan struct{}),
	}
}

func (s *subscription) Topic() string { return s.topic }
func (s *subscription) ID() string    { return s.id }
func (s *subscription) IsAsync() bool { return s.async }

// Cancel is Unsubscribe with a background context.
func (s *subscription) Cancel() error { return s.unsubscribe(context.Background()) }

func (s *subscription) isRemoved() bool {
	select {
	case <-s.removed:
		return true
	default:
		return false
	}
}

func (s *subscription) unsubscribe(ctx context.Context) error {
	first := false
	s.once.Do(func() {
		first = true
		s.bus.remove(s)
		close(s.removed)
		s.sendMu.Lock()
		s.gone = true
		s.sendMu.Unlock()
	})
	if !first {
		return nil
	}
	// Wait, bounded, for the delivery goroutine and any handler in flight,
	// except for the handler call this Unsubscribe is made from (a handler
	// cancelling its own subscription must not wait for itself).
	self := s.calledFromOwnHandler()
	wait := s.bus.cfg.UnsubscribeWait.Std()
	timer := time.NewTimer(wait)
	defer timer.Stop()
	if self == selfSyncLoop {
		return nil
	}
	var own int64
	if self == selfPoolWorker {
		own = 1
	}
	if ch := s.exited.Load(); ch != nil && !s.async {
		select {
		case <-*ch:
		case <-timer.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
	for s.inFlight.Load() > own {
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
	exited := make(chan struct{})
	s.exited.Store(&exited)
	r.subsWG.Add(1)
	go s.deliverLoop(r, exited)
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
// events are delivered first).
func (s *subscription) deliverLoop(r *runState, exited chan struct{}) {
	defer r.subsWG.Done()
	defer close(exited)
	s.loopGoid.Store(currentGoroutineID())
	for {
		select {
		case env := <-s.queue:
			s.dispatch(r, env)
		case <-s.removed:
			s.sendMu.Lock() // barrier: no publisher is still enqueuing
			s.sendMu.Unlock()
			s.dropQueued()
			return
		case <-r.stop:
			for {
				select {
				case env := <-s.queue:
					s.dispatch(r, env)
				default:
					return
				}
			}
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
func (s *subscription) dispatch(r *runState, env envelope) {
	if r.abandon.Load() || s.isRemoved() {
		s.bus.dropQueuedEvent(env)
		return
	}
	if !s.async {
		s.bus.handle(r, s, env)
		return
	}
	select {
	case r.pool <- job{sub: s, env: env}:
	case <-s.removed:
		s.bus.dropQueuedEvent(env)
	}
}

// Where an Unsubscribe call comes from, relative to the subscription.
const (
	selfNone       = iota
	selfSyncLoop   // from the sync handler, on the subscription's delivery goroutine
	selfPoolWorker // from the async handler, on a pool worker running it
)

func (s *subscription) calledFromOwnHandler() int {
	g := currentGoroutineID()
	if s.loopGoid.Load() == g && !s.async {
		return selfSyncLoop
	}
	s.bus.mu.Lock()
	r := s.bus.run
	s.bus.mu.Unlock()
	if r == nil {
		return selfNone
	}
	for _, w := range r.workers {
		if w.goid.Load() == g && w.current.Load() == s {
			return selfPoolWorker
		}
	}
	return selfNone
}
