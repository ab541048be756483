package redis

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/broker"
)

// acker batches XACKs for every subscription of one run.
//
// Protocol: handlers (or, in manual mode, user code) call enqueue, which
// hands the (stream, group, id) to the acker goroutine under a read lock
// of closeMu. The goroutine groups ids per (stream, group) and sends one
// pipeline of XACKs when AckBatch ids are waiting or AckFlushInterval
// passed since the oldest unsent one. A failed flush keeps the ids and is
// retried with backoff (an ack lost to a Redis restart would otherwise
// turn into a redelivery). stop takes closeMu exclusively (no enqueue is
// in flight afterwards), then the goroutine drains the channel, flushes,
// and exits. So an ack accepted by enqueue is sent unless Redis stays
// unreachable until Stop's deadline, in which case the entry stays
// pending and is redelivered: at-least-once, never lost.
type acker struct {
	b  *EventBus
	rs *runState

	in      chan ackReq
	flushRq chan chan struct{}
	quit    chan struct{}
	done    chan struct{}

	closeMu sync.RWMutex
	closed  bool
	// stopCtx bounds the final flush; set before quit is closed.
	stopCtx context.Context
}

type ackReq struct {
	stream, group, id string
	// run, when set, tracks the entry until its XACK is sent (see
	// subRun.tracked): the claim loop must not take over an entry whose
	// ack is merely queued.
	run *subRun
}

type ackKey struct{ stream, group string }

func newAcker(b *EventBus, rs *runState) *acker {
	return &acker{b: b, rs: rs, in: make(chan ackReq, 4*b.cfg.AckBatch), flushRq: make(chan chan struct{}),
		quit: make(chan struct{}), done: make(chan struct{})}
}

func (a *acker) start() {
	a.rs.wg.Add(1)
	go func() {
		defer a.rs.wg.Done()
		defer close(a.done)
		a.loop()
	}()
}

// enqueue queues one ack; run (may be nil) is told once it was sent. It
// fails only after stop.
func (a *acker) enqueue(stream, group, id string, run *subRun) error {
	a.closeMu.RLock()
	defer a.closeMu.RUnlock()
	if a.closed {
		return fmt.Errorf("ack %s %s after Stop (it will be redelivered): %w", stream, id, errStopped)
	}
	a.in <- ackReq{stream, group, id, run}
	return nil
}

// flush sends every queued ack and returns when done (or ctx ends).
func (a *acker) flush(ctx context.Context) {
	ch := make(chan struct{})
	select {
	case a.flushRq <- ch:
	case <-a.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// stop flushes and ends the acker. ctx, capped at finalAckBound, bounds
// the retries of a failing final flush: with Redis unreachable, Stop must
// still return (the unsent acks' entries are redelivered later).
func (a *acker) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, finalAckBound)
	defer cancel()
	a.closeMu.Lock()
	a.closed = true
	a.stopCtx = ctx
	a.closeMu.Unlock()
	close(a.quit)
	<-a.done
}

const finalAckBound = 5 * time.Second

func (a *acker) loop() {
	pending := map[ackKey][]string{}
	var notify []ackReq // sent acks whose run wants to know
	count := 0
	interval := a.b.cfg.AckFlushInterval.Std()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	backoff := broker.Backoff{Base: 50 * time.Millisecond, Max: 2 * time.Second}
	add := func(r ackReq) {
		k := ackKey{r.stream, r.group}
		pending[k] = append(pending[k], r.id)
		if r.run != nil {
			notify = append(notify, r)
		}
		count++
	}
	drainIn := func() {
		for {
			select {
			case r := <-a.in:
				add(r)
			default:
				return
			}
		}
	}
	send := func() bool {
		if count == 0 {
			return true
		}
		if err := a.send(context.Background(), pending); err != nil {
			a.b.errs.Report(broker.ScopeAck, err)
			return false
		}
		clear(pending)
		count = 0
		for _, r := range notify {
			r.run.untrack(r.stream, r.id)
		}
		clear(notify)
		notify = notify[:0]
		backoff.Reset()
		return true
	}
	for {
		select {
		case r := <-a.in:
			add(r)
			// Take what else is queued without waiting.
		drain:
			for count < a.b.cfg.AckBatch {
				select {
				case r := <-a.in:
					add(r)
				default:
					break drain
				}
			}
			if count >= a.b.cfg.AckBatch {
				if !send() {
					a.sleep(backoff.Next())
				}
			} else if !armed {
				timer.Reset(interval)
				armed = true
			}
		case <-timer.C:
			armed = false
			if !send() {
				timer.Reset(backoff.Next())
				armed = true
			}
		case ch := <-a.flushRq:
			// Everything enqueued before the flush request is in the
			// channel or in pending: take the channel's share too.
			drainIn()
			for !send() {
				if !a.sleep(backoff.Next()) {
					break
				}
			}
			close(ch)
		case <-a.quit:
			drainIn()
			for !send() {
				select {
				case <-a.stopCtx.Done():
					a.b.errs.Report(broker.ScopeAck, fmt.Errorf("stop: %d acks not sent; those entries will be redelivered", count))
					return
				case <-time.After(backoff.Next()):
				}
			}
			return
		}
	}
}

// sleep waits d, or until the acker is told to quit (false).
func (a *acker) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-a.quit:
		return false
	}
}

// send XACKs everything pending in one pipeline, AckBatch ids per command.
// It runs under context.Background: go-redis socket timeouts bound each
// attempt, and a cancelled handler context must not lose acks.
func (a *acker) send(ctx context.Context, pending map[ackKey][]string) error {
	pipe := a.rs.client.Pipeline()
	for k, ids := range pending {
		for len(ids) > 0 {
			n := min(len(ids), a.b.cfg.AckBatch)
			pipe.XAck(ctx, k.stream, k.group, ids[:n]...)
			ids = ids[n:]
		}
	}
	cmds, err := pipe.Exec(ctx)
	if err != nil {
		for _, c := range cmds {
			// The group is gone (unsubscribed, or Redis lost it): nothing
			// left to acknowledge there.
			if c.Err() != nil && !isNoGroup(c.Err()) {
				return fmt.Errorf("XACK: %w", c.Err())
			}
		}
	}
	return nil
}
