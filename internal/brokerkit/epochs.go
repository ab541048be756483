package brokerkit

import (
	"context"
	"sync/atomic"
	"time"
)

// Epochs counts operations in progress (handler calls, asynchronous
// publishes) by epoch, so that a barrier can wait for the operations
// begun before it without waiting for those begun after it: under a
// steady stream, a count of everything in progress may never reach zero.
//
// Begin counts an operation in the current epoch; End of the returned
// *Epoch ends it. Cut starts a new epoch and returns the one it closed:
// every operation whose Begin returned before the Cut is counted in that
// epoch or an earlier one, and Settled reports when all of those ended.
// The zero value is ready to use; all methods are safe for concurrent
// use and allocation-free except Cut.
type Epochs struct {
	current atomic.Pointer[Epoch]
}

// Epoch is one epoch of an Epochs.
type Epoch struct {
	pending atomic.Int64
	// prev is the epoch before, until a Settled call saw it and every one
	// before it settled (then nil, so the chain does not grow).
	prev atomic.Pointer[Epoch]
}

func (e *Epochs) load() *Epoch {
	for {
		if ep := e.current.Load(); ep != nil {
			return ep
		}
		e.current.CompareAndSwap(nil, &Epoch{})
	}
}

// Begin counts one operation in the current epoch and returns the epoch;
// call End on it exactly once when the operation is over.
func (e *Epochs) Begin() *Epoch {
	ep := e.load()
	ep.pending.Add(1)
	return ep
}

// End ends one operation counted by Begin.
func (ep *Epoch) End() { ep.pending.Add(-1) }

// Cut starts a new epoch and returns the one it closed.
func (e *Epochs) Cut() *Epoch {
	next := &Epoch{}
	for {
		old := e.load()
		next.prev.Store(old)
		if e.current.CompareAndSwap(old, next) {
			return old
		}
	}
}

// Settled reports whether ep and every epoch before it have no operation
// in progress; once they have none, it unlinks the earlier ones.
func (ep *Epoch) Settled() bool {
	for x := ep; x != nil; x = x.prev.Load() {
		if x.pending.Load() > 0 {
			return false
		}
	}
	ep.prev.Store(nil)
	return true
}

// Wait cuts an epoch and waits, polling every poll, until every operation
// begun before the call ended, or ctx ends (its error is returned).
func (e *Epochs) Wait(ctx context.Context, poll time.Duration) error {
	ep := e.Cut()
	if ep.Settled() {
		return nil
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			if ep.Settled() {
				return nil
			}
		}
	}
}
