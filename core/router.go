package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// maxRouteCache bounds the per-topic routing cache; topics beyond it are
// routed by scanning the rules (which does not allocate either).
const maxRouteCache = 4096

// EngineRouter owns the engines of a configuration and routes each topic
// to one of them: routing rules are evaluated in order and the first
// pattern that matches (bus.MatchTopic) wins; topics no rule matches go to
// the default engine. Subscriptions are routed on their pattern string, so
// a wildcard subscription lives on the engine its pattern routes to.
//
// All methods are safe for concurrent use. The publish path takes no lock
// and does not allocate: routing decisions are cached per topic in a
// copy-on-write map. A nil ctx is treated as context.Background(), also
// towards the engines.
type EngineRouter struct {
	engines       []*routedEngine // configuration order
	byName        map[string]*routedEngine
	rules         []RoutingRule
	defaultEngine *routedEngine

	cache   atomic.Pointer[map[string]*routedEngine]
	cacheMu sync.Mutex

	draining atomic.Bool

	subsMu sync.Mutex
	subs   map[string]*routedSubscription // by subscription id

	hooks atomic.Pointer[installedHooks]
}

type routedEngine struct {
	name string
	typ  string
	bus  bus.EventBus
}

// routerHooks is what the router calls back into when it belongs to a
// module. The router owns this interface and the module implements it
// (module_hooks.go), so the router does not know the module type.
type routerHooks interface {
	// subscriptionChanged hears of a subscription the router created or
	// removed (eventType is EventTypeSubscriptionCreated or
	// EventTypeSubscriptionRemoved).
	subscriptionChanged(ctx context.Context, eventType string, s *routedSubscription)
	// engineObserver returns the observer installed on the engine called
	// name (bus.Observable engines only).
	engineObserver(name string) bus.Observer
	// warn logs a warning and reports whether it did (false: no logger,
	// the router logs through log/slog).
	warn(msg string, args ...any) bool
}

// installedHooks boxes the hooks for an atomic pointer.
type installedHooks struct{ routerHooks }

// NewEngineRouter validates config and builds (without starting) its
// engines. On error nothing is left half-built.
func NewEngineRouter(config *EventBusConfig) (*EngineRouter, error) {
	if config == nil {
		config = &EventBusConfig{}
	}
	if err := config.ValidateConfig(); err != nil {
		return nil, err
	}
	r := &EngineRouter{byName: map[string]*routedEngine{}, rules: config.Routing, subs: map[string]*routedSubscription{}}
	for _, spec := range config.engineSpecs() {
		factory, ok := lookupFactory(spec.Type)
		if !ok {
			return nil, fmt.Errorf("engine %q: %q: %w", spec.Name, spec.Type, ErrUnknownEngineType)
		}
		b, err := safeFactory(factory, spec.Config)
		if err != nil {
			return nil, fmt.Errorf("failed to create engine %s (%s): %w", spec.Name, spec.Type, err)
		}
		if b == nil {
			return nil, fmt.Errorf("failed to create engine %s (%s): factory returned nil", spec.Name, spec.Type)
		}
		e := &routedEngine{name: spec.Name, typ: spec.Type, bus: b}
		r.engines = append(r.engines, e)
		r.byName[spec.Name] = e
	}
	r.defaultEngine = r.byName[config.GetDefaultEngine()]
	empty := map[string]*routedEngine{}
	r.cache.Store(&empty)
	return r, nil
}

// safeFactory turns a panicking third-party factory into an error.
func safeFactory(f EngineFactory, cfg map[string]interface{}) (b EventBus, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("engine factory panicked: %v", v)
		}
	}()
	return f(cfg)
}

// route returns the engine a topic (or subscription pattern) belongs to.
func (r *EngineRouter) route(topic string) *routedEngine {
	if e, ok := (*r.cache.Load())[topic]; ok {
		return e
	}
	e := r.scan(topic)
	r.cacheMu.Lock()
	old := *r.cache.Load()
	if len(old) < maxRouteCache {
		next := make(map[string]*routedEngine, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		next[topic] = e
		r.cache.Store(&next)
	}
	r.cacheMu.Unlock()
	return e
}

func (r *EngineRouter) scan(topic string) *routedEngine {
	for _, rule := range r.rules {
		for _, p := range rule.Topics {
			if bus.MatchTopic(p, topic) {
				return r.byName[rule.Engine]
			}
		}
	}
	return r.defaultEngine
}

// GetEngineForTopic returns the name of the engine that handles topic.
func (r *EngineRouter) GetEngineForTopic(topic string) string { return r.route(topic).name }

// GetEngineNames returns the engine names in configuration order.
func (r *EngineRouter) GetEngineNames() []string {
	out := make([]string, len(r.engines))
	for i, e := range r.engines {
		out[i] = e.name
	}
	return out
}

// Engine returns the engine called name (ErrEngineNotFound otherwise), for
// engine-specific operations such as the sharded engine's Flush.
func (r *EngineRouter) Engine(name string) (EventBus, error) {
	e, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrEngineNotFound, name)
	}
	return e.bus, nil
}

// Start starts every engine in configuration order. If one fails, the
// engines already started are stopped again and the error names the
// engine that failed.
func (r *EngineRouter) Start(ctx context.Context) error {
	ctx = orBackground(ctx)
	r.draining.Store(false)
	for i, e := range r.engines {
		if err := e.bus.Start(ctx); err != nil {
			for j := i - 1; j >= 0; j-- {
				_ = r.engines[j].bus.Stop(ctx)
			}
			return fmt.Errorf("start engine %q (%s): %w", e.name, e.typ, err)
		}
	}
	return nil
}

// Stop stops every engine (in reverse configuration order), each draining
// its accepted events within ctx, and returns their errors joined, each
// naming its engine. When every engine that failed returned the same
// error the upstream API documents (ErrEventBusShutdownTimeout), that
// value itself is returned so that == holds, and the engines' names are
// logged instead.
func (r *EngineRouter) Stop(ctx context.Context) error {
	ctx = orBackground(ctx)
	var errs []error
	var bare error
	same := true
	for i := len(r.engines) - 1; i >= 0; i-- {
		e := r.engines[i]
		if err := e.bus.Stop(ctx); err != nil {
			if !isBareSentinel(err) || (bare != nil && err != bare) {
				same = false
			} else {
				r.logWarn("eventbus: stop engine failed", "engine", e.name, "type", e.typ, "error", err)
				bare = err
			}
			errs = append(errs, fmt.Errorf("stop engine %q (%s): %w", e.name, e.typ, err))
		}
	}
	if same && bare != nil {
		return bare
	}
	return errors.Join(errs...)
}

// Publish sends the event to the engine its topic routes to; the
// engine's errors are returned as they are (the upstream-documented ones
// bare, so == holds). After PreStop began draining, and after Stop until
// the next Start, it returns an error that matches both ErrDraining and
// ErrEventBusNotStarted (errors.Is).
func (r *EngineRouter) Publish(ctx context.Context, event Event) error {
	ctx = orBackground(ctx)
	if r.draining.Load() {
		return fmt.Errorf("publish %q: %w: %w", event.Topic, ErrDraining, ErrEventBusNotStarted)
	}
	return r.route(event.Topic).bus.Publish(ctx, event)
}

// Subscribe subscribes on the engine the pattern routes to.
func (r *EngineRouter) Subscribe(ctx context.Context, topic string, handler EventHandler) (Subscription, error) {
	return r.subscribe(ctx, topic, handler, false)
}

// SubscribeAsync subscribes asynchronously on the engine the pattern
// routes to.
func (r *EngineRouter) SubscribeAsync(ctx context.Context, topic string, handler EventHandler) (Subscription, error) {
	return r.subscribe(ctx, topic, handler, true)
}

func (r *EngineRouter) subscribe(ctx context.Context, topic string, handler EventHandler, async bool) (Subscription, error) {
	ctx = orBackground(ctx)
	if err := enginekit.ValidateSubscription(topic, handler); err != nil {
		return nil, err
	}
	e := r.route(topic)
	var (
		inner Subscription
		err   error
	)
	if async {
		inner, err = e.bus.SubscribeAsync(ctx, topic, handler)
	} else {
		inner, err = e.bus.Subscribe(ctx, topic, handler)
	}
	if err != nil {
		if isBareSentinel(err) {
			return nil, err // == holds; GetEngineForTopic(topic) names the engine
		}
		return nil, fmt.Errorf("engine %q: %w", e.name, err)
	}
	s := &routedSubscription{Subscription: inner, router: r, engine: e}
	r.subsMu.Lock()
	r.subs[inner.ID()] = s
	r.subsMu.Unlock()
	if h := r.hooks.Load(); h != nil {
		h.subscriptionChanged(ctx, EventTypeSubscriptionCreated, s)
	}
	return s, nil
}

// Unsubscribe removes a subscription from the engine that owns it,
// without touching any other engine. It is idempotent. A subscription the
// router did not create is offered to the engines in order until one
// accepts it; if none does (or it is nil, or another router's), it
// returns ErrSubscriptionNotFound itself, as upstream does (== holds).
func (r *EngineRouter) Unsubscribe(ctx context.Context, subscription Subscription) error {
	ctx = orBackground(ctx)
	if subscription == nil {
		return ErrSubscriptionNotFound
	}
	if s, ok := subscription.(*routedSubscription); ok {
		if s.router != r {
			return ErrSubscriptionNotFound
		}
		return r.unsubscribe(ctx, s)
	}
	r.subsMu.Lock()
	s, ok := r.subs[subscription.ID()]
	r.subsMu.Unlock()
	if ok && s.Subscription == subscription {
		return r.unsubscribe(ctx, s)
	}
	for _, e := range r.engines {
		if err := e.bus.Unsubscribe(ctx, subscription); err == nil {
			return nil
		}
	}
	return ErrSubscriptionNotFound
}

func (r *EngineRouter) unsubscribe(ctx context.Context, s *routedSubscription) error {
	if err := s.engine.bus.Unsubscribe(ctx, s.Subscription); err != nil {
		if isBareSentinel(err) {
			return err // == holds; the subscription's Engine() names the engine
		}
		return fmt.Errorf("engine %q: %w", s.engine.name, err)
	}
	r.forget(ctx, s)
	return nil
}

// forget drops a removed subscription from the router's table and emits
// subscription.removed the first time.
func (r *EngineRouter) forget(ctx context.Context, s *routedSubscription) {
	r.subsMu.Lock()
	_, present := r.subs[s.ID()]
	delete(r.subs, s.ID())
	r.subsMu.Unlock()
	if present {
		if h := r.hooks.Load(); h != nil {
			h.subscriptionChanged(ctx, EventTypeSubscriptionRemoved, s)
		}
	}
}

// orBackground returns ctx, or context.Background() for a nil ctx: every
// method of the router and the module accepts a nil ctx.
func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

// Topics returns the union of the engines' topics, sorted.
func (r *EngineRouter) Topics() []string {
	var out []string
	for _, e := range r.engines {
		out = append(out, e.bus.Topics()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SubscriberCount returns the number of subscriptions on exactly this
// topic pattern, summed over the engines.
func (r *EngineRouter) SubscriberCount(topic string) int {
	n := 0
	for _, e := range r.engines {
		n += e.bus.SubscriberCount(topic)
	}
	return n
}

// CollectStats sums the delivered and dropped counts of the engines that
// report them (bus.StatsProvider).
func (r *EngineRouter) CollectStats() (delivered uint64, dropped uint64) {
	for _, e := range r.engines {
		if sp, ok := e.bus.(bus.StatsProvider); ok {
			d, x := sp.Stats()
			delivered += d
			dropped += x
		}
	}
	return delivered, dropped
}

// CollectPerEngineStats returns delivered and dropped counts per engine
// name, for the engines that report them.
func (r *EngineRouter) CollectPerEngineStats() map[string]DeliveryStats {
	out := make(map[string]DeliveryStats, len(r.engines))
	for _, e := range r.engines {
		if sp, ok := e.bus.(bus.StatsProvider); ok {
			d, x := sp.Stats()
			out[e.name] = DeliveryStats{Delivered: d, Dropped: x}
		}
	}
	return out
}

// CollectEngineStats returns the detailed figures of every engine that
// reports them (bus.EngineStatsProvider), by engine name.
func (r *EngineRouter) CollectEngineStats() map[string]EngineStats {
	out := make(map[string]EngineStats, len(r.engines))
	for _, e := range r.engines {
		if sp, ok := e.bus.(bus.EngineStatsProvider); ok {
			out[e.name] = sp.EngineStats()
		}
	}
	return out
}

// setHooks installs the hooks (nil removes them) and the engines'
// observers they provide.
func (r *EngineRouter) setHooks(h routerHooks) {
	if h == nil {
		r.hooks.Store(nil)
		for _, e := range r.engines {
			if o, ok := e.bus.(bus.Observable); ok {
				o.SetObserver(nil)
			}
		}
		return
	}
	r.hooks.Store(&installedHooks{h})
	for _, e := range r.engines {
		if o, ok := e.bus.(bus.Observable); ok {
			o.SetObserver(h.engineObserver(e.name))
		}
	}
}

// drain refuses new publishes and waits for the engines that can flush
// (bus.Flusher) to deliver what they hold.
func (r *EngineRouter) drain(ctx context.Context) error {
	r.draining.Store(true)
	return r.Flush(ctx)
}

// Flush is a delivery barrier over the engines that offer one
// (bus.Flusher: every built-in engine, brokers included): it returns once
// every event published to them before the call was handled (for a
// broker: by this engine's subscriptions). Engines without a barrier (a
// custom engine may lack one) are skipped. Stopped engines return at once.
func (r *EngineRouter) Flush(ctx context.Context) error {
	ctx = orBackground(ctx)
	var errs []error
	for _, e := range r.engines {
		if f, ok := e.bus.(bus.Flusher); ok {
			if err := f.Flush(ctx); err != nil {
				errs = append(errs, fmt.Errorf("drain engine %q: %w", e.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// routedSubscription remembers which engine owns a subscription, so that
// Unsubscribe and Cancel never touch another engine.
type routedSubscription struct {
	Subscription
	router *EngineRouter
	engine *routedEngine
}

// Cancel cancels the subscription on its engine (which removes it at
// once and, for the built-in engines, does not wait for a handler call in
// flight, so a handler may cancel its own subscription), then drops it
// from the router (so the module hears of it).
func (s *routedSubscription) Cancel() error {
	if err := s.Subscription.Cancel(); err != nil {
		return fmt.Errorf("engine %q: %w", s.engine.name, err)
	}
	s.router.forget(context.Background(), s)
	return nil
}

// Engine returns the name of the engine that owns the subscription.
func (s *routedSubscription) Engine() string { return s.engine.name }

func (s *routedSubscription) String() string {
	return fmt.Sprintf("subscription %s on %q (engine %s)", s.ID(), s.Topic(), s.engine.name)
}

// Stats returns delivered and dropped counts summed over the engines that
// report them (bus.StatsProvider); it is CollectStats.
func (r *EngineRouter) Stats() (delivered uint64, dropped uint64) { return r.CollectStats() }

// EngineStats returns the figures of every engine that reports them,
// summed (bus.EngineStatsProvider).
func (r *EngineRouter) EngineStats() EngineStats {
	var total EngineStats
	for _, s := range r.CollectEngineStats() {
		total = total.Add(s)
	}
	return total
}

// isBareSentinel reports whether err is one of the error values the
// upstream API documents and returned unwrapped. The router and the module
// pass those on as they are, so that code written for upstream can
// compare them with ==; every other error is wrapped with context.
func isBareSentinel(err error) bool {
	switch err {
	case ErrEventBusNotStarted, ErrEventBusShutdownTimeout, ErrEventHandlerNil,
		ErrInvalidSubscriptionType, ErrSubscriptionNotFound:
		return true
	}
	return false
}

// logWarn logs through the module's logger when the router belongs to a
// module, else through log/slog.
func (r *EngineRouter) logWarn(msg string, args ...any) {
	if h := r.hooks.Load(); h != nil && h.warn(msg, args...) {
		return
	}
	slog.Warn(msg, args...)
}
