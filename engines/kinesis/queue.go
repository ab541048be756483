package kinesis

import (
	"context"
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
)

// The producer's queue: publishers hand records over the in channel
// (enqueue, then wait for a synchronous outcome), Flush sends a barrier
// the same way, and run moves both into its backlog (pull, admit),
// numbering records so that a barrier knows when every record before it
// is done.

// enqueue hands r to the producer, waiting for buffer space up to ctx. It
// returns bus.ErrEventBusNotStarted once the producer is closing.
func (p *producer) enqueue(ctx context.Context, r *record) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return bus.ErrEventBusNotStarted
	}
	select {
	case p.in <- r:
		return nil
	default:
	}
	select {
	case p.in <- r:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kinesis: publish buffer full: %w", ctx.Err())
	case <-p.closing:
		return bus.ErrEventBusNotStarted
	}
}

// wait waits for a synchronous record's outcome.
func (p *producer) wait(ctx context.Context, r *record) error {
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
	}
	if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
		return fmt.Errorf("kinesis: record not written: %w", ctx.Err())
	}
	select {
	case err := <-r.done: // completed meanwhile
		return err
	default:
	}
	return fmt.Errorf("%w: %w (it was in a PutRecords call)", ErrPublishUnknown, ctx.Err())
}

// barrier waits until every record handed to the producer before the
// call (in particular every record of an async Publish that returned) is
// done: written, or failed and reported. It returns ctx's error if ctx
// ends first, and nil at once when the producer has stopped (Stop sent or
// failed everything it held).
func (p *producer) barrier(ctx context.Context) error {
	b := &record{barrier: make(chan struct{})}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil
	}
	select {
	case p.in <- b:
	case <-ctx.Done():
		p.mu.RUnlock()
		return ctx.Err()
	case <-p.closing:
		p.mu.RUnlock()
		return nil
	}
	p.mu.RUnlock()
	select {
	case <-b.barrier:
		return nil
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take moves r from in into the backlog, or registers it as a barrier.
// It reports whether r is an event (added to the backlog).
func (p *producer) take(r *record) bool {
	if r.barrier != nil {
		p.barriers = append(p.barriers, pendingBarrier{target: p.nextSeq, done: r.barrier})
		return false
	}
	r.seq = p.nextSeq
	p.nextSeq++
	return true
}

// releaseBarriers closes the barriers whose records are all done: no
// record in backlog or in a PutRecords call is numbered below their
// target.
func (p *producer) releaseBarriers(backlog []*record) {
	if len(p.barriers) == 0 {
		return
	}
	low := p.nextSeq
	for _, r := range backlog {
		if r.seq < low && r.state.Load() != stateAbandoned {
			low = r.seq
		}
	}
	for _, s := range p.sending {
		low = min(low, s)
	}
	n := 0
	for n < len(p.barriers) && p.barriers[n].target <= low {
		close(p.barriers[n].done)
		n++
	}
	p.barriers = p.barriers[n:]
}

// admit takes r from in: an event joins the back of the backlog, a
// barrier is registered.
func (p *producer) admit(r *record) {
	if p.take(r) {
		p.backlog = append(p.backlog, r)
		p.bytes += r.size
	}
}

// backlogFull reports whether run holds enough records to work on, so
// that it leaves the rest in in (publishers then wait on the buffer).
func (p *producer) backlogFull() bool {
	cfg := p.b.cfg
	return len(p.backlog) >= 4*cfg.BatchMaxRecords*cfg.MaxInFlightBatches
}

// pull admits what is already queued on in, without waiting, until the
// backlog is full.
func (p *producer) pull() {
	for !p.backlogFull() {
		select {
		case r := <-p.in:
			p.admit(r)
		default:
			return
		}
	}
}
