package sharded

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// shard is one ring and the state of the worker that drains it. Fields are
// grouped by the goroutines that write them, each group on its own cache
// lines (see the protocol comment in ring.go).
type shard struct {
	_ padding
	// Written by producers on every publish.
	tail      atomic.Uint64 // next position to claim | sealedBit
	headCache atomic.Uint64 // producers' last view of head
	_         padding
	// Written by the worker once per batch.
	head       atomic.Uint64        // positions < head are free for producers
	done       atomic.Uint64        // positions < done are dispatched or dropped
	dispatched atomic.Uint64        // events handed to the subscriptions
	batches    atomic.Uint64        // batches dispatched
	delivered  atomic.Uint64        // sync handler calls that returned
	failed     atomic.Uint64        // sync handler calls that failed or panicked
	panics     atomic.Uint64        // sync handler calls that panicked
	skipped    atomic.Uint64        // handler calls not made (see Metrics.Skipped)
	latency    bus.LatencyHistogram // sync handler calls, timed per run (latency.go)
	_          padding
	// Written by the worker when it parks; read by producers after every
	// publish.
	sleeping atomic.Uint32
	_        padding
	// Written rarely: slow paths and lifecycle.
	rejected atomic.Uint64 // refused by backpressure (drop-newest, timeout, ctx)
	evicted  atomic.Uint64 // evicted by drop-oldest
	stranded atomic.Uint64 // left in the ring by an expired Stop
	closing  atomic.Bool   // sealed or abandoned: the worker must look
	exited   atomic.Bool   // the worker returned
	succ     atomic.Pointer[shardSet]
	progress notifier   // head/done advanced, or the ring was sealed
	readMu   sync.Mutex // drop-oldest only: consumer copy-out vs eviction
	_        padding

	// Read-only after construction.
	id       int
	slots    []slot
	exts     atomic.Pointer[[]slotExt] // parallel to slots, allocated on first use; see extBit
	mask     uint64
	size     uint64
	batchMax int
	copyOut  bool // drop-oldest: take batches under readMu and clear their slots
	wake     chan struct{}
	eng      *EventBus
	run      *runState
	set      *shardSet

	// Owned by the worker goroutine.
	cache routeCache
	bs    batchState
	// goexited is set by callRange when a sync handler called
	// runtime.Goexit: the worker goroutine is ending and must hand the
	// shard to a replacement (workerExit).
	goexited bool
}

func newShard(b *EventBus, r *runState, set *shardSet, id int) *shard {
	size := uint64(b.cfg.RingSize)
	s := &shard{
		id:       id,
		slots:    make([]slot, size),
		mask:     size - 1,
		size:     size,
		batchMax: b.cfg.BatchMaxEvents,
		copyOut:  b.cfg.Backpressure == BackpressureDropOldest,
		wake:     make(chan struct{}, 1),
		eng:      b,
		run:      r,
		set:      set,
	}
	s.bs.evs = make([]bus.Event, s.batchMax)
	s.bs.ctxs = make([]context.Context, s.batchMax)
	s.cache.m = map[string]*resolved{}
	s.cache.topics = &b.stats.topics
	return s
}

// shardSet is the routing of one shard topology: events hash onto
// shards[h % n]. A resize installs a new set whose workers hold until every
// shard of the previous set has drained (release), so that no key's events
// are reordered when the key moves to another shard.
type shardSet struct {
	shards  []*shard
	n       uint64
	seed    maphash.Seed
	release chan struct{} // nil, or closed when the previous set drained
	pending atomic.Int64  // previous-set shards still draining
	run     *runState
}

// pick returns the shard of an event: by its partition key (bus.EventKey)
// when there is more than one shard.
func (ss *shardSet) pick(ctx context.Context, e *bus.Event) *shard {
	if ss.n == 1 {
		return ss.shards[0]
	}
	return ss.shards[ss.index(ctx, e)]
}

// index returns the position in shards of the event's shard.
func (ss *shardSet) index(ctx context.Context, e *bus.Event) int32 {
	if ss.n == 1 {
		return 0
	}
	return int32(maphash.String(ss.seed, bus.EventKey(ctx, *e)) % ss.n)
}

// tryClaim claims up to want (>= 1) consecutive positions for which there
// is room. got == 0 means the ring is full (sealed == false) or sealed.
//
// Room is tail - head < size. head is the worker's line, so producers
// first try headCache, an older head value: headCache <= head, so room
// computed from it is never more than the real room. headCache only moves
// forward (CAS), and no subtraction is made unless its operands are in
// order, since a producer's tail may be stale.
func (s *shard) tryClaim(want uint64) (pos, got uint64, sealed bool) {
	for {
		t := s.tail.Load()
		if t&sealedBit != 0 {
			return 0, 0, true
		}
		hc := s.headCache.Load()
		var free uint64
		if hc <= t && t-hc+want <= s.size {
			free = s.size - (t - hc)
		} else {
			h := s.head.Load()
			if h > t {
				continue // t is stale
			}
			if h > hc {
				s.headCache.CompareAndSwap(hc, h)
			}
			if t-h >= s.size {
				// Full when head was read: tail only grows.
				return 0, 0, false
			}
			free = s.size - (t - h)
		}
		got = min(want, free)
		if s.tail.CompareAndSwap(t, t+got) {
			return t, got, false
		}
	}
}

// hasRoom reports whether the ring has a free slot or is sealed; used by
// waiters after registering. head is read before tail so that t >= h.
func (s *shard) hasRoom() bool {
	h := s.head.Load()
	t := s.tail.Load()
	return t&sealedBit != 0 || t-h < s.size
}

// write fills the claimed position pos and publishes it.
func (s *shard) write(pos uint64, ctx context.Context, e *bus.Event) {
	i := pos & s.mask
	sl := &s.slots[i]
	sl.topic, sl.payload, sl.metadata, sl.ctx = e.Topic, e.Payload, e.Metadata, ctx
	seq := pos + 1
	if hasExt(e) {
		x := &s.ext()[i]
		x.createdAt, x.started, x.completed = e.CreatedAt, e.ProcessingStarted, e.ProcessingCompleted
		seq |= extBit
	}
	sl.seq.Store(seq)
}

// writeRun fills n claimed positions from pos with events at(0..n-1) and
// publishes them. The payloads are written first and the sequences after:
// a sequence store is a full barrier that waits for the slot's cache line,
// so storing each one right after its payload would serialize the line
// transfers; this way they overlap and the barriers find their lines
// already owned.
func (s *shard) writeRun(pos uint64, n int, ctx context.Context, at func(int) *bus.Event, now time.Time) {
	for k := 0; k < n; k++ {
		e := at(k)
		i := (pos + uint64(k)) & s.mask
		sl := &s.slots[i]
		sl.topic, sl.payload, sl.metadata, sl.ctx = e.Topic, e.Payload, e.Metadata, ctx
		if hasExt(e) || !now.IsZero() {
			x := &s.ext()[i]
			x.createdAt, x.started, x.completed = e.CreatedAt, e.ProcessingStarted, e.ProcessingCompleted
			if x.createdAt.IsZero() {
				x.createdAt = now
			}
		}
	}
	for k := 0; k < n; k++ {
		seq := pos + uint64(k) + 1
		if e := at(k); hasExt(e) || !now.IsZero() {
			seq |= extBit
		}
		s.slots[(pos+uint64(k))&s.mask].seq.Store(seq)
	}
}

// ext returns the ext array, allocating it on first use (by a producer:
// the worker only reads it for slots with extBit, published after it).
func (s *shard) ext() []slotExt {
	if p := s.exts.Load(); p != nil {
		return *p
	}
	x := make([]slotExt, s.size)
	if !s.exts.CompareAndSwap(nil, &x) {
		return *s.exts.Load()
	}
	return x
}

// signal wakes the worker if it parked. Called after write.
func (s *shard) signal() {
	if s.sleeping.Load() != 0 && s.sleeping.CompareAndSwap(1, 0) {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// kick makes the worker look at its state (seal, abandon) even if parked,
// and wakes everyone waiting on progress.
func (s *shard) kick() {
	s.closing.Store(true)
	s.sleeping.Store(0)
	select {
	case s.wake <- struct{}{}:
	default:
	}
	s.progress.force()
}

// seal refuses further claims; positions already claimed are still
// delivered. It returns the final tail.
func (s *shard) seal() uint64 {
	t := s.tail.Or(sealedBit) &^ sealedBit
	s.kick()
	return t
}

// finalTail returns the tail and whether the ring is sealed.
func (s *shard) finalTail() (uint64, bool) {
	t := s.tail.Load()
	return t &^ sealedBit, t&sealedBit != 0
}

// waitDone blocks until done >= target, ctx is done or the run is
// abandoned.
func (s *shard) waitDone(ctx context.Context, target uint64) error {
	for s.done.Load() < target {
		s.progress.waiters.Add(1)
		ch := s.progress.channel()
		if s.done.Load() >= target {
			s.progress.waiters.Add(-1)
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.progress.waiters.Add(-1)
			return ctx.Err()
		case <-s.run.abandonCh:
			s.progress.waiters.Add(-1)
			return bus.ErrEventBusShutdownTimeout
		}
		s.progress.waiters.Add(-1)
	}
	return nil
}

// depth returns the number of accepted events not yet dispatched or
// dropped.
func (s *shard) depth() uint64 {
	t, _ := s.finalTail()
	d := s.done.Load()
	if t < d {
		return 0
	}
	return t - d
}
