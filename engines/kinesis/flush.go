package kinesis

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
)

var _ bus.Flusher = (*EventBus)(nil)

// Flush is a delivery barrier for this engine's subscriptions: it returns
// once every event whose Publish returned before the call was handled by
// every subscription of this engine (and its handler returned), or ctx's
// error.
//
// It first waits until the producer has written (or failed and reported)
// every record queued before the call, which matters with asyncPublish:
// there Publish returns before the record is sent. With no subscription,
// that is all Flush does. Then it writes a marker record into each open
// shard (as Subscribe does) and waits until each subscription's reader of
// that shard has settled the marker, so every record before it. A shard of a shared
// (applicationName) consumer that another process holds is that process's
// to flush and is not waited for. In manual-ack mode an event counts once
// acked. Flush on a stopped bus returns nil: nothing is being delivered.
func (b *EventBus) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.mu.Lock()
	if !b.started {
		b.mu.Unlock()
		return nil
	}
	subs := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	// Records of async publishes may still wait in the producer: the
	// markers below must come after them.
	if p := b.producer.Load(); p != nil {
		if err := p.barrier(ctx); err != nil {
			return fmt.Errorf("kinesis: flush: waiting for queued records: %w", err)
		}
	}
	if len(subs) == 0 {
		return nil
	}
	marks, err := b.startPositions(ctx)
	if err != nil {
		return fmt.Errorf("kinesis: flush: %w", err)
	}
	pending := subs
	var lastLeases time.Time
	leases := map[*subscription]map[string]string{}
	for {
		var still []*subscription
		for _, s := range pending {
			if !b.flushed(ctx, s, marks, leases, time.Since(lastLeases) > 50*time.Millisecond) {
				still = append(still, s)
			}
		}
		if len(still) == 0 {
			// Every record before the markers is settled; in on-receive
			// mode that happens before its handler runs, so wait for the
			// handler calls that began before now as well.
			for _, s := range subs {
				if err := s.handling.Wait(ctx, time.Millisecond); err != nil {
					return fmt.Errorf("kinesis: flush: %w", err)
				}
			}
			return nil
		}
		if time.Since(lastLeases) > 50*time.Millisecond {
			lastLeases = time.Now()
		}
		pending = still
		t := time.NewTimer(2 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("kinesis: flush: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// flushed reports whether s settled every marker (or no longer runs).
func (b *EventBus) flushed(ctx context.Context, s *subscription, marks map[string]string, leases map[*subscription]map[string]string, refresh bool) bool {
	s.mu.Lock()
	c := s.run
	removed := s.removed
	s.mu.Unlock()
	if c == nil || removed {
		return true
	}
	for shard, mark := range marks {
		if mark == checkpoint.ShardEnd {
			continue
		}
		c.mu.Lock()
		r := c.readers[shard]
		c.mu.Unlock()
		if r != nil {
			if wm, _ := r.tracker.position(); compareSeq(wm, mark) < 0 {
				return false
			}
			continue
		}
		if s.anon {
			return false // not leased yet
		}
		if refresh || leases[s] == nil {
			if l, err := b.checkpoints().Leases(ctx, s.key); err == nil {
				leases[s] = l
			}
		}
		if o, ok := leases[s][shard]; !ok || o == c.owner {
			return false
		}
	}
	return true
}

// compareSeq compares two Kinesis sequence numbers (decimal strings of
// up to 128 bits): "" is before everything.
func compareSeq(a, b string) int {
	switch {
	case len(a) != len(b):
		if len(a) < len(b) {
			return -1
		}
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
