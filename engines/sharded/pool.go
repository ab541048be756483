package sharded

import (
	"context"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// asyncJob is one event for one async subscription.
type asyncJob struct {
	sub *subscription
	tc  *bus.TopicCounters // the event's TopicStats counters
	ctx context.Context
	ev  bus.Event
}

// pool runs SubscribeAsync handlers on AsyncWorkers goroutines fed by a
// bounded queue. Shard workers are its only senders; Stop closes the queue
// once every shard worker has exited, and the pool workers exit when it is
// drained.
type pool struct {
	q         chan asyncJob
	wg        sync.WaitGroup
	run       *runState
	eng       *EventBus
	enqueued  atomic.Uint64 // jobs queued by shard workers (this run)
	_         padding
	completed atomic.Uint64 // jobs finished, handled or skipped (this run)
	progress  notifier
}

func newPool(b *EventBus, r *runState) *pool {
	p := &pool{q: make(chan asyncJob, b.cfg.AsyncQueueSize), run: r, eng: b}
	for i := 0; i < b.cfg.AsyncWorkers; i++ {
		p.wg.Add(1)
		go p.work()
	}
	return p
}

func (p *pool) work() {
	goexited := false
	defer func() {
		if goexited {
			// A handler called runtime.Goexit: this goroutine ends, a
			// replacement takes its place (and its WaitGroup count).
			go p.work()
			return
		}
		p.wg.Done()
	}()
	for j := range p.q {
		p.handle(&j, &goexited)
		p.completed.Add(1)
		p.progress.broadcast()
	}
}

// handle runs one job. If the handler calls runtime.Goexit, the deferred
// function records the call as a failed, panicking one
// (bus.ErrHandlerGoexit), completes the job and sets *goexited so that
// work starts a replacement worker.
func (p *pool) handle(j *asyncJob, goexited *bool) {
	sub := j.sub
	sub.inflight.Add(1)
	t := &p.eng.async
	var (
		returned bool
		ctx      context.Context
		obs      *bus.Observers
		start    time.Duration
	)
	defer func() {
		sub.inflight.Add(-1)
		if returned {
			return
		}
		t.latency.Observe(mono() - start)
		t.delivered.Add(1)
		t.failed.Add(1)
		t.panics.Add(1)
		j.tc.Delivered.Add(1)
		j.tc.Failed.Add(1)
		if obs != nil {
			obs.Observer.MessageFailed(ctx, j.ev, sub.id, bus.GoexitError())
		}
		*goexited = true
		p.completed.Add(1)
		p.progress.broadcast()
	}()
	if !sub.active.Load() || p.run.abandoned.Load() {
		returned = true
		t.skipped.Add(1)
		j.tc.Dropped.Add(1)
		return
	}
	ctx = handlerCtx(j.ctx, sub.lifeCtx())
	obs = p.eng.observer.Load()
	if obs != nil && obs.Message != nil {
		obs.Message.MessageReceived(ctx, j.ev, sub.id)
	}
	start = mono()
	err := callAsync(sub.handler, ctx, j.ev)
	returned = true
	t.latency.Observe(mono() - start)
	if bus.IsFiltered(err) {
		// The subscription's filter rejected the event
		// (bus.FilteredHandler): neither a delivery nor a failure.
		t.filtered.Add(1)
		return
	}
	t.delivered.Add(1)
	j.tc.Delivered.Add(1)
	if err != nil {
		t.failed.Add(1)
		j.tc.Failed.Add(1)
		if _, ok := err.(*bus.PanicError); ok {
			t.panics.Add(1)
		}
		if obs != nil {
			obs.Observer.MessageFailed(ctx, j.ev, sub.id, err)
		}
	}
}

func callAsync(h bus.EventHandler, ctx context.Context, e bus.Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &bus.PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return h(ctx, e)
}

// waitIdle blocks until every job queued before the call has completed.
func (p *pool) waitIdle(ctx context.Context) error {
	target := p.enqueued.Load()
	for p.completed.Load() < target {
		p.progress.waiters.Add(1)
		ch := p.progress.channel()
		if p.completed.Load() >= target {
			p.progress.waiters.Add(-1)
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			p.progress.waiters.Add(-1)
			return ctx.Err()
		case <-p.run.abandonCh:
			p.progress.waiters.Add(-1)
			return bus.ErrEventBusShutdownTimeout
		}
		p.progress.waiters.Add(-1)
	}
	return nil
}
