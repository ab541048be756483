package core

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/GoCodeAlone/modular"
)

// EventBusModule is the modular module. It implements modular.Module,
// Configurable, ServiceAware, Constructable, Startable, Stoppable,
// Drainable, MetricsProvider and ObservableModule, and provides itself as
// the service "eventbus.provider".
//
// Its bus methods (Publish, Subscribe, …) delegate to the EngineRouter
// built in Init. Called before Init they return ErrNotInitialized (Topics
// and SubscriberCount return empty values) instead of panicking. All
// methods are safe for concurrent use, and a nil ctx is treated as
// context.Background().
type EventBusModule struct {
	name   string
	config *EventBusConfig
	logger modular.Logger
	router *EngineRouter

	lifecycle sync.Mutex // serializes Init, Start, Stop, PreStop
	started   atomic.Bool

	obs observation
}

var (
	_ modular.Module           = (*EventBusModule)(nil)
	_ modular.Configurable     = (*EventBusModule)(nil)
	_ modular.ServiceAware     = (*EventBusModule)(nil)
	_ modular.Constructable    = (*EventBusModule)(nil)
	_ modular.Startable        = (*EventBusModule)(nil)
	_ modular.Stoppable        = (*EventBusModule)(nil)
	_ modular.Drainable        = (*EventBusModule)(nil)
	_ modular.MetricsProvider  = (*EventBusModule)(nil)
	_ modular.ObservableModule = (*EventBusModule)(nil)
)

// NewModule returns a new event bus module (a *EventBusModule) for
// app.RegisterModule.
func NewModule() modular.Module { return &EventBusModule{name: ModuleName} }

// Name returns "eventbus", the module name and its config section.
func (m *EventBusModule) Name() string { return ModuleName }

// RegisterConfig registers the "eventbus" config section. Defaults are
// applied by EventBusConfig.ValidateConfig after feeding, so a field left
// unset in YAML/env takes its documented default.
func (m *EventBusModule) RegisterConfig(app modular.Application) error {
	app.RegisterConfigSection(m.Name(), modular.NewStdConfigProvider(&EventBusConfig{}))
	return nil
}

// Init validates the configuration and builds the router and its engines
// (not started). It emits config.loaded.
func (m *EventBusModule) Init(app modular.Application) error {
	m.lifecycle.Lock()
	defer m.lifecycle.Unlock()
	cp, err := app.GetConfigSection(m.Name())
	if err != nil {
		return fmt.Errorf("eventbus: get config section: %w", err)
	}
	cfg, ok := cp.GetConfig().(*EventBusConfig)
	if !ok || cfg == nil {
		return fmt.Errorf("eventbus: config section holds %T, want *EventBusConfig", cp.GetConfig())
	}
	return m.initWith(app.Logger(), cfg)
}

// initWith builds the router from cfg; Init and tests use it.
func (m *EventBusModule) initWith(logger modular.Logger, cfg *EventBusConfig) error {
	if err := cfg.ValidateConfig(); err != nil {
		return fmt.Errorf("eventbus: invalid configuration: %w", err)
	}
	router, err := NewEngineRouter(cfg)
	if err != nil {
		return fmt.Errorf("eventbus: %w", err)
	}
	if m.router != nil && m.started.Load() {
		return fmt.Errorf("eventbus: Init called while started")
	}
	m.config, m.logger, m.router = cfg, logger, router
	m.obs.messageEvents = cfg.MessageEventsEnabled()
	router.SetModuleReference(m)
	m.emitConfigLoaded(cfg)
	return nil
}

// Start starts every engine. It is idempotent and safe to call
// concurrently; it can be called again after Stop (subscriptions
// survive). It emits bus.started.
func (m *EventBusModule) Start(ctx context.Context) error {
	ctx = orBackground(ctx)
	m.lifecycle.Lock()
	defer m.lifecycle.Unlock()
	if m.router == nil {
		return ErrNotInitialized
	}
	if m.started.Load() {
		return nil
	}
	if err := m.router.Start(ctx); err != nil {
		return fmt.Errorf("eventbus: %w", err)
	}
	m.started.Store(true)
	m.emitLifecycle(ctx, EventTypeBusStarted, m.busInfo())
	if m.logger != nil {
		m.logger.Info("eventbus started", "engines", m.router.GetEngineNames())
	}
	return nil
}

// PreStop (modular.Drainable) refuses new publishes with ErrDraining and
// waits, within ctx, for the engines that can flush to deliver what they
// hold. Stop then delivers anything left and releases resources.
func (m *EventBusModule) PreStop(ctx context.Context) error {
	ctx = orBackground(ctx)
	m.lifecycle.Lock()
	defer m.lifecycle.Unlock()
	if m.router == nil || !m.started.Load() {
		return nil
	}
	return m.router.drain(ctx)
}

// Stop stops every engine: publishes are refused, accepted events are
// delivered, handlers finish, then resources are released. If ctx expires
// first the undelivered events are counted as dropped and the error is
// ErrEventBusShutdownTimeout (the value itself when a single engine timed
// out, so == holds; the engine is named in a log line). Idempotent; emits
// bus.stopped.
func (m *EventBusModule) Stop(ctx context.Context) error {
	ctx = orBackground(ctx)
	m.lifecycle.Lock()
	defer m.lifecycle.Unlock()
	if m.router == nil || !m.started.Load() {
		return nil
	}
	err := m.router.Stop(ctx)
	m.started.Store(false)
	m.emitLifecycle(ctx, EventTypeBusStopped, m.busInfo())
	if err != nil && !isBareSentinel(err) {
		return fmt.Errorf("eventbus: %w", err)
	}
	return err
}

// Flush waits until every event published before the call has been
// handled by the engines that offer a delivery barrier: all built-in
// ones (see EngineRouter.Flush).
func (m *EventBusModule) Flush(ctx context.Context) error {
	ctx = orBackground(ctx)
	if m.router == nil {
		return ErrNotInitialized
	}
	return m.router.Flush(ctx)
}

// Dependencies returns nil: the module depends on no other module.
func (m *EventBusModule) Dependencies() []string { return nil }

// ProvidesServices provides the module as "eventbus.provider".
func (m *EventBusModule) ProvidesServices() []modular.ServiceProvider {
	return []modular.ServiceProvider{{Name: ServiceName, Description: "Event bus for message distribution", Instance: m}}
}

// RequiresServices returns nil: the module requires no service.
func (m *EventBusModule) RequiresServices() []modular.ServiceDependency { return nil }

// Constructor returns a constructor that yields this module.
func (m *EventBusModule) Constructor() modular.ModuleConstructor {
	return func(modular.Application, map[string]any) (modular.Module, error) { return m, nil }
}

// GetRouter returns the router built by Init (nil before Init).
func (m *EventBusModule) GetRouter() *EngineRouter { return m.router }

// Publish publishes payload on topic: it builds an Event and routes it;
// the engine sets CreatedAt (the sharded engine stamps a batch at once,
// see its stampAtPublish option). To set Metadata, use GetRouter().Publish or
// PublishEvent; to set a partition key, use WithPartitionKey(ctx, key).
// The publish path does not allocate when no observer wants
// per-message events.
func (m *EventBusModule) Publish(ctx context.Context, topic string, payload interface{}) error {
	return m.PublishEvent(ctx, Event{Topic: topic, Payload: payload})
}

// PublishEvent publishes a complete Event (Metadata included) through the
// router. CreatedAt is set by the engine when zero.
func (m *EventBusModule) PublishEvent(ctx context.Context, event Event) error {
	ctx = orBackground(ctx)
	r := m.router
	if r == nil {
		return ErrNotInitialized
	}
	box := m.obs.subject.Load()
	if box == nil || !m.obs.messageEvents {
		err := r.Publish(ctx, event)
		if err != nil {
			m.emitPublishFailed(ctx, event.Topic, err)
		}
		return err
	}
	start := time.Now()
	err := r.Publish(ctx, event)
	if err != nil {
		m.emitPublishFailed(ctx, event.Topic, err)
		return err
	}
	m.emitPublished(ctx, box, event.Topic, start)
	return nil
}

// Subscribe registers a handler that receives the topic's events in
// publish order, one at a time. topic may be a pattern ("order.*", "*").
func (m *EventBusModule) Subscribe(ctx context.Context, topic string, handler EventHandler) (Subscription, error) {
	ctx = orBackground(ctx)
	if m.router == nil {
		return nil, ErrNotInitialized
	}
	return m.router.Subscribe(ctx, topic, handler)
}

// SubscribeAsync registers a handler run on the engine's worker pool;
// events may be handled concurrently and out of order.
func (m *EventBusModule) SubscribeAsync(ctx context.Context, topic string, handler EventHandler) (Subscription, error) {
	ctx = orBackground(ctx)
	if m.router == nil {
		return nil, ErrNotInitialized
	}
	return m.router.SubscribeAsync(ctx, topic, handler)
}

// Unsubscribe removes a subscription; idempotent, before and after Stop.
func (m *EventBusModule) Unsubscribe(ctx context.Context, subscription Subscription) error {
	ctx = orBackground(ctx)
	if m.router == nil {
		return ErrNotInitialized
	}
	return m.router.Unsubscribe(ctx, subscription)
}

// Topics returns the subscribed topic patterns of every engine, sorted
// (nil before Init).
func (m *EventBusModule) Topics() []string {
	if m.router == nil {
		return nil
	}
	return m.router.Topics()
}

// SubscriberCount returns the number of subscriptions on exactly this
// topic pattern (0 before Init).
func (m *EventBusModule) SubscriberCount(topic string) int {
	if m.router == nil {
		return 0
	}
	return m.router.SubscriberCount(topic)
}

// Stats returns delivered and dropped counts summed over the engines that
// report them (zeros before Init).
func (m *EventBusModule) Stats() (delivered uint64, dropped uint64) {
	if m.router == nil {
		return 0, 0
	}
	return m.router.CollectStats()
}

// PerEngineStats returns delivered and dropped counts per engine name
// (an empty map before Init).
func (m *EventBusModule) PerEngineStats() map[string]DeliveryStats {
	if m.router == nil {
		return map[string]DeliveryStats{}
	}
	return m.router.CollectPerEngineStats()
}

// EngineStats returns the detailed figures per engine name (an empty map
// before Init).
func (m *EventBusModule) EngineStats() map[string]EngineStats {
	if m.router == nil {
		return map[string]EngineStats{}
	}
	return m.router.CollectEngineStats()
}

// CollectMetrics (modular.MetricsProvider) reports delivered_count,
// dropped_count, topic_count and subscriber_count, and per engine
// "<engine>.<figure>" for every EngineStats figure, handler latency (calls,
// mean and p99 in seconds) included.
func (m *EventBusModule) CollectMetrics(ctx context.Context) modular.ModuleMetrics {
	values := map[string]float64{}
	d, x := m.Stats()
	values["delivered_count"] = float64(d)
	values["dropped_count"] = float64(x)
	topics := m.Topics()
	values["topic_count"] = float64(len(topics))
	subs := 0
	for _, t := range topics {
		subs += m.SubscriberCount(t)
	}
	values["subscriber_count"] = float64(subs)
	for name, s := range m.EngineStats() {
		for k, v := range map[string]float64{
			"published": float64(s.Published), "delivered": float64(s.Delivered), "dropped": float64(s.Dropped),
			"failed": float64(s.Failed), "panics": float64(s.Panics), "retried": float64(s.Retried),
			"dead_lettered": float64(s.DeadLettered), "in_flight": float64(s.InFlight),
			"queue_depth": float64(s.QueueDepth), "lag": float64(s.Lag),
			"handler_calls":                float64(s.HandlerLatency.Count),
			"handler_latency_mean_seconds": s.HandlerLatency.Mean().Seconds(),
			"handler_latency_p99_seconds":  s.HandlerLatency.Quantile(0.99).Seconds(),
		} {
			values[name+"."+k] = v
		}
	}
	return modular.ModuleMetrics{Name: ModuleName, Values: values}
}

func (m *EventBusModule) busInfo() map[string]any {
	info := map[string]any{"engines": m.router.GetEngineNames()}
	if m.config != nil {
		info["engine"] = m.config.Engine
		info["workers"] = m.config.WorkerCount
		info["deliveryMode"] = m.config.DeliveryMode
	}
	return info
}
