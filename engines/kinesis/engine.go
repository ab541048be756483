package kinesis

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// EventBus is the Kinesis engine: every topic shares one stream, events
// travel as CloudEvents in structured JSON mode, Publish batches records
// into PutRecords calls, and each subscription reads every shard with
// GetRecords from its last checkpoint. See the package documentation for
// the guarantees.
//
// All methods are safe for concurrent use. A bus is created stopped;
// Stop then Start again resumes every subscription from its checkpoints.
type EventBus struct {
	cfg        Config
	client     *kinesis.Client
	httpc      *http.Client
	codec      *brokerkit.Codec
	dispatcher *brokerkit.Dispatcher
	counters   brokerkit.Counters
	errs       broker.Errors
	prodStats  producerCounters
	readCalls  atomic.Uint64 // GetRecords calls made

	// store holds the checkpoint store (read with checkpoints()). With
	// checkpointStore "redis" the engine owns its client: Start opens it
	// (with a new store on it) and Stop closes it, so a stopped engine
	// holds no connection and no go-redis goroutine.
	store     atomic.Pointer[storeRef]
	redisOpts *goredis.Options // the owned Redis store's connection; nil otherwise
	redisConn *goredis.Client  // its client while running

	// lifeMu serializes Start and Stop; mu guards started, subs, topics,
	// appSlots and the per-run fields, and is never held while waiting
	// for handlers (a handler may Subscribe or Unsubscribe).
	lifeMu   sync.Mutex
	mu       sync.Mutex
	started  bool
	subs     map[string]*subscription
	topics   enginekit.TopicRegistry // subscriptions per pattern
	appSlots map[string]map[int]bool // applicationName mode: pattern → slots in use
	life     context.Context         // handler contexts' parent, cancelled when Stop's ctx expires
	cancel   context.CancelFunc
	syncQuit chan struct{} // stops the shard syncer
	syncDone chan struct{}

	stopping sync.WaitGroup // Unsubscribe's background stops, awaited by Stop

	producer atomic.Pointer[producer]
	shards   atomic.Pointer[shardSet]
	shardMu  sync.Mutex
	reads    *readLimiter
}

var (
	_ bus.EventBus            = (*EventBus)(nil)
	_ bus.EngineStatsProvider = (*EventBus)(nil)
	_ bus.TopicStatsProvider  = (*EventBus)(nil)
	_ bus.StatsProvider       = (*EventBus)(nil)
	_ bus.Observable          = (*EventBus)(nil)
)

// Option customizes NewEventBus beyond what a config map can say.
type Option func(*EventBus)

// WithCheckpointStore makes the engine use store for checkpoints and
// leases instead of the one Config.CheckpointStore names (for example one
// Memory store shared by several engines of a process).
func WithCheckpointStore(store checkpoint.Store) Option {
	return func(b *EventBus) {
		if store != nil {
			b.store.Store(&storeRef{store})
		}
	}
}

// New is the factory of engine type "kinesis": it decodes an engine config
// map (the keys of Config; the module-level shared keys are accepted, and
// externalBrokerURL is the endpoint fallback) and returns a stopped
// engine. It does not contact AWS: a missing stream or a bad endpoint is
// reported by Start.
func New(config map[string]any) (bus.EventBus, error) {
	c, err := decodeConfig(config)
	if err != nil {
		return nil, err
	}
	return NewEventBus(c)
}

// NewEventBus returns a stopped engine for c (defaults applied, then
// validated: an invalid field is an error wrapping ErrInvalidConfig that
// names it).
func NewEventBus(c Config, opts ...Option) (*EventBus, error) {
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	client, httpc, err := newClient(c)
	if err != nil {
		return nil, err
	}
	b := &EventBus{
		cfg:      c,
		client:   client,
		httpc:    httpc,
		codec:    brokerkit.NewCodec(c.Options),
		subs:     map[string]*subscription{},
		appSlots: map[string]map[int]bool{},
		reads:    newReadLimiter(),
	}
	b.errs.Engine = "kinesis"
	b.dispatcher = brokerkit.NewDispatcher(c.Options, &b.counters, &b.errs)
	for _, o := range opts {
		o(b)
	}
	if b.store.Load() == nil {
		switch c.CheckpointStore {
		case StoreRedis:
			ro, err := goredis.ParseURL(c.CheckpointRedis.URL)
			if err != nil {
				// Redacted: url.Parse's error quotes the whole URL,
				// password included.
				return nil, invalid("checkpointRedis.url", fmt.Sprintf("%q", brokerkit.RedactURL(c.CheckpointRedis.URL)),
					brokerkit.URLErrorReason(err, c.CheckpointRedis.URL, c.CheckpointRedis.Password))
			}
			if c.CheckpointRedis.DB != 0 {
				ro.DB = c.CheckpointRedis.DB
			}
			if c.CheckpointRedis.Username != "" {
				ro.Username = c.CheckpointRedis.Username
			}
			if c.CheckpointRedis.Password != "" {
				ro.Password = c.CheckpointRedis.Password
			}
			if c.CheckpointRedis.PoolSize > 0 {
				ro.PoolSize = c.CheckpointRedis.PoolSize
			}
			// Redis 7.0 does not know the maintenance-notification
			// handshake; skip it (and its background goroutine).
			ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
			b.redisOpts = ro
		default:
			b.store.Store(&storeRef{checkpoint.NewMemory()})
		}
	}
	return b, nil
}

// storeRef lets an atomic.Pointer hold a checkpoint.Store.
type storeRef struct{ checkpoint.Store }

// checkpoints returns the checkpoint store.
func (b *EventBus) checkpoints() checkpoint.Store { return b.store.Load().Store }

// openStore opens the owned Redis store's client for a run (nothing for
// other stores). Called by Start with b.mu held, before any consumer runs.
func (b *EventBus) openStore() {
	if b.redisOpts == nil {
		return
	}
	opts := *b.redisOpts
	b.redisConn = goredis.NewClient(&opts)
	b.store.Store(&storeRef{checkpoint.NewRedis(b.redisConn, b.cfg.CheckpointRedis.KeyPrefix)})
}

// closeStore closes the owned Redis store's client once the run's
// consumers have written their final checkpoints and released their
// leases. The store stays in place: a call on it while stopped (an
// Unsubscribe deleting its state) fails with go-redis's "client is
// closed" and is reported.
func (b *EventBus) closeStore() {
	if b.redisConn != nil {
		_ = b.redisConn.Close()
		b.redisConn = nil
	}
}

// Config returns the engine's configuration, defaults applied.
func (b *EventBus) Config() Config { return b.cfg }

// Start checks the stream (creating it when CreateStream is on), lists its
// shards, starts the producer and resumes every subscription from its
// checkpoints. It returns ErrStreamNotFound for a missing stream, and the
// SDK's error (wrapped) when the endpoint is unreachable or the
// credentials are refused; ctx bounds those calls. Start on a started bus
// is a no-op.
func (b *EventBus) Start(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return nil
	}
	if err := b.ensureStream(ctx); err != nil {
		return err
	}
	if _, err := b.refreshShards(ctx); err != nil {
		return err
	}
	b.openStore()
	b.life, b.cancel = context.WithCancel(context.Background())
	b.producer.Store(newProducer(b))
	b.syncQuit, b.syncDone = make(chan struct{}), make(chan struct{})
	go b.syncShards(b.syncQuit, b.syncDone)
	b.started = true
	for _, s := range b.subs {
		s.start()
	}
	return nil
}

// Stop stops polling, waits for the handlers in flight, writes the final
// checkpoints and releases the shard leases; then it refuses new
// publishes and sends every record the producer still holds (handlers
// running during the drain may still publish, dead letters included).
// Records not yet read stay in the stream and are delivered after the
// next Start (the engine is persistent). If ctx expires first, handler
// contexts are cancelled, queued records fail, a line is logged
// (log/slog) and bus.ErrEventBusShutdownTimeout itself is returned (==
// holds). Subscriptions survive:
// Start resumes them from their checkpoints. Subscribe returns
// bus.ErrEventBusNotStarted as soon as Stop began. Stop on a stopped bus
// is a no-op.
func (b *EventBus) Stop(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	b.mu.Lock()
	if !b.started {
		b.mu.Unlock()
		return nil
	}
	b.started = false
	subs := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	var timedOut bool
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.stop(false)
		}()
	}
	waited := make(chan struct{})
	go func() {
		wg.Wait()
		b.stopping.Wait() // subscriptions removed while their handler ran
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
		timedOut = true
		b.cancel() // handler contexts: the deadline passed
		<-waited
	}
	// The producer closes last, so that handlers still running during the
	// drain can publish (dead letters included).
	p := b.producer.Swap(nil)
	if err := p.close(ctx); err != nil {
		timedOut = true
	}
	b.cancel()
	close(b.syncQuit)
	<-b.syncDone
	b.httpc.CloseIdleConnections()
	b.closeStore()
	if timedOut {
		slog.Warn("kinesis: stop timed out: handler contexts were cancelled and the records still queued failed")
		return bus.ErrEventBusShutdownTimeout
	}
	return nil
}

// Close stops the bus (with ctx). Stop already closes the connections
// the bus owns (the Redis checkpoint store's client), so Close is Stop;
// it remains for callers that release engines with Close.
func (b *EventBus) Close(ctx context.Context) error { return b.Stop(ctx) }

// Publish sends event to the stream as one record whose partition key is
// bus.EventKey (Metadata["partitionKey"], else the key of
// bus.WithPartitionKey, else the topic), so one key's events stay in
// order in one shard. It returns once Kinesis accepted the record (in a
// batched PutRecords call), or, with AsyncPublish, once it is queued.
// ctx bounds the wait; when it ends while the record was in a call, the
// error wraps ErrPublishUnknown (the record may have been written).
//
// Errors: bus.ErrEventBusNotStarted before Start and after Stop,
// bus.ErrEmptyTopic, bus.ErrWildcardPublish, an error wrapping
// bus.ErrPayloadTooLarge for a payload over maxPayloadBytes or a record
// over maxRecordBytes (ErrRecordTooLarge), ErrPublishFailed when Kinesis
// refused it for good.
func (b *EventBus) Publish(ctx context.Context, event bus.Event) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := enginekit.ValidatePublishTopic(event.Topic); err != nil {
		return err
	}
	p := b.producer.Load()
	if p == nil {
		return bus.ErrEventBusNotStarted
	}
	if event.CreatedAt.IsZero() {
		event.CreatedAt = time.Now()
	}
	data, err := b.codec.EncodeStructuredContext(ctx, event)
	if err != nil {
		return fmt.Errorf("kinesis: publish %q: %w", event.Topic, err)
	}
	pk := partitionKey(bus.EventKey(ctx, event))
	size := len(data) + len(pk)
	if size > b.cfg.MaxRecordBytes {
		return fmt.Errorf("kinesis: publish %q: %w: %d bytes (CloudEvent JSON plus partition key) over maxRecordBytes %d",
			event.Topic, ErrRecordTooLarge, size, b.cfg.MaxRecordBytes)
	}
	r := &record{data: data, pk: pk, size: size, enq: time.Now(), topic: b.counters.Topic(event.Topic)}
	if b.cfg.AsyncPublish {
		r.deadline = r.enq.Add(b.cfg.AsyncPublishTimeout.Std())
		if err := p.enqueue(ctx, r); err != nil {
			return err
		}
		b.counters.PublishedOn(r.topic)
		return nil
	}
	r.ctx = ctx
	r.done = make(chan error, 1)
	if err := p.enqueue(ctx, r); err != nil {
		return err
	}
	return p.wait(ctx, r)
}

// syncShards refreshes the shard list every ShardSyncInterval until quit.
func (b *EventBus) syncShards(quit, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(b.cfg.ShardSyncInterval.Std())
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if _, err := b.refreshShards(ctx); err != nil {
				b.errs.Report(broker.ScopeDiscover, err)
			}
			cancel()
		}
	}
}

// SetObserver installs the observer that hears about topic creation and
// deletion and failed (and, for a bus.MessageObserver, every) delivery.
// Safe to call at any time; nil removes it.
func (b *EventBus) SetObserver(o bus.Observer) { b.dispatcher.SetObserver(o) }

// SetErrorObserver installs the receiver of background errors (reads,
// checkpoints, leases, async publishes); nil restores logging.
func (b *EventBus) SetErrorObserver(o broker.ErrorObserver) { b.errs.SetObserver(o) }

// Errors returns the engine's background error counters.
func (b *EventBus) Errors() *broker.Errors { return &b.errs }
