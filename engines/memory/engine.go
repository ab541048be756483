package memory

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// Engine states.
const (
	stateStopped int32 = iota
	stateRunning
	stateStopping
)

// EventBus is the memory engine. Create it with NewEventBus or New; the
// zero value is not usable. All methods are safe for concurrent use.
type EventBus struct {
	cfg Config

	// lifeMu serializes Start and Stop (held while Stop drains).
	lifeMu sync.Mutex
	// mu guards subs, topics, run and state changes; it is never held
	// while waiting for handlers, so handlers may (un)subscribe freely.
	mu     sync.Mutex
	subs   map[string]*subscription
	topics enginekit.TopicRegistry
	// snapshot is a copy-on-write list of subs read by Publish without
	// locking.
	snapshot atomic.Pointer[[]*subscription]

	state atomic.Int32
	// gate: every Publish holds it shared for its whole duration; Stop
	// takes it exclusively to wait until no publish is in flight, so no
	// event can slip into a queue after the drain began.
	gate sync.RWMutex

	run *runState // the current Start..Stop period, nil while stopped

	rotation atomic.Uint64
	observer enginekit.ObserverSlot
	stats    counters
}

// runState is what one Start creates and its Stop tears down.
type runState struct {
	life      context.Context // handlers' context; cancelled if Stop times out
	cancel    context.CancelFunc
	stop      chan struct{} // closed by Stop: drain queues, then exit
	pool      chan job      // async work
	subsWG    sync.WaitGroup
	poolWG    sync.WaitGroup
	abandon   atomic.Bool   // set when Stop's deadline expired: drop, don't deliver
	abandonCh chan struct{} // closed with abandon
}

type job struct {
	sub *subscription
	env envelope
}

type envelope struct {
	ctx   context.Context
	ev    bus.Event
	topic *enginekit.TopicCounters // looked up once per publish
}

// New is the engine factory registered as type "memory": it decodes the
// engine's config map (see Config for keys; unknown keys are an error) and
// returns a stopped engine. Every config error wraps ErrInvalidConfig.
func New(config map[string]any) (bus.EventBus, error) {
	var cfg Config
	if err := enginekit.DecodeConfig(config, &cfg); err != nil {
		return nil, fmt.Errorf("memory engine: %w", invalidConfig(err))
	}
	return NewEventBus(cfg)
}

// NewEventBus returns a stopped engine configured by cfg (zero fields take
// their defaults). An invalid cfg is an error wrapping ErrInvalidConfig
// that names the field and value.
func NewEventBus(cfg Config) (*EventBus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("memory engine: %w", err)
	}
	cfg.setDefaults()
	b := &EventBus{cfg: cfg, subs: map[string]*subscription{}}
	b.stats.topics.Limit = cfg.TopicLimit
	b.snapshot.Store(&[]*subscription{})
	return b, nil
}

// Config returns the engine's effective configuration (defaults applied).
func (b *EventBus) Config() Config { return b.cfg }

// SetObserver installs the observer that hears about topics, failures and,
// if it implements bus.MessageObserver, every delivery. Safe at any time.
func (b *EventBus) SetObserver(o bus.Observer) {
	b.observer.Set(o)
}

// Start launches the delivery goroutines of every subscription and the
// async worker pool. Starting a running engine is a no-op.
func (b *EventBus) Start(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state.Load() != stateStopped {
		return nil
	}
	life, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &runState{life: life, cancel: cancel, stop: make(chan struct{}), abandonCh: make(chan struct{}), pool: make(chan job, b.cfg.MaxEventQueueSize)}
	for i := 0; i < b.cfg.WorkerCount; i++ {
		r.poolWG.Add(1)
		go b.poolWorker(r)
	}
	for _, s := range b.subs {
		s.launch(r)
	}
	b.run = r
	b.state.Store(stateRunning)
	return nil
}

// Stop refuses new publishes, delivers every queued event, waits for
// running handlers and stops the goroutines. If ctx expires first, the
// handlers' context is cancelled, the events still queued are counted as
// dropped, LossyShutdown is set, the cause is logged (log/slog) and
// bus.ErrEventBusShutdownTimeout itself is returned (== holds). Subscriptions survive and
// resume on the next Start. Stopping a stopped engine is a no-op.
func (b *EventBus) Stop(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	b.mu.Lock()
	if b.state.Load() != stateRunning {
		b.mu.Unlock()
		return nil
	}
	b.state.Store(stateStopping)
	r := b.run
	b.mu.Unlock()

	b.gate.Lock() // waits for publishes in flight (they can progress: workers still run)
	//lint:ignore SA2001 empty on purpose: taking the lock waits for the publishes in flight
	b.gate.Unlock()
	close(r.stop)
	done := make(chan struct{})
	go func() {
		r.subsWG.Wait() // delivery goroutines drained their queues into handlers / the pool
		close(r.pool)
		r.poolWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		r.abandon.Store(true)
		close(r.abandonCh)
		r.cancel()
		b.stats.lossy.Store(true)
		// The events still queued are dropped now, counted: a handler
		// that ignores its cancelled ctx must not deliver them after a
		// later Start.
		b.mu.Lock()
		subs := make([]*subscription, 0, len(b.subs))
		for _, s := range b.subs {
			subs = append(subs, s)
		}
		b.mu.Unlock()
		for _, s := range subs {
			s.dropQueued()
		}
		slog.Warn("memory engine: stop timed out: the events still queued are counted as dropped", "cause", ctx.Err())
		err = bus.ErrEventBusShutdownTimeout
	}
	r.cancel()
	b.mu.Lock()
	b.run = nil
	b.state.Store(stateStopped)
	b.mu.Unlock()
	return err
}

// Subscribe registers a handler called in publish order on the
// subscription's own goroutine.
func (b *EventBus) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return b.subscribe(topic, handler, false)
}

// SubscribeAsync registers a handler run on the shared worker pool.
func (b *EventBus) SubscribeAsync(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return b.subscribe(topic, handler, true)
}

func (b *EventBus) subscribe(topic string, handler bus.EventHandler, async bool) (bus.Subscription, error) {
	if err := enginekit.ValidateSubscription(topic, handler); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.state.Load() != stateRunning {
		b.mu.Unlock()
		return nil, bus.ErrEventBusNotStarted
	}
	s := newSubscription(b, topic, handler, async, b.cfg.DefaultEventBufferSize)
	b.subs[s.id] = s
	first := b.topics.Add(topic)
	b.publishSnapshotLocked()
	s.launch(b.run)
	b.mu.Unlock()
	if first {
		b.observer.TopicCreated(topic)
	}
	return s, nil
}

// Unsubscribe removes the subscription at once: no handler call starts
// after it returns. Events still queued for it are counted as dropped. It
// waits up to Config.UnsubscribeWait (or ctx) for a handler call in
// flight — unless ctx is the subscription's own handler context (a
// handler unsubscribing itself; Cancel never waits). A nil ctx is
// context.Background(). Unsubscribing twice, or after Stop, returns nil; a
// subscription of another engine is refused with
// bus.ErrInvalidSubscriptionType itself (== holds). Subscribe,
// SubscribeAsync and Publish return bus.ErrEventBusNotStarted and
// bus.ErrEventHandlerNil bare as well.
func (b *EventBus) Unsubscribe(ctx context.Context, sub bus.Subscription) error {
	s, ok := sub.(*subscription)
	if !ok || s == nil || s.bus != b {
		return bus.ErrInvalidSubscriptionType
	}
	return s.unsubscribe(ctx, true)
}

// remove takes s out of the engine's tables; it reports whether s was
// still registered.
func (b *EventBus) remove(s *subscription) bool {
	b.mu.Lock()
	if _, ok := b.subs[s.id]; !ok {
		b.mu.Unlock()
		return false
	}
	delete(b.subs, s.id)
	last := b.topics.Remove(s.topic)
	b.publishSnapshotLocked()
	b.mu.Unlock()
	if last {
		b.observer.TopicDeleted(s.topic)
	}
	return true
}

func (b *EventBus) publishSnapshotLocked() {
	list := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		list = append(list, s)
	}
	// A stable order (by creation) keeps delivery order deterministic
	// when rotation is off.
	slices.SortFunc(list, func(x, y *subscription) int { return int(x.seq - y.seq) })
	b.snapshot.Store(&list)
}

// Topics returns the subscribed topic patterns, sorted.
func (b *EventBus) Topics() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Topics()
}

// SubscriberCount returns the number of subscriptions on exactly this
// topic pattern.
func (b *EventBus) SubscriberCount(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Count(topic)
}
