package redis

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// EventBus is the Redis Streams engine. Create it with NewEventBus or New;
// the zero value is not usable. All methods are safe for concurrent use.
//
// Lifecycle: the bus is created stopped. Start connects (and fails with an
// error wrapping ErrUnreachable when Redis does not answer). Stop refuses
// new publishes, flushes queued ones, stops reading, waits for running
// handlers, flushes their acknowledgements and closes the connections.
// Subscriptions survive Stop: Start resumes them, first re-reading the
// entries they had read but not acknowledged. A clean Stop leaves no
// private consumer group behind (see Stop).
type EventBus struct {
	cfg   Config
	codec *brokerkit.Codec
	// dlqCodec encodes dead letters without the payload limit: an
	// oversized entry's dead letter drops the payload instead.
	dlqCodec *brokerkit.Codec

	counters   brokerkit.Counters
	errs       broker.Errors
	dispatcher *brokerkit.Dispatcher

	// lifeMu serializes Start and Stop.
	lifeMu sync.Mutex
	// mu guards subs, topics and run transitions. It is never held
	// across a network call or while waiting for handlers.
	mu     sync.Mutex
	subs   map[string]*subscription
	topics enginekit.TopicRegistry // subscriptions per pattern
	// run is the current Start..Stop period; nil while stopped. Publish
	// reads it under gate.
	run atomic.Pointer[runState]
	// gate: every Publish holds it shared while it uses run; Stop takes it
	// exclusively after clearing run, so no publish is in flight when the
	// pipelines are flushed and the client closed.
	gate sync.RWMutex

	// known holds topics this engine has published to, so that the first
	// publish to a new topic wakes the wildcard discovery at once.
	known sync.Map

	// staleGroupsRemoved counts the private groups of dead processes the
	// reaper destroyed (StaleGroupsRemoved).
	staleGroupsRemoved atomic.Uint64

	trimCounters // TrimmedEntries
}

// runState is what one Start creates and its Stop tears down.
type runState struct {
	client *goredis.Client
	// life is the handlers' context: cancelled only when a Stop deadline
	// expires.
	life   context.Context
	cancel context.CancelFunc
	quit   chan struct{} // closed when Stop begins
	pub    *publisher
	acks   *acker
	disc   *discovery
	reap   *reaper
	trim   *trimmer
	wg     sync.WaitGroup // publisher, acker and discovery goroutines
}

var (
	_ bus.EventBus            = (*EventBus)(nil)
	_ bus.EngineStatsProvider = (*EventBus)(nil)
	_ bus.TopicStatsProvider  = (*EventBus)(nil)
	_ bus.StatsProvider       = (*EventBus)(nil)
	_ bus.Observable          = (*EventBus)(nil)
)

// New is the factory registered as engine type "redis": it decodes config
// (the engine's config map, plus the module-level shared keys) with
// enginekit.DecodeConfig and returns a stopped engine. externalBrokerURL,
// externalBrokerUser and externalBrokerPassword are used when url,
// username and password are not set.
func New(config map[string]any) (bus.EventBus, error) {
	var cfg Config
	if err := enginekit.DecodeConfig(config, &cfg); err != nil {
		return nil, fmt.Errorf("redis engine: %w: %w", ErrInvalidConfig, err)
	}
	fallback := func(dst *string, key string) {
		if s, ok := config[key].(string); ok && *dst == "" {
			*dst = s
		}
	}
	fallback(&cfg.URL, "externalBrokerURL")
	fallback(&cfg.Username, "externalBrokerUser")
	fallback(&cfg.Password, "externalBrokerPassword")
	return NewEventBus(cfg)
}

// NewEventBus returns a stopped engine configured by cfg (zero fields take
// their defaults). It does not connect: Start does.
func NewEventBus(cfg Config) (*EventBus, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("redis engine: %w", err)
	}
	cfg.setDefaults()
	b := &EventBus{
		cfg:   cfg,
		codec: brokerkit.NewCodec(cfg.Options),
		subs:  map[string]*subscription{},
	}
	dlq := cfg.Options
	dlq.MaxPayloadBytes = -1
	b.dlqCodec = brokerkit.NewCodec(dlq)
	b.errs.Engine = "redis"
	b.dispatcher = brokerkit.NewDispatcher(cfg.Options, &b.counters, &b.errs)
	return b, nil
}

// Config returns the engine's configuration with defaults applied.
func (b *EventBus) Config() Config { return b.cfg }

// SetObserver installs the bus observer (topic lifecycle, handler
// failures and, for a bus.MessageObserver, every delivery). Safe at any
// time; nil removes it.
func (b *EventBus) SetObserver(o bus.Observer) { b.dispatcher.SetObserver(o) }

// SetErrorObserver installs the observer of background errors (read,
// reclaim, ack, publish, discovery, decode). Without one they are logged
// with log/slog. Either way they are counted (BackgroundErrors).
func (b *EventBus) SetErrorObserver(o broker.ErrorObserver) { b.errs.SetObserver(o) }

// StaleGroupsRemoved returns how many private consumer groups of dead
// processes this engine has destroyed (Config.StaleGroupTimeout).
func (b *EventBus) StaleGroupsRemoved() uint64 { return b.staleGroupsRemoved.Load() }

// BackgroundErrors returns how many background errors were reported under
// scope ("" for all scopes).
func (b *EventBus) BackgroundErrors(scope broker.Scope) uint64 {
	if scope == "" {
		return b.errs.Total()
	}
	return b.errs.Count(scope)
}

// Start connects to Redis and starts the publish pipelines, the ack
// flusher, wildcard discovery and every subscription's readers. It returns
// an error wrapping ErrUnreachable when Redis does not answer PING within
// ctx (or 5s). Calling Start on a started bus is a no-op.
func (b *EventBus) Start(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	if b.run.Load() != nil {
		return nil
	}
	opt, err := b.cfg.redisOptions()
	if err != nil {
		return fmt.Errorf("redis engine: %w", err)
	}
	client := goredis.NewClient(opt)
	pctx, cancelPing := context.WithTimeout(ctx, 5*time.Second)
	err = client.Ping(pctx).Err()
	cancelPing()
	if err != nil {
		_ = client.Close()
		return fmt.Errorf("redis engine: start: %w at %s: %s", ErrUnreachable, brokerkit.RedactURL(b.cfg.URL), b.cfg.scrub(err.Error()))
	}
	life, cancel := context.WithCancel(context.Background())
	rs := &runState{client: client, life: life, cancel: cancel, quit: make(chan struct{})}
	rs.pub = newPublisher(b, rs)
	rs.acks = newAcker(b, rs)
	rs.disc = newDiscovery(b, rs)
	rs.reap = newReaper(b, rs)
	rs.trim = newTrimmer(b, rs)
	rs.pub.start()
	rs.acks.start()
	rs.disc.start()
	rs.reap.start()
	rs.trim.start()

	b.mu.Lock()
	b.run.Store(rs)
	for _, s := range b.subs {
		s.start(rs)
	}
	b.mu.Unlock()
	return nil
}

// Stop refuses new publishes, flushes queued publishes, stops every
// subscription's reading, waits for running handlers, flushes pending
// acknowledgements and closes the connections. Entries read but not
// handled stay pending in Redis and are delivered after the next Start
// (or to another consumer of a shared group after ClaimTimeout). A clean
// Stop then removes each subscription's private consumer group from
// Redis, remembering where it stood, so that the next Start of this bus
// resumes it exactly; from a shared group it removes only the
// subscription's consumer, when that holds no pending entry.
//
// If ctx expires first, handler contexts are cancelled, a line is logged
// (log/slog) and bus.ErrEventBusShutdownTimeout itself is returned (==
// holds); nothing accepted is
// lost (unacknowledged entries stay in Redis). Calling Stop on a stopped
// bus is a no-op.
func (b *EventBus) Stop(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	b.mu.Lock()
	rs := b.run.Load()
	if rs == nil {
		b.mu.Unlock()
		return nil
	}
	b.run.Store(nil)
	close(rs.quit)
	subs := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()

	// No publish holds the gate once we own it: every accepted publish is
	// queued, and the pipelines flush the queue before they exit.
	b.gate.Lock()
	//lint:ignore SA2001 empty on purpose: taking the lock waits for the publishes in flight
	b.gate.Unlock()

	var timedOut bool
	for _, s := range subs {
		if !s.stop(ctx, rs) {
			timedOut = true
		}
	}
	if timedOut {
		rs.cancel() // handlers see their context cancelled
		grace, cancelGrace := context.WithTimeout(context.Background(), time.Second)
		for _, s := range subs {
			s.stop(grace, rs)
		}
		cancelGrace()
	}
	rs.pub.stop()
	rs.disc.stop()
	rs.reap.stop()
	rs.trim.stop()
	rs.acks.stop(ctx)
	rs.wg.Wait()
	if !timedOut {
		b.releaseGroups(ctx, rs, subs)
	}
	rs.cancel()
	_ = rs.client.Close()
	if timedOut {
		slog.Warn("redis engine: stop timed out: unacknowledged entries stay pending in Redis and are delivered after the next Start")
		return bus.ErrEventBusShutdownTimeout
	}
	return nil
}

// Stats returns delivered (handler calls that returned) and dropped
// (exhausted events without a dead-letter topic, failed async publishes)
// counts. It implements bus.StatsProvider.
func (b *EventBus) Stats() (delivered, dropped uint64) {
	return b.counters.Delivered.Load(), b.counters.Dropped.Load()
}

// EngineStats implements bus.EngineStatsProvider. QueueDepth is the number
// of entries this engine's consumer groups have not acknowledged yet:
// pending ones (read, being handled or waiting for their XACK) plus those
// not read yet; Lag is the latter alone. Both are as of the last claim
// scan (every ClaimInterval), from XINFO GROUPS.
func (b *EventBus) EngineStats() bus.EngineStats {
	s := b.counters.EngineStats()
	b.mu.Lock()
	for _, sub := range b.subs {
		lag := sub.lag.Load()
		s.QueueDepth += sub.pending.Load() + lag
		s.Lag += lag
	}
	b.mu.Unlock()
	return s
}

// TopicStats returns the figures per published topic
// (bus.TopicStatsProvider): Published, Delivered, Failed and Dropped, for
// at most bus.DefaultTopicLimit topics, the rest under bus.OtherTopic.
func (b *EventBus) TopicStats() map[string]bus.TopicStats { return b.counters.TopicStats() }

// errNotRunning returns bus.ErrEventBusNotStarted itself, whatever the
// refused call: upstream's callers compare it with ==.
func errNotRunning(string) error { return bus.ErrEventBusNotStarted }

var errStopped = errors.New("redis engine stopped")
