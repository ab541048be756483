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
	filtered  uint64
	panics    uint64
	skipped   uint64
	enqueued  uint64

	// base is the ring position of evs[0]; next is the head after the
	// batch (positions below it are done once the batch is).
	base, next uint64
	// The dispatch cursor, so that a replacement worker can finish a
	// batch whose handler called runtime.Goexit: the run of one topic
	// starting at evs[runI], whose Published count is taken (inRun), the
	// subscription subK of the run (sync ones first, then async), and
	// the event evI of the run the next sync call starts from.
	runI, subK, evI int
	inRun           bool
}

func (bs *batchState) begin(s *shard) {
	bs.events = 0
	bs.obs = s.eng.observer.Load()
	bs.now = time.Time{}
	bs.delivered, bs.failed, bs.filtered, bs.panics, bs.skipped, bs.enqueued = 0, 0, 0, 0, 0, 0
	bs.runI, bs.subK, bs.evI, bs.inRun = 0, 0, 0, false
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
	if bs.filtered != 0 {
		s.filtered.Add(bs.filtered)
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

// dispatch hands the batch to the subscriptions that match each event,
// from the cursor in bs (the batch's start unless a Goexit interrupted it).
// Consecutive events of one topic form a run, which each sync
// subscription handles in one go (one lock, one route lookup) and each
// async subscription queues to the pool.
func (s *shard) dispatch() {
	bs := &s.bs
	evs, ctxs := bs.evs[:bs.events], bs.ctxs[:bs.events]
	for bs.runI < len(evs) {
		i := bs.runI
		topic := evs[i].Topic
		j := i + 1
		for j < len(evs) && sameString(evs[j].Topic, topic) {
			j++
		}
		r := s.cache.resolve(topic)
		if !bs.inRun {
			bs.inRun = true
			r.tc.Published.Add(uint64(j - i))
			for _, rs := range r.retired {
				s.skipRetired(rs, r.tc, i, j)
			}
		}
		for ; bs.subK < len(r.sync); bs.subK++ {
			s.runSync(r.sync[bs.subK], r.tc, evs[i:j], ctxs[i:j])
		}
		for k := bs.subK - len(r.sync); k < len(r.async); k++ {
			s.enqueue(r.async[k], r.tc, evs[i:j], ctxs[i:j])
		}
		bs.runI, bs.subK, bs.inRun = j, 0, false
	}
}

// skipRetired counts as skipped the events evs[i:j] that were accepted
// for the removed subscription rs (positions below its cutoff on this
// shard): queued for it, never to be handled.
func (s *shard) skipRetired(rs *subscription, tc *bus.TopicCounters, i, j int) {
	c, ok := rs.cutoffs[s]
	first := s.bs.base + uint64(i)
	if !ok || c <= first {
		return
	}
	n := min(uint64(j-i), c-first)
	s.bs.skipped += n
	tc.Dropped.Add(n)
}

// runSync calls a sync subscription's handler for each event of run, in
// order, from bs.evI (0 unless a Goexit interrupted the run). sub.mu makes
// calls one at a time across shards (a wildcard or keyed subscription
// receives events from several shard workers) and lets Unsubscribe wait
// for a call in flight.
//
// The run is timed as a whole, with two clock reads, and recorded as one
// latency observation per call at the run's mean (see latency.go). tc
// gets the run's Delivered, Failed and skipped (Dropped) calls. If a
// handler calls runtime.Goexit, the deferred accounting still runs and the
// lock is released; callRange has set up the hand-over to a new worker.
func (s *shard) runSync(sub *subscription, tc *bus.TopicCounters, run []bus.Event, ctxs []context.Context) {
	bs := &s.bs
	from := bs.evI
	bs.evI = 0
	if !sub.active.Load() {
		// Removed after this batch resolved its routes: the events were
		// queued for it, so their calls are skipped (counted).
		bs.skipped += uint64(len(run) - from)
		tc.Dropped.Add(uint64(len(run) - from))
		return
	}
	life := sub.lifeCtx()
	delivered, failed, skipped := bs.delivered, bs.failed, bs.skipped
	sub.mu.Lock()
	start := mono()
	returned := false
	defer func() {
		if !returned { // a handler called runtime.Goexit
			sub.mu.Unlock()
			s.settleRun(tc, mono()-start, delivered, failed, skipped)
		}
	}()
	for i := from; i < len(run); {
		i = s.callRange(sub, life, run, ctxs, i)
	}
	d := mono() - start
	returned = true
	sub.mu.Unlock()
	s.settleRun(tc, d, delivered, failed, skipped)
}

// settleRun records the latency and topic counters of the sync calls
// made since the batch counters were delivered, failed and skipped.
func (s *shard) settleRun(tc *bus.TopicCounters, d time.Duration, delivered, failed, skipped uint64) {
	bs := &s.bs
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
//
// A handler that calls runtime.Goexit (t.FailNow, require.*) ends this
// goroutine; nothing can stop that. The deferred function records the call
// as a failed, panicking one (bus.ErrHandlerGoexit), points the cursor at
// the next event and flags the shard so that the worker's exit starts a
// replacement worker, which finishes the batch: the subscription and every
// other one keep receiving.
func (s *shard) callRange(sub *subscription, life context.Context, run []bus.Event, ctxs []context.Context, start int) (next int) {
	bs := &s.bs
	abandoned := &s.run.abandoned
	var obs bus.Observer
	var msg bus.MessageObserver
	if bs.obs != nil {
		obs, msg = bs.obs.Observer, bs.obs.Message
	}
	var delivered, failed, filtered uint64
	i := start
	returned := false
	defer func() {
		bs.delivered += delivered
		bs.failed += failed
		bs.filtered += filtered
		if returned {
			return
		}
		var err *bus.PanicError
		if r := recover(); r != nil {
			err = &bus.PanicError{Value: r, Stack: debug.Stack()}
			next = i + 1
		} else {
			err = bus.GoexitError()
			s.goexited = true
			bs.evI = i + 1
		}
		bs.delivered++
		bs.failed++
		bs.panics++
		if obs != nil {
			obs.MessageFailed(handlerCtx(ctxs[i], life), run[i], sub.id, err)
		}
	}()
	h := sub.handler
	for ; i < len(run); i++ {
		if !sub.active.Load() || abandoned.Load() {
			bs.skipped += uint64(len(run) - i)
			returned = true
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
			if bus.IsFiltered(err) {
				// The subscription's filter rejected the event
				// (bus.FilteredHandler): neither a delivery nor a
				// failure.
				filtered++
				continue
			}
			failed++
			if obs != nil {
				obs.MessageFailed(ctx, run[i], sub.id, err)
			}
		}
		delivered++
	}
	returned = true
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
