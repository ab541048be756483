package sharded

import (
	"context"
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
)

// Resize changes the number of shards to n while publishers keep
// publishing. It installs a new set of n rings at once (new publishes go
// there) and seals the old ones; the old workers deliver everything they
// hold, and only then do the new workers start delivering. So no accepted
// event is lost and no partition key's events are reordered, even when a
// key moves to another shard; during the switch, delivery of new events
// waits for the old rings to drain (publishers wait only if the new rings
// fill up meanwhile).
//
// Resize returns once the old rings have drained, or with ctx's error if
// ctx ends first — the switch then still completes in the background.
// On a stopped engine it only sets the count used by the next Start. n must
// be between 1 and MaxShards (else ErrInvalidShardCount).
func (b *EventBus) Resize(ctx context.Context, n int) error {
	return b.resize(ctx, func(int) int { return n })
}

// AddShards adds k shards (see Resize).
func (b *EventBus) AddShards(ctx context.Context, k int) error {
	return b.resize(ctx, func(cur int) int { return cur + k })
}

// RemoveShards removes k shards: their rings are drained into the
// handlers, then unrouted (see Resize). At least one shard must remain.
func (b *EventBus) RemoveShards(ctx context.Context, k int) error {
	return b.resize(ctx, func(cur int) int { return cur - k })
}

// ShardCount returns the current number of shards (the count the next
// Start uses while stopped).
func (b *EventBus) ShardCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.shardCount
}

// resize switches to target(current count) shards.
func (b *EventBus) resize(ctx context.Context, target func(cur int) int) error {
	_, _, err := b.resizeSets(ctx, target)
	return err
}

// resizeSets is resize, also returning the replaced and the new shard
// sets when a switch happened (nil, nil otherwise). target runs with
// b.lifeMu and b.mu held.
func (b *EventBus) resizeSets(ctx context.Context, target func(cur int) int) (old, next *shardSet, err error) {
	b.lifeMu.Lock()
	b.mu.Lock()
	n := target(b.shardCount)
	if n < 1 || n > MaxShards {
		b.mu.Unlock()
		b.lifeMu.Unlock()
		return nil, nil, fmt.Errorf("sharded engine: resize to %d shards (allowed 1..%d): %w", n, MaxShards, ErrInvalidShardCount)
	}
	r := b.run
	if r == nil || n == b.shardCount {
		b.shardCount = n
		b.mu.Unlock()
		b.lifeMu.Unlock()
		return nil, nil, nil
	}
	old = b.set.Load()
	next = b.newSetLocked(r, n, old)
	b.set.Store(next)
	b.shardCount = n
	b.mu.Unlock()
	for _, s := range old.shards {
		s.seal()
	}
	b.lifeMu.Unlock()
	if ctx == nil {
		ctx = context.Background()
	}
	select {
	case <-next.release:
		return old, next, nil
	case <-r.abandonCh:
		return old, next, fmt.Errorf("sharded engine: resize: %w", bus.ErrEventBusShutdownTimeout)
	case <-ctx.Done():
		return old, next, fmt.Errorf("sharded engine: resize to %d shards: still draining the old rings: %w", n, ctx.Err())
	}
}
