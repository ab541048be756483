package core

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/enginekit"
)

// Module-level defaults, applied once, by ValidateConfig.
const (
	// DefaultEngineName is the name of the single engine in
	// single-engine mode.
	DefaultEngineName = "default"
	// DefaultEngineType is the engine built when neither Engine nor
	// Engines is set.
	DefaultEngineType = "sharded"

	defaultMaxEventQueueSize      = 1000
	defaultDefaultEventBufferSize = 10
	defaultWorkerCount            = 5
	defaultRetentionDays          = 7
	defaultEventTTL               = time.Hour
	defaultDeliveryMode           = "block"

	// maxRetentionDays bounds RetentionDays (a century).
	maxRetentionDays = 36500
)

// EventBusConfig configures the module. It supports single-engine mode
// (Engine and the fields below it; the engine is named "default") and
// multi-engine mode (Engines and Routing, which take precedence).
//
// In YAML the section is "eventbus:" with the yaml keys below. The env
// feeder reads EVENTBUS_<ENV>, then <ENV>_EVENTBUS, then the bare <ENV>
// name, for each env tag (for example EVENTBUS_ENGINE,
// EVENTBUS_DELIVERY_MODE, EVENTBUS_PUBLISH_BLOCK_TIMEOUT=250ms).
//
// The validate tags document the constraints; modular does not enforce
// them, ValidateConfig does.
type EventBusConfig struct {
	// Engine is the engine type in single-engine mode: "sharded",
	// "memory", "redis", "kafka", "kinesis" or a registered custom type.
	// Default: DefaultEngineType.
	Engine string `json:"engine,omitempty" yaml:"engine,omitempty" validate:"omitempty,oneof=memory redis kafka kinesis" env:"ENGINE"`

	// MaxEventQueueSize bounds the queue of async work (the memory and
	// sharded engines' worker-pool queue; the sharded engine's rings are
	// sized by its own ringSize key, under EngineConfig in single-engine
	// mode; the broker engines ignore it). Must be >= 1. Default: 1000.
	// Max: 1048576 (enginekit.MaxQueueSize).
	MaxEventQueueSize int `json:"maxEventQueueSize,omitempty" yaml:"maxEventQueueSize,omitempty" validate:"omitempty,min=1" env:"MAX_EVENT_QUEUE_SIZE"`

	// DefaultEventBufferSize is each memory-engine subscription's queue.
	// Must be >= 1. Default: 10. Max: 1048576 (enginekit.MaxQueueSize).
	DefaultEventBufferSize int `json:"defaultEventBufferSize,omitempty" yaml:"defaultEventBufferSize,omitempty" validate:"omitempty,min=1" env:"DEFAULT_EVENT_BUFFER_SIZE"`

	// WorkerCount is the number of goroutines running async handlers.
	// Must be >= 1. Default: 5. Max: 4096 (enginekit.MaxWorkers).
	WorkerCount int `json:"workerCount,omitempty" yaml:"workerCount,omitempty" validate:"omitempty,min=1" env:"WORKER_COUNT"`

	// DeliveryMode is what Publish does when a queue is full: "block"
	// (wait, bounded by the publish ctx; lossless), "timeout" (wait up to
	// PublishBlockTimeout, then drop, count and return ErrEventDropped) or
	// "drop" (drop at once, count, return ErrEventDropped).
	// Default: "block" (upstream: "drop"). It reaches every in-process
	// engine, in single- and multi-engine mode.
	DeliveryMode string `json:"deliveryMode,omitempty" yaml:"deliveryMode,omitempty" validate:"omitempty,oneof=drop block timeout" env:"DELIVERY_MODE"`

	// PublishBlockTimeout is the wait of "timeout" mode. Must be >= 0.
	// Default: 0 (one immediate attempt).
	PublishBlockTimeout time.Duration `json:"publishBlockTimeout,omitempty" yaml:"publishBlockTimeout,omitempty" env:"PUBLISH_BLOCK_TIMEOUT"`

	// RotateSubscriberOrder rotates the order in which subscriptions are
	// offered each event, for fairness in the dropping modes.
	// Default: false (opt-in).
	RotateSubscriberOrder bool `json:"rotateSubscriberOrder,omitempty" yaml:"rotateSubscriberOrder,omitempty" env:"ROTATE_SUBSCRIBER_ORDER"`

	// EventTTL is passed to the engines as "eventTTL"; no built-in engine
	// uses it (upstream's key, kept so that its configs load). Must be
	// >= 0. Default: 1h.
	EventTTL time.Duration `json:"eventTTL,omitempty" yaml:"eventTTL,omitempty" env:"EVENT_TTL" default:"3600s"`

	// RetentionDays is passed to the engines as "retentionDays": the
	// redis engine trims its streams to it, the kafka engine sets it as
	// retention.ms on the topics it creates, the other built-in engines
	// ignore it. Must be >= 1. Default: 7. Max: 36500.
	RetentionDays int `json:"retentionDays,omitempty" yaml:"retentionDays,omitempty" validate:"omitempty,min=1" env:"RETENTION_DAYS"`

	// ExternalBrokerURL is the broker address in single-engine mode
	// (redis://host:port/db, kafka://host:9092,host2:9092, or the
	// Kinesis endpoint). Broker engines use it when their own url/brokers/
	// endpoint key is not set.
	ExternalBrokerURL string `json:"externalBrokerURL,omitempty" yaml:"externalBrokerURL,omitempty" env:"EXTERNAL_BROKER_URL"`

	// ExternalBrokerUser is the broker user name in single-engine mode.
	ExternalBrokerUser string `json:"externalBrokerUser,omitempty" yaml:"externalBrokerUser,omitempty" env:"EXTERNAL_BROKER_USER"`

	// ExternalBrokerPassword is the broker password in single-engine mode.
	ExternalBrokerPassword string `json:"externalBrokerPassword,omitempty" yaml:"externalBrokerPassword,omitempty" env:"EXTERNAL_BROKER_PASSWORD"`

	// EngineConfig holds the single engine's own keys in single-engine
	// mode, the keys multi-engine mode takes under engines[i].config:
	// for example the sharded engine's ringSize, shards and spinWindow, or
	// the redis engine's group. The engine receives the module-level
	// settings above, then these keys, which win where both set one
	// (engineConfig.workerCount over workerCount). The engine checks them
	// when the module initializes: an unknown key or an invalid value is
	// an error naming the key and the value. Setting it together with
	// Engines is an error. YAML/JSON/TOML only (no env variable).
	// Default: none (every engine key takes its default).
	EngineConfig map[string]interface{} `json:"engineConfig,omitempty" yaml:"engineConfig,omitempty"`

	// Engines defines the engines of multi-engine mode; the first one is
	// the default engine for topics no routing rule matches.
	Engines []EngineConfig `json:"engines,omitempty" yaml:"engines,omitempty" validate:"dive"`

	// Routing maps topic patterns to engines; rules are evaluated in
	// order and the first matching pattern wins.
	Routing []RoutingRule `json:"routing,omitempty" yaml:"routing,omitempty" validate:"dive"`

	// MessageEvents controls the per-message lifecycle CloudEvents
	// (message.published, message.received) for modular observers, as
	// upstream emits them. Default (unset, nil): on whenever an observer
	// subject is registered (an ObservableApplication); with no subject
	// nothing is built or sent, so the publish path costs nothing extra.
	// false turns them off even with observers (YAML/JSON
	// messageEvents: false, env EVENTBUS_MESSAGE_EVENTS=false); true is
	// the default made explicit. message.failed is always emitted.
	MessageEvents *bool `json:"messageEvents,omitempty" yaml:"messageEvents,omitempty" env:"MESSAGE_EVENTS"`
}

// EngineConfig defines one engine of multi-engine mode.
type EngineConfig struct {
	// Name identifies the engine in routing rules; unique.
	Name string `json:"name" yaml:"name" validate:"required"`

	// Type is a registered engine type (GetRegisteredEngines).
	Type string `json:"type" yaml:"type" validate:"required,oneof=memory redis kafka kinesis custom"`

	// Config is the engine's own configuration; its keys are documented
	// by each engine. Unknown keys are rejected by the built-in engines.
	Config map[string]interface{} `json:"config,omitempty" yaml:"config,omitempty"`
}

// RoutingRule routes the topics matching any of Topics to Engine.
type RoutingRule struct {
	// Topics is a list of topic patterns to match: exact topics,
	// "prefix.*" or "*".
	Topics []string `json:"topics" yaml:"topics" validate:"required,min=1"`

	// Engine is the name of a configured engine.
	Engine string `json:"engine" yaml:"engine" validate:"required"`
}

// MessageEventsEnabled reports whether the per-message CloudEvents are
// wanted: MessageEvents unset or true. They are emitted only while an
// observer subject is registered.
func (c *EventBusConfig) MessageEventsEnabled() bool {
	return c.MessageEvents == nil || *c.MessageEvents
}

// IsMultiEngine reports whether Engines is set.
func (c *EventBusConfig) IsMultiEngine() bool { return len(c.Engines) > 0 }

// GetDefaultEngine returns the engine that receives topics no rule
// matches: "default" in single-engine mode, else the first engine's name.
func (c *EventBusConfig) GetDefaultEngine() string {
	if c.IsMultiEngine() {
		return c.Engines[0].Name
	}
	return DefaultEngineName
}

// Validate lets modular validate the section right after feeding it
// (modular.ConfigValidator); it is ValidateConfig.
func (c *EventBusConfig) Validate() error { return c.ValidateConfig() }

// ValidateConfig applies the defaults (once; calling it again changes
// nothing) and checks every value. The first invalid value is returned as
// an error naming the field path and the value, wrapping
// ErrDuplicateEngineName, ErrUnknownEngineRef, ErrUnknownEngineType or
// ErrInvalidConfig.
func (c *EventBusConfig) ValidateConfig() error {
	for _, f := range []struct {
		name   string
		v, max int
	}{
		{"maxEventQueueSize", c.MaxEventQueueSize, enginekit.MaxQueueSize},
		{"defaultEventBufferSize", c.DefaultEventBufferSize, enginekit.MaxQueueSize},
		{"workerCount", c.WorkerCount, enginekit.MaxWorkers},
		{"retentionDays", c.RetentionDays, maxRetentionDays},
	} {
		if f.v < 0 || f.v > f.max {
			return fmt.Errorf("%w: %s: %d: must be between 1 and %d", ErrInvalidConfig, f.name, f.v, f.max)
		}
	}
	switch c.DeliveryMode {
	case "", "block", "timeout", "drop":
	default:
		return fmt.Errorf("%w: deliveryMode: %q: must be one of block, timeout, drop", ErrInvalidConfig, c.DeliveryMode)
	}
	if c.PublishBlockTimeout < 0 {
		return fmt.Errorf("%w: publishBlockTimeout: %v: must be >= 0", ErrInvalidConfig, c.PublishBlockTimeout)
	}
	if c.EventTTL < 0 {
		return fmt.Errorf("%w: eventTTL: %v: must be >= 0", ErrInvalidConfig, c.EventTTL)
	}
	c.setDefaults()
	if !c.IsMultiEngine() {
		if !isRegistered(c.Engine) {
			return fmt.Errorf("engine: %q: %w (registered: %s)", c.Engine, ErrUnknownEngineType, strings.Join(GetRegisteredEngines(), ", "))
		}
		if len(c.Routing) > 0 {
			return fmt.Errorf("%w: routing: rules need engines: routing is only used in multi-engine mode", ErrInvalidConfig)
		}
		return nil
	}
	if len(c.EngineConfig) > 0 {
		return fmt.Errorf("%w: engineConfig: only used in single-engine mode: with engines, put an engine's keys under engines[i].config", ErrInvalidConfig)
	}
	names := make(map[string]bool, len(c.Engines))
	for i, e := range c.Engines {
		switch {
		case strings.TrimSpace(e.Name) == "":
			return fmt.Errorf("%w: engines[%d].name: %q: must not be empty", ErrInvalidConfig, i, e.Name)
		case names[e.Name]:
			return fmt.Errorf("engines[%d].name: %q: %w", i, e.Name, ErrDuplicateEngineName)
		case !isRegistered(e.Type):
			return fmt.Errorf("engines[%d].type: %q: %w (registered: %s)", i, e.Type, ErrUnknownEngineType, strings.Join(GetRegisteredEngines(), ", "))
		}
		names[e.Name] = true
	}
	for i, r := range c.Routing {
		if len(r.Topics) == 0 {
			return fmt.Errorf("%w: routing[%d].topics: empty: a rule needs at least one topic pattern", ErrInvalidConfig, i)
		}
		for j, p := range r.Topics {
			if strings.TrimSpace(p) == "" {
				return fmt.Errorf("%w: routing[%d].topics[%d]: %q: must not be empty", ErrInvalidConfig, i, j, p)
			}
		}
		if !names[r.Engine] {
			return fmt.Errorf("routing[%d].engine: %q: %w", i, r.Engine, ErrUnknownEngineRef)
		}
	}
	return nil
}

// setDefaults fills zero values with the documented defaults. It is the
// only place module-level defaults are applied.
func (c *EventBusConfig) setDefaults() {
	if c.Engine == "" && !c.IsMultiEngine() {
		c.Engine = DefaultEngineType
	}
	if c.MaxEventQueueSize == 0 {
		c.MaxEventQueueSize = defaultMaxEventQueueSize
	}
	if c.DefaultEventBufferSize == 0 {
		c.DefaultEventBufferSize = defaultDefaultEventBufferSize
	}
	if c.WorkerCount == 0 {
		c.WorkerCount = defaultWorkerCount
	}
	if c.RetentionDays == 0 {
		c.RetentionDays = defaultRetentionDays
	}
	if c.EventTTL == 0 {
		c.EventTTL = defaultEventTTL
	}
	if c.DeliveryMode == "" {
		c.DeliveryMode = defaultDeliveryMode
	}
}

// sharedSettings returns the module-level settings every engine factory
// receives (enginekit.SharedConfigKeys): all of them in single-engine mode, and
// in multi-engine mode as defaults under each engine's own keys.
func (c *EventBusConfig) sharedSettings() map[string]interface{} {
	m := map[string]interface{}{
		"maxEventQueueSize":      c.MaxEventQueueSize,
		"defaultEventBufferSize": c.DefaultEventBufferSize,
		"workerCount":            c.WorkerCount,
		"deliveryMode":           c.DeliveryMode,
		"publishBlockTimeout":    c.PublishBlockTimeout.String(),
		"rotateSubscriberOrder":  c.RotateSubscriberOrder,
		"eventTTL":               c.EventTTL.String(),
		"retentionDays":          c.RetentionDays,
	}
	if c.ExternalBrokerURL != "" {
		m["externalBrokerURL"] = c.ExternalBrokerURL
	}
	if c.ExternalBrokerUser != "" {
		m["externalBrokerUser"] = c.ExternalBrokerUser
	}
	if c.ExternalBrokerPassword != "" {
		m["externalBrokerPassword"] = c.ExternalBrokerPassword
	}
	return m
}

// engineSpecs returns the engines to build: name, type and the config map
// the factory receives.
func (c *EventBusConfig) engineSpecs() []EngineConfig {
	shared := c.sharedSettings()
	if !c.IsMultiEngine() {
		return []EngineConfig{{Name: DefaultEngineName, Type: c.Engine, Config: overlay(shared, c.EngineConfig)}}
	}
	out := make([]EngineConfig, len(c.Engines))
	for i, e := range c.Engines {
		out[i] = EngineConfig{Name: e.Name, Type: e.Type, Config: overlay(shared, e.Config)}
	}
	return out
}

// overlay returns a new map with the keys of shared, then those of own
// (an engine's own keys win over the module-level ones).
func overlay(shared, own map[string]interface{}) map[string]interface{} {
	m := make(map[string]interface{}, len(shared)+len(own))
	for k, v := range shared {
		m[k] = v
	}
	for k, v := range own {
		m[k] = v
	}
	return m
}
