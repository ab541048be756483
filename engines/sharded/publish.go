package sharded

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// errSealed is returned internally when a ring was sealed under a
// publisher: by a resize (retry on the new set) or by Stop.
var errSealed = fmt.Errorf("ring sealed")

// Publish queues the event on its shard's ring and returns; the shard's
// worker hands it to every matching subscription. The shard is chosen by
// the partition key (bus.EventKey): Metadata["partitionKey"], else the key
// set with bus.WithPartitionKey on ctx, else the topic; one key's events
// are delivered in publish order.
//
// When the ring is full, Config.Backpressure decides: "block" waits for
// room until ctx is done (the error then wraps ctx.Err()); "timeout" waits
// up to PublishBlockTimeout, "drop-newest" not at all, and both then return
// an error wrapping bus.ErrEventDropped; "drop-oldest" evicts the shard's
// oldest queued event and accepts this one. Every refusal and eviction is
// counted.
//
// ctx's values reach the handlers (enginekit.HandlerContext), its cancellation
// does not. A nil error means the event will be delivered (or, in
// drop-oldest mode, delivered or counted as evicted). Publish returns
// bus.ErrEventBusNotStarted while the engine is stopped, and
// bus.ErrEmptyTopic or bus.ErrWildcardPublish for a bad topic. The hot
// path takes no lock and does not allocate.
func (b *EventBus) Publish(ctx context.Context, event bus.Event) error {
	if err := enginekit.ValidatePublishTopic(event.Topic); err != nil {
		return fmt.Errorf("sharded engine: %w", err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if b.cfg.StampAtPublish && event.CreatedAt.IsZero() {
		event.CreatedAt = time.Now()
	}
	var last *shardSet
	for {
		set := b.set.Load()
		if set == nil || set == last {
			return bus.ErrEventBusNotStarted
		}
		s := set.pick(ctx, &event)
		if pos, got, _ := s.tryClaim(1); got == 1 {
			s.write(pos, ctx, &event)
			s.signal()
			return nil
		}
		err := s.publishSlow(ctx, &event)
		if err != errSealed {
			return err
		}
		last = set
	}
}

// publishSlow handles a full (or sealed) ring according to the
// backpressure mode.
func (s *shard) publishSlow(ctx context.Context, e *bus.Event) error {
	var w waiter
	defer w.stop()
	for {
		pos, got, sealed := s.tryClaim(1)
		if got == 1 {
			s.write(pos, ctx, e)
			s.signal()
			return nil
		}
		if sealed {
			return errSealed
		}
		if err := s.onFull(ctx, &w, 1, e.Topic); err != nil {
			s.eng.stats.topics.Counters(e.Topic).Dropped.Add(1)
			return err
		}
	}
}

// onFull applies the backpressure mode to a publisher that found no room
// for n events: it returns nil when the publisher should try again, or
// the error that refuses the n events (counted in Metrics; the caller
// counts them per topic).
func (s *shard) onFull(ctx context.Context, w *waiter, n uint64, topic string) error {
	cfg := &s.eng.cfg
	switch cfg.Backpressure {
	case BackpressureDropOldest:
		s.evictOne()
		return nil
	case BackpressureDropNewest:
		s.rejected.Add(n)
		return fmt.Errorf("sharded engine: publish %q: shard %d full: %w", topic, s.id, bus.ErrEventDropped)
	case BackpressureTimeout:
		if !w.armed {
			w.arm(cfg.PublishBlockTimeout.Std())
		}
		if w.expired {
			s.rejected.Add(n)
			return fmt.Errorf("sharded engine: publish %q: shard %d full for %v: %w", topic, s.id, cfg.PublishBlockTimeout.Std(), bus.ErrEventDropped)
		}
	}
	if err := s.waitRoom(ctx, w); err != nil {
		s.rejected.Add(n)
		return fmt.Errorf("sharded engine: publish %q: waiting for room in shard %d: %w", topic, s.id, err)
	}
	return nil
}

// waiter is a publisher's state while it waits for room.
type waiter struct {
	spins   int
	since   time.Time // first yield
	armed   bool
	expired bool
	timer   *time.Timer
}

// roomSpin is how long a publisher facing a full ring yields the
// processor before it parks. The worker frees a whole batch at a time;
// parking costs the worker a wake-up (lock, channel close, futex) per
// batch, so a publisher that keeps up should not park.
const roomSpin = 50 * time.Microsecond

func (w *waiter) arm(d time.Duration) {
	w.armed = true
	if d <= 0 {
		w.expired = true
		return
	}
	w.timer = time.NewTimer(d)
}

func (w *waiter) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// waitRoom returns when the ring may have room or was sealed (nil), or
// with ctx's error. For roomSpin it only yields the processor, which is
// enough when the worker is about to free a batch; then it parks until
// the worker frees slots.
func (s *shard) waitRoom(ctx context.Context, w *waiter) error {
	if w.spins == 0 {
		w.since = time.Now()
	}
	if w.spins++; w.spins%32 != 0 || time.Since(w.since) < roomSpin {
		runtime.Gosched()
		return nil
	}
	var timeout <-chan time.Time
	if w.timer != nil {
		timeout = w.timer.C
	}
	s.progress.waiters.Add(1)
	defer s.progress.waiters.Add(-1)
	ch := s.progress.channel()
	if s.hasRoom() {
		return nil
	}
	select {
	case <-ch:
	case <-timeout:
		w.expired = true
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// evictOne (drop-oldest) drops the oldest queued event if the ring is
// still full. It holds readMu, so the worker is not copying that slot out.
// It only tries the lock: when the worker holds it, the worker is about
// to free a batch, and when another producer holds it, that one is making
// room; either way the caller retries its claim. Queueing on the lock
// instead lets many publishers of a full ring starve the worker.
func (s *shard) evictOne() {
	if !s.readMu.TryLock() {
		runtime.Gosched()
		return
	}
	defer s.readMu.Unlock()
	if topic, ok := s.ring.evict(); ok {
		tc := s.eng.stats.topics.Counters(topic)
		tc.Published.Add(1)
		tc.Dropped.Add(1)
		s.evicted.Add(1)
	}
}

// PublishBatch publishes events as Publish does, claiming ring space once
// per shard (per contiguous chunk when the ring has less room than the
// batch) instead of once per event. Events of one partition key keep their
// order within the batch. Topics are validated first; if one is invalid
// nothing is published.
//
// It returns how many events were accepted. On a refusal (full ring in a
// dropping mode, ctx done while blocked, the engine stopped) it keeps
// publishing the events of other shards and returns the count with an
// error wrapping the first cause. The accepted events of a shard are
// always exactly a prefix of that shard's share of the batch (in batch
// order), also across Stop, Start and Resize; so when every event of the
// batch has one partition key (or there is one shard), the accepted events
// are events[:n] and a retry of events[n:] neither loses nor duplicates.
func (b *EventBus) PublishBatch(ctx context.Context, events []bus.Event) (int, error) {
	for i := range events {
		if err := enginekit.ValidatePublishTopic(events[i].Topic); err != nil {
			return 0, fmt.Errorf("sharded engine: batch event %d: %w", i, err)
		}
	}
	if len(events) == 0 {
		return 0, nil
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var now time.Time
	if b.cfg.StampAtPublish {
		now = time.Now()
	}
	set := b.set.Load()
	if set == nil {
		return 0, bus.ErrEventBusNotStarted
	}
	if set.n == 1 {
		n, err := set.shards[0].publishRun(ctx, events, nil, now)
		if err == errSealed {
			m, err := b.publishEach(ctx, events[n:], nil)
			return n + m, err
		}
		return n, err
	}
	// Group by shard with a stable counting sort of the indices.
	sc := scratchPool.Get().(*scratch)
	defer scratchPool.Put(sc)
	sc.idx = slices.Grow(sc.idx[:0], len(events))[:len(events)]
	sc.order = slices.Grow(sc.order[:0], len(events))[:len(events)]
	sc.starts = slices.Grow(sc.starts[:0], int(set.n)+1)[:int(set.n)+1]
	sc.fill = slices.Grow(sc.fill[:0], int(set.n)+1)[:int(set.n)+1]
	idx, order, starts, fill := sc.idx, sc.order, sc.starts, sc.fill
	clear(starts)
	for i := range events {
		k := set.index(ctx, &events[i])
		idx[i] = k
		starts[k+1]++
	}
	for k := 1; k < len(starts); k++ {
		starts[k] += starts[k-1]
	}
	copy(fill, starts)
	for i, k := range idx {
		order[fill[k]] = int32(i)
		fill[k]++
	}
	accepted := 0
	var firstErr error
	for k := 0; k < int(set.n); k++ {
		group := order[starts[k]:starts[k+1]]
		if len(group) == 0 {
			continue
		}
		n, err := set.shards[k].publishRun(ctx, events, group, now)
		accepted += n
		if err == errSealed {
			var m int
			m, err = b.publishEach(ctx, events, group[n:])
			accepted += m
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return accepted, firstErr
}

// scratch is PublishBatch's reusable grouping space.
type scratch struct {
	idx, order, starts, fill []int32
}

var scratchPool = sync.Pool{New: func() any { return &scratch{} }}

// publishEach publishes events (or events[group[i]]) one by one with
// Publish; used for the rest of a batch whose ring was sealed by a resize
// or a Stop. It stops at the first refusal, so that what it accepted is a
// prefix: it returns how many were accepted and the refusal.
func (b *EventBus) publishEach(ctx context.Context, events []bus.Event, group []int32) (int, error) {
	if group == nil {
		for i := range events {
			if err := b.Publish(ctx, events[i]); err != nil {
				return i, err
			}
		}
		return len(events), nil
	}
	for n, i := range group {
		if err := b.Publish(ctx, events[i]); err != nil {
			return n, err
		}
	}
	return len(group), nil
}

// publishRun publishes events (all of them, or events[group[i]] in order
// when group is non-nil) on this shard, claiming as many slots at a time
// as the ring has room for. It returns how many were accepted.
func (s *shard) publishRun(ctx context.Context, events []bus.Event, group []int32, now time.Time) (int, error) {
	total := len(events)
	if group != nil {
		total = len(group)
	}
	at := func(i int) *bus.Event {
		if group != nil {
			return &events[group[i]]
		}
		return &events[i]
	}
	var w waiter
	defer w.stop()
	done := 0
	for done < total {
		pos, got, sealed := s.tryClaim(uint64(total - done))
		if got > 0 {
			base := done
			s.writeRun(pos, int(got), ctx, func(k int) *bus.Event { return at(base + k) }, now)
			s.signal()
			done += int(got)
			continue
		}
		if sealed {
			return done, errSealed
		}
		if err := s.onFull(ctx, &w, uint64(total-done), at(done).Topic); err != nil {
			for k := done; k < total; k++ {
				s.eng.stats.topics.Counters(at(k).Topic).Dropped.Add(1)
			}
			return done, err
		}
	}
	return done, nil
}
