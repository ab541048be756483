package custom

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
)

// Config configures the "custom" engine, the worked example
// of a third-party engine (see EventBus).
type Config struct {
	// MaxEventQueueSize is the async queue bound. Default: 1000.
	// Max: 1048576 (bus.MaxQueueSize).
	MaxEventQueueSize int `json:"maxEventQueueSize"`
	// DefaultEventBufferSize is each subscription's queue. Default: 10.
	// Max: 1048576 (bus.MaxQueueSize).
	DefaultEventBufferSize int `json:"defaultEventBufferSize"`
	// EnableMetrics turns on EventMetrics collection. Default: true
	// through New (a map without the key).
	EnableMetrics bool `json:"enableMetrics"`
	// MetricsInterval is the window of EventsPerTopic and
	// AverageProcessingTime: when it has passed, they restart from zero
	// and LastResetTime moves. Zero keeps one window forever.
	// Default: 30s.
	MetricsInterval time.Duration `json:"metricsInterval"`
	// EventFilters decide which published events are processed. Each is
	// a map with a "type"; supported: {"type": "topicPrefix",
	// "allowedPrefixes": ["user.", "order."]}.
	EventFilters []map[string]interface{} `json:"eventFilters"`
}

// EventMetrics holds what the custom engine measured. Read it through
// GetMetrics, which returns a copy.
type EventMetrics struct {
	// TotalEvents counts events published (and not filtered out) since
	// the engine was created.
	TotalEvents int64 `json:"totalEvents"`
	// EventsPerTopic counts them per topic in the current window, for at
	// most maxMetricTopics topics (the rest under "other").
	EventsPerTopic map[string]int64 `json:"eventsPerTopic"`
	// AverageProcessingTime is the mean handler duration in the window.
	AverageProcessingTime time.Duration `json:"averageProcessingTime"`
	// LastResetTime is when the current window started.
	LastResetTime time.Time `json:"lastResetTime"`

	mu       sync.Mutex
	handled  int64
	handling time.Duration
	filtered int64
}

// maxMetricTopics bounds EventsPerTopic so a topic explosion cannot grow
// memory without bound.
const maxMetricTopics = 1000

// EventBus is an example of a custom engine built by
// composition: it wraps the memory engine, applies EventFilters on
// publish and measures EventMetrics around every handler. It is registered
// as engine type "custom" and passes the conformance suite; the README's
// "Writing your own engine" section walks through it.
type EventBus struct {
	inner   *memory.EventBus
	cfg     Config
	filters []EventFilter
	metrics *EventMetrics // nil when metrics are off
}

var (
	_ bus.EventBus            = (*EventBus)(nil)
	_ bus.StatsProvider       = (*EventBus)(nil)
	_ bus.EngineStatsProvider = (*EventBus)(nil)
	_ bus.Observable          = (*EventBus)(nil)
	_ bus.TopicStatsProvider  = (*EventBus)(nil)
	_ bus.Flusher             = (*EventBus)(nil)
)

// New is the "custom" engine factory. Keys:
// maxEventQueueSize, defaultEventBufferSize, enableMetrics (default true),
// metricsInterval ("30s"), eventFilters; plus the module-level keys.
func New(config map[string]interface{}) (bus.EventBus, error) {
	var raw struct {
		MaxEventQueueSize      int                      `json:"maxEventQueueSize"`
		DefaultEventBufferSize int                      `json:"defaultEventBufferSize"`
		WorkerCount            int                      `json:"workerCount"`
		DeliveryMode           string                   `json:"deliveryMode"`
		PublishBlockTimeout    bus.Duration             `json:"publishBlockTimeout"`
		EnableMetrics          *bool                    `json:"enableMetrics"`
		MetricsInterval        *bus.Duration            `json:"metricsInterval"`
		EventFilters           []map[string]interface{} `json:"eventFilters"`
	}
	if err := bus.DecodeConfig(config, &raw); err != nil {
		return nil, fmt.Errorf("custom engine: %w", err)
	}
	cfg := Config{
		MaxEventQueueSize: raw.MaxEventQueueSize, DefaultEventBufferSize: raw.DefaultEventBufferSize,
		EnableMetrics: true, MetricsInterval: 30 * time.Second, EventFilters: raw.EventFilters,
	}
	if raw.EnableMetrics != nil {
		cfg.EnableMetrics = *raw.EnableMetrics
	}
	if raw.MetricsInterval != nil {
		cfg.MetricsInterval = raw.MetricsInterval.Std()
	}
	filters, err := buildFilters(cfg.EventFilters)
	if err != nil {
		return nil, fmt.Errorf("custom engine: %w", err)
	}
	if cfg.MetricsInterval < 0 {
		return nil, fmt.Errorf("custom engine: metricsInterval: %v: must be >= 0", cfg.MetricsInterval)
	}
	inner, err := memory.NewEventBus(memory.Config{
		MaxEventQueueSize: cfg.MaxEventQueueSize, DefaultEventBufferSize: cfg.DefaultEventBufferSize,
		WorkerCount: raw.WorkerCount, DeliveryMode: raw.DeliveryMode, PublishBlockTimeout: raw.PublishBlockTimeout,
	})
	if err != nil {
		return nil, fmt.Errorf("custom engine: %w", err)
	}
	c := &EventBus{inner: inner, cfg: cfg, filters: filters}
	if cfg.EnableMetrics {
		c.metrics = &EventMetrics{EventsPerTopic: map[string]int64{}, LastResetTime: time.Now()}
	}
	return c, nil
}

// Start starts the engine (see bus.EventBus).
func (c *EventBus) Start(ctx context.Context) error { return c.inner.Start(ctx) }

// Stop stops the engine, delivering every accepted event first.
func (c *EventBus) Stop(ctx context.Context) error { return c.inner.Stop(ctx) }

// customEngineMetadataValue is what the custom engine writes under
// Metadata["engine"] on every event it publishes, as upstream's does.
const customEngineMetadataValue = "custom-memory"

// Publish applies the filters: an event a filter rejects is not
// published (Publish returns nil; it is counted in the metrics as
// filtered). Other events are counted and published, with
// Metadata["engine"] = "custom-memory" (as upstream's custom engine;
// a value the publisher set under that key is replaced). The caller's
// Metadata map is copied, never modified.
func (c *EventBus) Publish(ctx context.Context, event bus.Event) error {
	for _, f := range c.filters {
		if !f.ShouldProcess(event) {
			if c.metrics != nil {
				c.metrics.mu.Lock()
				c.metrics.filtered++
				c.metrics.mu.Unlock()
			}
			return nil
		}
	}
	meta := make(map[string]interface{}, len(event.Metadata)+1)
	for k, v := range event.Metadata {
		meta[k] = v
	}
	meta["engine"] = customEngineMetadataValue
	event.Metadata = meta
	if err := c.inner.Publish(ctx, event); err != nil {
		return err
	}
	if c.metrics != nil {
		c.metrics.recordPublish(event.Topic, c.cfg.MetricsInterval)
	}
	return nil
}

// Subscribe registers a handler measured by the metrics.
func (c *EventBus) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return c.inner.Subscribe(ctx, topic, c.measured(handler))
}

// SubscribeAsync registers an async handler measured by the metrics.
func (c *EventBus) SubscribeAsync(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return c.inner.SubscribeAsync(ctx, topic, c.measured(handler))
}

// Unsubscribe removes a subscription of this engine.
func (c *EventBus) Unsubscribe(ctx context.Context, subscription bus.Subscription) error {
	return c.inner.Unsubscribe(ctx, subscription)
}

// Topics returns the subscribed patterns, sorted.
func (c *EventBus) Topics() []string { return c.inner.Topics() }

// SubscriberCount returns the subscriptions on exactly this pattern.
func (c *EventBus) SubscriberCount(topic string) int {
	return c.inner.SubscriberCount(topic)
}

// Stats returns delivered and dropped counts.
func (c *EventBus) Stats() (delivered uint64, dropped uint64) { return c.inner.Stats() }

// EngineStats returns the engine's figures.
func (c *EventBus) EngineStats() bus.EngineStats { return c.inner.EngineStats() }

// TopicStats returns the per-topic figures of the inner engine.
func (c *EventBus) TopicStats() map[string]bus.TopicStats { return c.inner.TopicStats() }

// Flush is a delivery barrier (see bus.Flusher).
func (c *EventBus) Flush(ctx context.Context) error { return c.inner.Flush(ctx) }

// SetObserver installs the module's observer.
func (c *EventBus) SetObserver(o bus.Observer) { c.inner.SetObserver(o) }

// GetMetrics returns a copy of the current metrics, or nil when metrics
// are disabled.
func (c *EventBus) GetMetrics() *EventMetrics {
	if c.metrics == nil {
		return nil
	}
	m := c.metrics
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &EventMetrics{TotalEvents: m.TotalEvents, LastResetTime: m.LastResetTime, EventsPerTopic: make(map[string]int64, len(m.EventsPerTopic))}
	for k, v := range m.EventsPerTopic {
		out.EventsPerTopic[k] = v
	}
	if m.handled > 0 {
		out.AverageProcessingTime = m.handling / time.Duration(m.handled)
	}
	out.handled, out.handling, out.filtered = m.handled, m.handling, m.filtered
	return out
}

// Filtered returns how many published events the filters rejected.
func (m *EventMetrics) Filtered() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.filtered
}

func (c *EventBus) measured(h bus.EventHandler) bus.EventHandler {
	if h == nil || c.metrics == nil {
		return h
	}
	m := c.metrics
	return func(ctx context.Context, e bus.Event) (err error) {
		start := time.Now()
		defer func() {
			if bus.IsFiltered(err) {
				// Rejected by the subscription's filter
				// (bus.FilteredHandler): not a handled event. The
				// memory engine counts it in EngineStats.Filtered.
				return
			}
			d := time.Since(start)
			m.mu.Lock()
			m.handled++
			m.handling += d
			m.mu.Unlock()
		}()
		return h(ctx, e)
	}
}

func (m *EventMetrics) recordPublish(topic string, window time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if now := time.Now(); window > 0 && now.Sub(m.LastResetTime) >= window {
		m.EventsPerTopic = map[string]int64{}
		m.handled, m.handling = 0, 0
		m.LastResetTime = now
	}
	m.TotalEvents++
	if _, ok := m.EventsPerTopic[topic]; !ok && len(m.EventsPerTopic) >= maxMetricTopics {
		topic = "other"
	}
	m.EventsPerTopic[topic]++
}
