package sharded

import (
	"context"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// EventBus is the sharded ring engine. Create it with NewEventBus or New;
// the zero value is not usable. All methods are safe for concurrent use.
//
// Lifecycle: created stopped. Start starts one worker per shard and the
// async pool; Stop refuses new publishes, delivers everything accepted and
// stops every goroutine. Subscriptions survive Stop and resume on the next
// Start.
type EventBus struct {
	cfg  Config
	seed maphash.Seed

	// set is the current shard topology; nil while stopped. Publish reads
	// it without locking.
	set atomic.Pointer[shardSet]
	// routes is the current subscription snapshot, read by workers.
	routes atomic.Pointer[routeTable]

	// lifeMu serializes Start, Stop and Resize for their whole duration
	// (a Stop waiting for the drain included).
	lifeMu sync.Mutex
	// mu guards the fields below; it is never held while waiting for
	// handlers, so handlers may Subscribe and Unsubscribe at any time.
	mu         sync.Mutex
	run        *runState
	subs       map[string]*subscription
	retired    []*subscription   // removed with events queued (see retireLocked)
	topics     bus.TopicRegistry // subscriptions per pattern (Topics, SubscriberCount)
	nextSeq    uint64
	shardCount int
	nextShard  int

	observer bus.ObserverSlot
	stats    engineStats
	async    asyncStats
	// replay holds the shards' replay logs for Poll; nil when
	// Config.RetainEvents is 0 (retain.go).
	replay *replayRegistry
}

// runState is what one Start creates and its Stop tears down.
type runState struct {
	life      context.Context // handlers' context: cancelled when Stop gives up
	cancel    context.CancelFunc
	abandoned atomic.Bool   // Stop's ctx expired: drop instead of delivering
	abandonCh chan struct{} // closed with abandoned
	drained   chan struct{} // closed when Stop saw every worker and the pool exit
	workers   sync.WaitGroup
	pool      *pool
	shards    []*shard // every shard created in this run (guarded by EventBus.mu)
}

// New is the engine factory registered as type "sharded": it decodes the
// engine's config map (see Config for keys; unknown keys are an error) and
// returns a stopped engine.
func New(config map[string]any) (bus.EventBus, error) {
	var cfg Config
	if err := bus.DecodeConfig(config, &cfg); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return NewEventBus(cfg)
}

// NewEventBus returns a stopped engine configured by cfg (zero fields
// take their defaults). An invalid cfg is an error wrapping
// ErrInvalidConfig that names the field and value.
func NewEventBus(cfg Config) (*EventBus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	b := &EventBus{
		cfg:        cfg,
		seed:       maphash.MakeSeed(),
		subs:       map[string]*subscription{},
		shardCount: cfg.Shards,
	}
	b.routes.Store(buildRoutes(nil, nil))
	b.stats.live = map[*shard]struct{}{}
	b.stats.topics.Limit = cfg.TopicLimit
	if cfg.RetainEvents > 0 {
		b.replay = newReplayRegistry(cfg.RetainEvents)
	}
	return b, nil
}

// Config returns the engine's effective configuration (defaults applied).
// Config.Shards is the configured count; ShardCount reports the current
// one.
func (b *EventBus) Config() Config { return b.cfg }

// SetObserver installs the observer that hears about topics, failures and,
// if it implements bus.MessageObserver, every handler call. It takes
// effect from the next batch; nil removes it. When none is installed the
// delivery path costs one nil check per batch.
func (b *EventBus) SetObserver(o bus.Observer) { b.observer.Set(o) }

// Start starts one worker per shard and the async pool; existing
// subscriptions resume. ctx's values (not its cancellation) become the
// handlers' fallback context. Starting a running engine is a no-op.
func (b *EventBus) Start(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.run != nil {
		return nil
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &runState{life: life, cancel: cancel, abandonCh: make(chan struct{}), drained: make(chan struct{})}
	r.pool = newPool(b, r)
	for _, s := range b.subs {
		s.setLife(life)
	}
	b.run = r
	b.set.Store(b.newSetLocked(r, b.shardCount, nil))
	return nil
}

// Stop refuses new publishes (Publish returns bus.ErrEventBusNotStarted,
// including publishers blocked on a full ring), lets every worker drain its
// ring into the handlers, waits for the async pool to finish and returns;
// every goroutine of the engine has exited by then.
//
// If ctx expires first, Stop cancels the handlers' context, stops
// delivering, counts every event still queued as dropped (Metrics.Stranded),
// sets the lossy-shutdown flag, logs the count (log/slog) and returns
// bus.ErrEventBusShutdownTimeout itself (== holds; the count is also in
// Metrics.Stranded). It waits up to
// Config.StopGrace more for the workers to exit; a handler that ignores its
// context can keep its worker alive past that, which the log line reports.
//
// Subscriptions survive. Stopping a stopped engine is a no-op.
func (b *EventBus) Stop(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	b.mu.Lock()
	r := b.run
	if r == nil {
		b.mu.Unlock()
		return nil
	}
	set := b.set.Swap(nil)
	shards := slices.Clone(r.shards)
	b.mu.Unlock()
	if set != nil {
		for _, s := range set.shards {
			s.seal()
		}
	}
	finished := r.drained
	go func() {
		r.workers.Wait()
		close(r.pool.q)
		r.pool.wg.Wait()
		close(finished)
	}()
	var err error
	select {
	case <-finished:
	case <-ctx.Done():
		r.abandoned.Store(true)
		close(r.abandonCh)
		r.cancel()
		for _, s := range shards {
			s.kick()
		}
		r.pool.progress.force()
		grace := time.NewTimer(b.cfg.StopGrace.Std())
		stuck := ""
		select {
		case <-finished:
		case <-grace.C:
			stuck = " (some handlers ignored cancellation and still run; their workers exit when they return)"
		}
		grace.Stop()
		b.stats.lossy.Store(true)
		var stranded uint64
		for _, s := range shards {
			stranded += s.stranded.Load()
		}
		slog.Warn("sharded engine: stop timed out: queued events counted as dropped"+stuck, "dropped", stranded, "cause", ctx.Err())
		err = bus.ErrEventBusShutdownTimeout
	}
	r.cancel()
	b.mu.Lock()
	b.run = nil
	if b.retired != nil { // every queued event was delivered, skipped or stranded
		b.retired = nil
		b.routes.Store(buildRoutes(b.subs, nil))
	}
	b.mu.Unlock()
	return err
}

// newSetLocked creates n shards for run r and starts their workers; with
// a previous set prev, the workers hold until every shard of prev has
// drained. b.lifeMu and b.mu must be held.
func (b *EventBus) newSetLocked(r *runState, n int, prev *shardSet) *shardSet {
	set := &shardSet{shards: make([]*shard, n), n: uint64(n), seed: b.seed, run: r}
	if prev != nil {
		set.release = make(chan struct{})
		set.pending.Store(int64(len(prev.shards)))
	}
	for i := range set.shards {
		set.shards[i] = newShard(b, r, set, b.nextShard)
		b.nextShard++
	}
	b.stats.register(set.shards)
	if b.replay != nil {
		b.replay.rotate(set.shards)
	}
	r.shards = slices.DeleteFunc(r.shards, func(s *shard) bool { return s.exited.Load() })
	r.shards = append(r.shards, set.shards...)
	if prev != nil {
		for _, s := range prev.shards {
			s.succ.Store(set)
		}
	}
	for _, s := range set.shards {
		r.workers.Add(1)
		go s.work()
	}
	return set
}
