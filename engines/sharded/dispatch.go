package sharded

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// batchState is what a worker carries through one batch: the observer
// (loaded once), the clock reading used to stamp zero CreatedAt values
// (taken at most once) and the handler counters, published once per
// batch.
type batchState struct {
	obs       *observerBox
	now       time.Time
	events    int
	delivered uint64
	failed    uint64
	panics    uint64
	skipped   uint64
	enqueued  uint64
}

func (bs *batchState) begin(s *shard) {
	*bs = batchState{obs: s.eng.observer.Load()}
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

// stamp returns e's CreatedAt, or the batch's clock reading when it is
// zero.
func (bs *batchState) stamp(e *bus.Event) time.Time {
	if !e.CreatedAt.IsZero() {
		return e.CreatedAt
	}
	if bs.now.IsZero() {
		bs.now = time.Now()
	}
	return bs.now
}

// dispatch hands a contiguous run of slots to the subscriptions that
// match each event. Consecutive events of one topic form a run, which each
// sync subscription handles in one go (one lock, one route lookup) and
// each async subscription queues to the pool.
func (s *shard) dispatch(evs []slot) {
	bs := &s.bs
	bs.events += len(evs)
	for i := 0; i < len(evs); {
		topic := evs[i].ev.Topic
		j := i + 1
		for j < len(evs) && evs[j].ev.Topic == topic {
			j++
		}
		r := s.cache.resolve(topic)
		for _, sub := range r.sync {
			s.runSync(sub, evs[i:j])
		}
		for _, sub := range r.async {
			s.enqueue(sub, evs[i:j])
		}
		i = j
	}
}

// runSync calls a sync subscription's handler for each event of run, in
// order. sub.mu makes calls one at a time across shards (a wildcard or
// keyed subscription receives events from several shard workers) and lets
// Unsubscribe wait for a call in flight.
func (s *shard) runSync(sub *subscription, run []slot) {
	if !sub.active.Load() {
		return
	}
	life := sub.lifeCtx()
	sub.mu.Lock()
	for i := 0; i < len(run); {
		i = s.callRange(sub, life, run, i)
	}
	sub.mu.Unlock()
}

// callRange calls the handler for run[start:], stopping after a panic,
// which it records; it returns the index to continue from.
func (s *shard) callRange(sub *subscription, life context.Context, run []slot, start int) (next int) {
	bs := &s.bs
	i := start
	defer func() {
		if r := recover(); r != nil {
			bs.delivered++
			bs.failed++
			bs.panics++
			err := &bus.PanicError{Value: r, Stack: debug.Stack()}
			s.reportFailure(sub, life, &run[i], err)
			next = i + 1
		}
	}()
	for ; i < len(run); i++ {
		if !sub.active.Load() || s.run.abandoned.Load() {
			bs.skipped += uint64(len(run) - i)
			return len(run)
		}
		sl := &run[i]
		ctx := bus.HandlerContext(sl.ctx, life)
		ev := sl.ev
		ev.CreatedAt = bs.stamp(&ev)
		if bs.obs != nil && bs.obs.msg != nil {
			bs.obs.msg.MessageReceived(ctx, ev, sub.id)
		}
		if err := sub.handler(ctx, ev); err != nil {
			bs.failed++
			if bs.obs != nil {
				bs.obs.o.MessageFailed(ctx, ev, sub.id, err)
			}
		}
		bs.delivered++
	}
	return len(run)
}

func (s *shard) reportFailure(sub *subscription, life context.Context, sl *slot, err error) {
	if s.bs.obs == nil {
		return
	}
	ev := sl.ev
	ev.CreatedAt = s.bs.stamp(&ev)
	s.bs.obs.o.MessageFailed(bus.HandlerContext(sl.ctx, life), ev, sub.id, err)
}

// enqueue queues one pool job per event of run for an async subscription,
// waiting while the pool's queue is full (lossless) unless the run is
// abandoned.
func (s *shard) enqueue(sub *subscription, run []slot) {
	bs := &s.bs
	q := s.run.pool.q
	for i := range run {
		if !sub.active.Load() {
			bs.skipped += uint64(len(run) - i)
			return
		}
		j := asyncJob{sub: sub, ctx: run[i].ctx, ev: run[i].ev}
		j.ev.CreatedAt = bs.stamp(&j.ev)
		select {
		case q <- j:
			bs.enqueued++
		default:
			select {
			case q <- j:
				bs.enqueued++
			case <-s.run.abandonCh:
				bs.skipped += uint64(len(run) - i)
				return
			}
		}
	}
}
