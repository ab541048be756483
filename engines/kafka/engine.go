package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Engine states.
const (
	stateStopped int32 = iota
	stateRunning
	stateStopping
)

// EventBus is the Kafka engine (the root package aliases it as
// KafkaEventBus). Create it with NewEventBus or New; the zero value is not
// usable. All methods are safe for concurrent use.
//
// Lifecycle: New does not dial. Start connects (bounded by startTimeout),
// creates the producer and resumes every subscription's consumer group.
// Stop refuses new publishes, waits for publishes in flight, stops the
// consumers (handlers in flight finish, their offsets are committed, the
// members leave their groups), then flushes and closes the producer.
// Subscriptions survive Stop and resume from their committed offsets at
// the next Start, so events published while stopped are delivered then.
type EventBus struct {
	set   *settings
	opts  broker.Options // defaults applied
	codec *brokerkit.Codec

	counters brokerkit.Counters
	errs     broker.Errors
	disp     *brokerkit.Dispatcher

	// lifeMu serializes Start and Stop.
	lifeMu sync.Mutex
	// mu guards subs, topics and run.
	mu     sync.Mutex
	subs   map[string]*subscription
	topics enginekit.TopicRegistry // subscriptions per pattern
	run    *runState

	state atomic.Int32
	// gate: every Publish holds it shared; Stop takes it exclusively to
	// wait for the publishes in flight before closing the producer.
	gate sync.RWMutex

	// lingering counts goroutines of earlier runs that outlived a Stop
	// whose deadline expired; tests use it to wait for them.
	lingering sync.WaitGroup
}

// runState is what one Start creates and its Stop tears down.
type runState struct {
	b *EventBus

	// life is the handlers' context: cancelled only when a Stop deadline
	// expires.
	life   context.Context
	cancel context.CancelFunc

	// quit is closed when Stop begins stopping the consumers.
	quit chan struct{}

	control sarama.Client       // metadata, offsets, topic creation
	admin   sarama.ClusterAdmin // over control; closing it does not close control
	prod    *producer
	topics  *topicCache

	// dlqReported holds the missing dead-letter topics already reported
	// in this run (see reportMissingDeadLetterTopics).
	dlqReported sync.Map

	// poll is the group-less client of Poll, created by the first Poll
	// of the run (poller) and closed by Stop; pollMu guards it.
	pollMu sync.Mutex
	poll   *pollClient

	// nudge asks the topic watcher for an immediate refresh.
	nudge chan struct{}

	// wg counts the consumer and watcher goroutines of this run.
	wg sync.WaitGroup
}

// New is the engine factory registered as type "kafka": it decodes the
// engine's config map (see Config for keys; the module-level
// SharedConfigKeys are accepted, externalBrokerURL/User/Password used) and
// returns a stopped engine. It does not dial: brokers are first contacted
// by Start.
func New(config map[string]any) (bus.EventBus, error) {
	var cfg Config
	if err := enginekit.DecodeConfig(stringMaps(config), &cfg); err != nil {
		return nil, fmt.Errorf("kafka engine: %w: %w", ErrInvalidConfig, err)
	}
	return NewEventBus(cfg)
}

// NewEventBus returns a stopped engine configured by cfg (zero fields take
// their defaults). It validates the configuration, including the
// producer, consumer and security maps, but does not contact the brokers.
func NewEventBus(cfg Config) (*EventBus, error) {
	cfg = cfg.clone()
	cfg.setDefaults()
	set, err := cfg.build()
	if err != nil {
		return nil, fmt.Errorf("kafka engine: %w", err)
	}
	b := &EventBus{
		set:   set,
		opts:  set.cfg.Options,
		codec: brokerkit.NewCodec(set.cfg.Options),
		subs:  map[string]*subscription{},
	}
	b.errs.Engine = "kafka"
	b.disp = brokerkit.NewDispatcher(b.opts, &b.counters, &b.errs)
	return b, nil
}

// Config returns the engine's effective configuration (defaults applied).
func (b *EventBus) Config() Config { return b.set.cfg }

// SetObserver installs the observer that hears about topics, failures and,
// if it implements bus.MessageObserver, every delivery. Safe at any time.
func (b *EventBus) SetObserver(o bus.Observer) { b.disp.SetObserver(o) }

// SetErrorObserver installs the receiver of the engine's background
// errors (consumer-group errors, failed asynchronous publishes, failed
// dead-letter publishes, topic discovery). Without one they are logged
// with log/slog. With the producer's "async" option this is the error
// callback of Publish.
func (b *EventBus) SetErrorObserver(o broker.ErrorObserver) { b.errs.SetObserver(o) }

// Start connects to the brokers, creates the producer and starts the
// consumers of every subscription. It fails with an error wrapping
// ErrBrokersUnreachable when no broker answered within startTimeout (or
// before ctx ended). Starting a running engine is a no-op.
func (b *EventBus) Start(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	if b.state.Load() == stateRunning {
		return nil
	}
	r, err := b.newRun(ctx)
	if err != nil {
		return err
	}
	// Pick up topics created while stopped before the consumers join, so
	// that a wildcard subscription joins with its full topic set.
	if list, err := r.listTopics(); err == nil {
		for _, s := range b.subscriptions() {
			s.reconcile(r, list)
		}
	}
	b.mu.Lock()
	b.run = r
	b.state.Store(stateRunning)
	for _, s := range b.subs {
		s.startConsumer(r)
	}
	b.mu.Unlock()
	r.wg.Add(1)
	go r.watchTopics()
	return nil
}

// newRun connects the control client and the producer.
func (b *EventBus) newRun(ctx context.Context) (*runState, error) {
	control, err := b.connect(ctx)
	if err != nil {
		return nil, err
	}
	admin, err := sarama.NewClusterAdminFromClient(nopCloseClient{control})
	if err != nil {
		_ = control.Close()
		return nil, fmt.Errorf("kafka engine: start: admin client: %w", err)
	}
	prod, err := b.newProducer()
	if err != nil {
		_ = control.Close()
		return nil, fmt.Errorf("kafka engine: start: producer: %w", err)
	}
	life, cancel := context.WithCancel(context.Background())
	r := &runState{
		b:       b,
		life:    life,
		cancel:  cancel,
		quit:    make(chan struct{}),
		control: control,
		admin:   admin,
		prod:    prod,
		nudge:   make(chan struct{}, 1),
	}
	r.topics = newTopicCache(r)
	return r, nil
}

// connect opens the control client, retrying until startTimeout.
func (b *EventBus) connect(ctx context.Context) (sarama.Client, error) {
	timeout := b.set.cfg.StartTimeout.Std()
	began := time.Now()
	deadline := began.Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	bo := broker.Backoff{Base: 100 * time.Millisecond, Max: time.Second}
	for {
		remaining := time.Until(deadline)
		cfg := b.set.newClientConfig()
		cfg.Net.DialTimeout = min(max(remaining/time.Duration(cfg.Metadata.Retry.Max+1), 100*time.Millisecond), 10*time.Second)
		c, err := sarama.NewClient(b.set.cfg.Brokers, cfg)
		if err == nil {
			return c, nil
		}
		wait := bo.Next()
		if ctx.Err() != nil || time.Until(deadline) < wait {
			return nil, fmt.Errorf("kafka engine: start: %w: %v after %v (startTimeout %v): %v",
				ErrBrokersUnreachable, b.set.cfg.Brokers, time.Since(began).Round(time.Millisecond), timeout, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
}

// Stop refuses new publishes, waits for the publishes in flight, stops
// every consumer (running handlers finish; their offsets are committed;
// the members leave their groups; events not yet handled stay in Kafka and
// are delivered after the next Start), then flushes and closes the
// producer. If ctx expires first, handler contexts are cancelled, a line
// is logged (log/slog) and bus.ErrEventBusShutdownTimeout itself is
// returned (== holds); nothing
// acknowledged by Kafka is lost either way. Stopping a stopped engine is a
// no-op.
func (b *EventBus) Stop(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	b.lifeMu.Lock()
	defer b.lifeMu.Unlock()
	if b.state.Load() != stateRunning {
		return nil
	}
	b.state.Store(stateStopping)
	b.gate.Lock() // no publish in flight from here on
	//lint:ignore SA2001 empty on purpose: taking the lock waits for the publishes in flight
	b.gate.Unlock()

	b.mu.Lock()
	r := b.run
	b.mu.Unlock()

	close(r.quit) // the topic watcher
	b.mu.Lock()
	for _, s := range b.subs {
		if s.cur != nil && s.cur.r == r {
			s.cur.stop()
		}
	}
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		r.wg.Wait()
		close(done)
	}()
	var timedOut bool
	select {
	case <-done:
	case <-ctx.Done():
		timedOut = true
		r.cancel() // handlers see their context end
	}
	if timedOut {
		// Give cooperative handlers a moment to return after the
		// cancellation; the rest finish in the background.
		select {
		case <-done:
		case <-time.After(time.Second):
		}
	}
	finish := func() {
		<-done
		r.prod.close()
		r.closePoller()
		_ = r.admin.Close()
		_ = r.control.Close()
		r.cancel()
	}
	b.mu.Lock()
	b.run = nil
	b.state.Store(stateStopped)
	for _, s := range b.subs {
		s.detach(r)
	}
	b.mu.Unlock()
	if timedOut {
		b.lingering.Add(1)
		go func() {
			defer b.lingering.Done()
			finish()
		}()
		slog.Warn("kafka engine: stop timed out: handler calls still running finish in the background", "cause", context.Cause(ctx))
		return bus.ErrEventBusShutdownTimeout
	}
	finish()
	return nil
}

// running returns the current run, or nil with ErrEventBusNotStarted.
func (b *EventBus) running() (*runState, error) {
	if b.state.Load() != stateRunning {
		return nil, bus.ErrEventBusNotStarted
	}
	b.mu.Lock()
	r := b.run
	b.mu.Unlock()
	if r == nil {
		return nil, bus.ErrEventBusNotStarted
	}
	return r, nil
}

// subscriptions returns a snapshot of the subscriptions.
func (b *EventBus) subscriptions() []*subscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		out = append(out, s)
	}
	return out
}

// Topics returns the topic patterns that currently have at least one
// subscription, sorted. Subscriptions are kept while the engine is
// stopped.
func (b *EventBus) Topics() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Topics()
}

// SubscriberCount returns the number of subscriptions registered with
// exactly this topic pattern (sync and async).
func (b *EventBus) SubscriberCount(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Count(topic)
}

// nopCloseClient keeps ClusterAdmin.Close from closing the control
// client, which the engine closes itself.
type nopCloseClient struct{ sarama.Client }

func (nopCloseClient) Close() error { return nil }

// isClosed reports whether ch is closed.
func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
