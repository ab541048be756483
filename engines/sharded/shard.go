package sharded

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// shard is one ring and the state of the worker that drains it. Fields are
// grouped by the goroutines that write them, each group on its own cache
// lines (see the protocol comment in ring.go).
type shard struct {
	// The ring (ring.go). It ends with head and done, the first fields
	// of the group the worker writes once per batch, which the counters
	// below continue on the same lines: the layout is that of the fields
	// written out here before the ring was a type (TestShardLayout).
	ring
	dispatched atomic.Uint64              // events handed to the subscriptions
	batches    atomic.Uint64              // batches dispatched
	delivered  atomic.Uint64              // sync handler calls that returned
	failed     atomic.Uint64              // sync handler calls that failed or panicked
	panics     atomic.Uint64              // sync handler calls that panicked
	skipped    atomic.Uint64              // handler calls not made (see Metrics.Skipped)
	latency    enginekit.LatencyHistogram // sync handler calls, timed per run (latency.go)
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
	batchMax int
	copyOut  bool // drop-oldest: take batches under readMu and clear their slots
	wake     chan struct{}
	eng      *EventBus
	run      *runState
	set      *shardSet
	retain   *replayLog // nil unless Config.RetainEvents > 0 (retain.go)

	// Owned by the worker goroutine.
	cache routeCache
	bs    batchState
	// goexited is set by callRange when a sync handler called
	// runtime.Goexit: the worker goroutine is ending and must hand the
	// shard to a replacement (workerExit).
	goexited bool

	// Utilization clock (metrics.go): written by the worker when it
	// starts and when it enters or leaves idle, never per event; read by
	// ShardMetrics and the scaling monitor.
	clock idleClock

	// filtered counts the sync handler calls a subscription's filter
	// rejected (bus.FilteredHandler). Written by the worker at the end of
	// a batch that had any, read by EngineStats: kept off the lines
	// producers read after every publish.
	filtered atomic.Uint64
}

func newShard(b *EventBus, r *runState, set *shardSet, id int) *shard {
	s := &shard{
		id:       id,
		batchMax: b.cfg.BatchMaxEvents,
		copyOut:  b.cfg.Backpressure == BackpressureDropOldest,
		wake:     make(chan struct{}, 1),
		eng:      b,
		run:      r,
		set:      set,
	}
	s.ring.init(uint64(b.cfg.RingSize))
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

// seal refuses further claims (ring.seal) and makes the worker look;
// positions already claimed are still delivered. It returns the final
// tail.
func (s *shard) seal() uint64 {
	t := s.ring.seal()
	s.kick()
	return t
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
