package sharded

import (
	"context"
	"fmt"
)

// Flush is a delivery barrier: it returns nil once every event whose
// Publish returned before the call has been handed to its handlers — sync
// handlers have returned, async handlers have returned too — or counted as
// dropped. With no publishes since, Metrics then shows
// EventsDispatched + Dropped == Ingested.
//
// It blocks until then or until ctx is done (the error wraps ctx.Err()).
// It does not stop publishers; events published during the call may or
// may not be waited for. During a Stop it waits for the drain; on a
// stopped engine it returns nil at once (Stop delivered or counted
// everything). Safe for concurrent use; must
// not be called from a sync handler (it would wait for itself).
func (b *EventBus) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	set := b.set.Load()
	if set == nil {
		b.mu.Lock()
		r := b.run // non-nil while a Stop is draining
		b.mu.Unlock()
		if r == nil {
			return nil
		}
		select {
		case <-r.drained:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("sharded engine: flush during stop: %w", ctx.Err())
		}
	}
	targets := make([]uint64, len(set.shards))
	for i, s := range set.shards {
		targets[i], _ = s.finalTail()
	}
	if set.release != nil { // a resize is in progress: the previous set first
		select {
		case <-set.release:
		case <-ctx.Done():
			return fmt.Errorf("sharded engine: flush: %w", ctx.Err())
		case <-set.run.abandonCh:
		}
	}
	for i, s := range set.shards {
		if err := s.waitDone(ctx, targets[i]); err != nil {
			return fmt.Errorf("sharded engine: flush: shard %d: %w", s.id, err)
		}
	}
	if err := set.run.pool.waitIdle(ctx); err != nil {
		return fmt.Errorf("sharded engine: flush: async handlers: %w", err)
	}
	return nil
}
