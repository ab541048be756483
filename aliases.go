package eventbus

// The root package is the upstream-compatible face of package core: every
// exported name of core is re-exported here under the same name (types as
// aliases, so values pass freely between the two; error values are the
// same values, so == holds with either name).

import (
	"context"

	"github.com/GoCodeAlone/modular"
	"github.com/switchyard-go/eventbus/core"
)

// Module-level defaults, applied once, by ValidateConfig.
const (
	// DefaultEngineName is the name of the single engine in
	// single-engine mode.
	DefaultEngineName = core.DefaultEngineName
	// DefaultEngineType is the engine built when neither Engine nor
	// Engines is set.
	DefaultEngineType = core.DefaultEngineType
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
type EventBusConfig = core.EventBusConfig

// EngineConfig defines one engine of multi-engine mode.
type EngineConfig = core.EngineConfig

// RoutingRule routes the topics matching any of Topics to Engine.
type RoutingRule = core.RoutingRule

// Configuration errors, returned (wrapped, naming the field and value) by
// EventBusConfig.ValidateConfig, NewEngineRouter and EventBusModule.Init.
var (
	ErrDuplicateEngineName = core.ErrDuplicateEngineName
	ErrUnknownEngineRef    = core.ErrUnknownEngineRef
	// ErrInvalidConfig wraps every other invalid configuration value.
	ErrInvalidConfig = core.ErrInvalidConfig
)

// Engine registry and routing errors.
var (
	// ErrUnknownEngineType: a config names an engine type nobody
	// registered (the message lists the registered ones).
	ErrUnknownEngineType = core.ErrUnknownEngineType
	// ErrEngineNotFound: a name given to the router is not one of its
	// engines.
	ErrEngineNotFound = core.ErrEngineNotFound
	// ErrSubscriptionNotFound: Unsubscribe got a subscription no engine
	// of the router owns.
	ErrSubscriptionNotFound = core.ErrSubscriptionNotFound
)

// Errors of the EventBus contract, identical to the bus package's values
// (errors.Is works with either name).
var (
	ErrEventBusNotStarted      = core.ErrEventBusNotStarted
	ErrEventBusShutdownTimeout = core.ErrEventBusShutdownTimeout
	ErrEventHandlerNil         = core.ErrEventHandlerNil
	ErrInvalidSubscriptionType = core.ErrInvalidSubscriptionType
	ErrEmptyTopic              = core.ErrEmptyTopic
	ErrWildcardPublish         = core.ErrWildcardPublish
	ErrEventDropped            = core.ErrEventDropped
	ErrDraining                = core.ErrDraining
	ErrPayloadTooLarge         = core.ErrPayloadTooLarge
	ErrHandlerPanic            = core.ErrHandlerPanic
	ErrHandlerGoexit           = core.ErrHandlerGoexit
)

// ErrInvalidShardCount is returned for a shard count below 1 (sharded and
// Kinesis engines); it is bus.ErrInvalidShardCount.
var ErrInvalidShardCount = core.ErrInvalidShardCount

// ErrNoSubjectForEventEmission is returned by EmitEvent when no modular
// observer subject was registered (the application is not observable).
var ErrNoSubjectForEventEmission = core.ErrNoSubjectForEventEmission

// ErrNotInitialized is returned by the module's methods called before
// Init built its router (upstream panics there).
var ErrNotInitialized = core.ErrNotInitialized

// ErrUnknownConfigKey is wrapped by the error for a config key that names
// no setting, in the eventbus section or an engine's config map; it is
// enginekit.ErrUnknownConfigKey (the error is a *enginekit.UnknownKeyError naming the
// keys).
var ErrUnknownConfigKey = core.ErrUnknownConfigKey

// MemoryEventBus is the channel-based memory engine (engines/memory)
// built directly from an EventBusConfig, as in the upstream API.
type MemoryEventBus = core.MemoryEventBus

// NewMemoryEventBus builds a memory engine from the module-level fields of
// config (MaxEventQueueSize, DefaultEventBufferSize, WorkerCount,
// DeliveryMode, PublishBlockTimeout, RotateSubscriberOrder; zero values
// take the defaults). The upstream signature has no error: an invalid
// config makes Start return the error naming the field, and the engine
// never starts.
func NewMemoryEventBus(config *EventBusConfig) *MemoryEventBus {
	return core.NewMemoryEventBus(config)
}

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
type EventBusModule = core.EventBusModule

// NewModule returns a new event bus module (a *EventBusModule) for
// app.RegisterModule.
func NewModule() modular.Module {
	return core.NewModule()
}

// EventSource is the CloudEvents source of every event the module emits.
const EventSource = core.EventSource

// ErrPayloadDecode is wrapped by PayloadAs and by the handlers
// PayloadHandler builds when an event's payload cannot be turned into the
// requested type. It is broker.ErrPayloadDecode (errors.Is works with
// either name).
var ErrPayloadDecode = core.ErrPayloadDecode

// PayloadAs returns the event's payload as a T, and gives the same T
// whichever engine delivered the event, so a topic can move between
// engines in the configuration without touching its handlers.
//
// The in-process engines (sharded, memory, custom) hand handlers the
// value that was published; the broker engines (redis, kafka, kinesis)
// carry it as JSON and hand over the decoded JSON (map[string]any, []any,
// float64, string, bool or nil), or the raw bytes of a []byte payload.
// PayloadAs bridges the two:
//
//   - a payload that already is a T is returned as is: no copy, no
//     allocation, no JSON (the in-process fast path);
//   - a payload that is a *T is dereferenced (a nil *T gives the zero T);
//     with T = *U, a payload that is a U is returned as a pointer to a
//     copy. Both are what the JSON round trip gives on a broker engine.
//     A *T payload asked for as *T is the publisher's own pointer, shared
//     by every in-process subscriber: treat it as read-only;
//   - []byte and json.RawMessage payloads are parsed as JSON into T;
//   - anything else is encoded to JSON and decoded into T (encoding/json,
//     so struct tags apply).
//
// The results are equal on every engine for types that survive an
// encoding/json round trip: exported fields only, no `json:"-"` field the
// handler relies on, time.Time compared with Equal. Numbers cross broker
// engines as float64, so integers beyond ±2^53 lose precision there: tag
// such fields `json:",string"`. Asking for an interface type (any) returns
// the payload as delivered, which differs between engines.
//
// The error, when the payload cannot become a T, wraps ErrPayloadDecode
// and the encoding/json error, and names the topic, the payload's type
// and T.
//
//	bus.Subscribe(ctx, "order.placed", func(ctx context.Context, e eventbus.Event) error {
//		order, err := eventbus.PayloadAs[Order](e)
//		if err != nil {
//			return err
//		}
//		...
//	})
func PayloadAs[T any](e Event) (T, error) {
	return core.PayloadAs[T](e)
}

// PayloadHandler returns an EventHandler that decodes each event's payload
// with PayloadAs[T] and calls h with it. When the payload does not decode,
// h is not called and the handler returns the error (wrapping
// ErrPayloadDecode): the engine counts a failed call, and broker engines
// retry it and then dead-letter the event, as for any handler error.
//
//	bus.Subscribe(ctx, "order.placed", eventbus.PayloadHandler(
//		func(ctx context.Context, e eventbus.Event, o Order) error { ... }))
//
// A nil h gives a nil EventHandler, which Subscribe refuses with
// ErrEventHandlerNil.
func PayloadHandler[T any](h func(ctx context.Context, e Event, payload T) error) EventHandler {
	return core.PayloadHandler[T](h)
}

// RegisterEngine makes an engine type available to configurations.
//
// Registering a type that is already registered replaces its factory (the
// last registration wins), so an application can wrap or replace a
// built-in engine; engines built before the call keep their factory's
// result. An empty type or a nil factory is ignored. Safe for concurrent
// use; register before app.Init so that the configuration validates.
func RegisterEngine(engineType string, factory EngineFactory) {
	core.RegisterEngine(engineType, factory)
}

// GetRegisteredEngines returns the registered engine types, sorted.
func GetRegisteredEngines() []string {
	return core.GetRegisteredEngines()
}

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
type EngineRouter = core.EngineRouter

// NewEngineRouter validates config and builds (without starting) its
// engines. On error nothing is left half-built.
func NewEngineRouter(config *EventBusConfig) (*EngineRouter, error) {
	return core.NewEngineRouter(config)
}

// Event is a message in the event bus; see bus.Event.
type Event = core.Event

// EventHandler handles one event; see bus.EventHandler.
type EventHandler = core.EventHandler

// Subscription is a registered handler; see bus.Subscription.
type Subscription = core.Subscription

// EventBus is the interface every engine implements; see bus.EventBus.
type EventBus = core.EventBus

// DeliveryStats are delivered and dropped counts of an engine or an
// aggregate; see bus.DeliveryStats.
type DeliveryStats = core.DeliveryStats

// EngineStats are the detailed figures an engine reports; see
// bus.EngineStats.
type EngineStats = core.EngineStats

// TopicStats are an engine's figures for one published topic, as
// EngineTopicStats returns them; see bus.TopicStats.
type TopicStats = core.TopicStats

// OtherTopic is the topic under which an engine (and an exporter) counts
// the topics beyond its topic limit; see bus.OtherTopic.
const OtherTopic = core.OtherTopic

// EngineFactory creates an engine from its configuration map
// (EngineConfig.Config, or the module-level settings in single-engine
// mode). The engine is returned stopped; the router starts it.
type EngineFactory = core.EngineFactory

// ModuleName is the module's name and its config section.
const ModuleName = core.ModuleName

// ServiceName is the name under which the module provides itself.
const ServiceName = core.ServiceName

// CloudEvents types the module emits to modular observers.
const (
	EventTypeMessagePublished    = core.EventTypeMessagePublished
	EventTypeMessageReceived     = core.EventTypeMessageReceived
	EventTypeMessageFailed       = core.EventTypeMessageFailed
	EventTypeTopicCreated        = core.EventTypeTopicCreated
	EventTypeTopicDeleted        = core.EventTypeTopicDeleted
	EventTypeSubscriptionCreated = core.EventTypeSubscriptionCreated
	EventTypeSubscriptionRemoved = core.EventTypeSubscriptionRemoved
	EventTypeBusStarted          = core.EventTypeBusStarted
	EventTypeBusStopped          = core.EventTypeBusStopped
	EventTypeConfigLoaded        = core.EventTypeConfigLoaded
)

// WithPartitionKey sets the partition key of events published with ctx
// (see bus.WithPartitionKey); a Metadata key takes precedence.
func WithPartitionKey(ctx context.Context, key string) context.Context {
	return core.WithPartitionKey(ctx, key)
}

// PartitionKeyFromContext returns the key set by WithPartitionKey.
func PartitionKeyFromContext(ctx context.Context) (string, bool) {
	return core.PartitionKeyFromContext(ctx)
}
