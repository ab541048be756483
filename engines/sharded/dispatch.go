package sharded

import (
	"context"
	"runtime/debug"
	"time"
	"unsafe"

	"github.com/switchyard-go/eventbus/bus"
)

// batchState is what a worker carries through one batch: the events
// copied out of the ring, their publishers' contexts (nil for
// context.Background/TODO, so that no handler call compares contexts), the
// observer (loaded once), the clock reading used to stamp zero CreatedAt
// values (taken at most once) and the handler counters, published once per
// batch.
type batchState struct {
	evs       []bus.Event
	ctxs      []context.Context
	events    int
	obs       *bus.Observers
	now       time.Time
	delivered uint64
	failed    uint64
	panics    uint64
	skipped   uint64
	enqueued  uint64
}

func (bs *batchState) begin(s *shard) {
	bs.events = 0
	bs.obs = s.eng.observer.Load()
	bs.now = time.Time{}
	bs.delivered, bs.failed, bs.panics, bs.skipped, bs.enqueued = 0, 0, 0, 0, 0
	s.cache.refresh(s.eng.routes.Load())
}

func (bs *batchState) end(s *shard) {
	s.dispatched.Add(uint64(bs.events))
	s.batches.Add(1)
	if bs.delivered != 0 {
		s.delivered.Add(bs.delivered)
	}
	if bs.failed != 0 {
		s.failed.Add(bs.failed)
		s.panics.Add(bs.panics)
	}
	if bs.skipped != 0 {
		s.skipped.Add(bs.skipped)
	}
	if bs.enqueued != 0 {
		s.run.pool.enqueued.Add(bs.enqueued)
	}
}

// clock returns the batch's clock reading, taken on first use.
func (bs *batchState) clock() time.Time {
	if bs.now.IsZero() {
		bs.now = time.Now()
	}
	return bs.now
}

// dispatch hands the batch to the subscriptions that match each event.
// Consecutive events of one topic form a run, which each sync
// subscription handles in one go (one lock, one route lookup) and each
// async subscription queues to the pool.
func (s *shard) dispatch(evs []bus.Event, ctxs []context.Context) {
	for i := 0; i < len(evs); {
		topic := evs[i].Topic
		j := i + 1
		for j < len(evs) && sameString(evs[j].Topic, topic) {
			j++
		}
		r := s.cache.resolve(topic)
		r.tc.Published.Add(uint64(j - i))
		for _, sub := range r.sync {
			s.runSync(sub, r.tc, evs[i:j], ctxs[i:j])
		}
		for _, sub := range r.async {
			s.enqueue(sub, r.tc, evs[i:j], ctxs[i:j])
		}
		i = j
	}
}

// runSync calls a sync subscription's handler for each event of run, in
// order. sub.mu makes calls one at a time across shards (a wildcard or
// keyed subscription receives events from several shard workers) and lets
// Unsubscribe wait for a call in flight.
//
// The run is timed as a whole, with two clock reads, and recorded as one
// latency observation per call at the run's mean (see latency.go). tc
// gets the run's Delivered, Failed and skipped (Dropped) calls.
func (s *shard) runSync(sub *subscription, tc *bus.TopicCounters, run []bus.Event, ctxs []context.Context) {
	bs := &s.bs
	if !sub.active.Load() {
		// Removed before the run: not counted as skipped in Metrics,
		// so not as dropped per topic either.
		return
	}
	life := sub.lifeCtx()
	delivered, failed, skipped := bs.delivered, bs.failed, bs.skipped
	sub.mu.Lock()
	start := mono()
	for i := 0; i < len(run); {
		i = s.callRange(sub, life, run, ctxs, i)
	}
	d := mono() - start
	sub.mu.Unlock()
	if calls := bs.delivered - delivered; calls != 0 {
		s.latency.ObserveN(d, calls)
		tc.Delivered.Add(calls)
	}
	if n := bs.failed - failed; n != 0 {
		tc.Failed.Add(n)
	}
	if n := bs.skipped - skipped; n != 0 {
		tc.Dropped.Add(n)
	}
}

// callRange calls the handler for run[start:], stopping after a panic,
// which it records; it returns the index to continue from. Counters live
// in locals during the loop: the handler call would force them back to
// memory on every iteration otherwise.
func (s *shard) callRange(sub *subscription, life context.Context, run []bus.Event, ctxs []context.Context, start int) (next int) {
	bs := &s.bs
	abandoned := &s.run.abandoned
	var obs bus.Observer
	var msg bus.MessageObserver
	if bs.obs != nil {
		obs, msg = bs.obs.Observer, bs.obs.Message
	}
	var delivered, failed uint64
	i := start
	defer func() {
		bs.delivered += delivered
		bs.failed += failed
		if r := recover(); r != nil {
			bs.delivered++
			bs.failed++
			bs.panics++
			err := &bus.PanicError{Value: r, Stack: debug.Stack()}
			if obs != nil {
				obs.MessageFailed(handlerCtx(ctxs[i], life), run[i], sub.id, err)
			}
			next = i + 1
		}
	}()
	h := sub.handler
	for ; i < len(run); i++ {
		if !sub.active.Load() || abandoned.Load() {
			bs.skipped += uint64(len(run) - i)
			return len(run)
		}
		ctx := life
		if c := ctxs[i]; c != nil {
			ctx = bus.HandlerContext(c, life)
		}
		if msg != nil {
			msg.MessageReceived(ctx, run[i], sub.id)
		}
		if err := h(ctx, run[i]); err != nil {
			failed++
			if obs != nil {
				obs.MessageFailed(ctx, run[i], sub.id, err)
			}
		}
		delivered++
	}
	return len(run)
}

// sameString is a == b with a fast path for the common case of one
// backing array (a publisher reusing its topic string).
func sameString(a, b string) bool {
	return len(a) == len(b) && (unsafe.StringData(a) == unsafe.StringData(b) || a == b)
}

// enqueue queues one pool job per event of run for an async subscription,
// waiting while the pool's queue is full (lossless) unless the run is
// abandoned.
func (s *shard) enqueue(sub *subscription, tc *bus.TopicCounters, run []bus.Event, ctxs []context.Context) {
	bs := &s.bs
	q := s.run.pool.q
	for i := range run {
		if !sub.active.Load() {
			bs.skipped += uint64(len(run) - i)
			tc.Dropped.Add(uint64(len(run) - i))
			return
		}
		j := asyncJob{sub: sub, tc: tc, ctx: ctxs[i], ev: run[i]}
		select {
		case q <- j:
			bs.enqueued++
		default:
			select {
			case q <- j:
				bs.enqueued++
			case <-s.run.abandonCh:
				bs.skipped += uint64(len(run) - i)
				tc.Dropped.Add(uint64(len(run) - i))
				return
			}
		}
	}
}
