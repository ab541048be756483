package core

import (
	"errors"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// Configuration errors, returned (wrapped, naming the field and value) by
// EventBusConfig.ValidateConfig, NewEngineRouter and EventBusModule.Init.
var (
	ErrDuplicateEngineName = errors.New("duplicate engine name")
	ErrUnknownEngineRef    = errors.New("routing rule references unknown engine")
	// ErrInvalidConfig wraps every other invalid configuration value.
	ErrInvalidConfig = errors.New("invalid eventbus configuration")
)

// Engine registry and routing errors.
var (
	// ErrUnknownEngineType: a config names an engine type nobody
	// registered (the message lists the registered ones).
	ErrUnknownEngineType = errors.New("unknown engine type")
	// ErrEngineNotFound: a name given to the router is not one of its
	// engines.
	ErrEngineNotFound = errors.New("engine not found")
	// ErrSubscriptionNotFound: Unsubscribe got a subscription no engine
	// of the router owns.
	ErrSubscriptionNotFound = errors.New("subscription not found in any engine")
)

// Errors of the EventBus contract, identical to the bus package's values
// (errors.Is works with either name).
var (
	ErrEventBusNotStarted      = bus.ErrEventBusNotStarted
	ErrEventBusShutdownTimeout = bus.ErrEventBusShutdownTimeout
	ErrEventHandlerNil         = bus.ErrEventHandlerNil
	ErrInvalidSubscriptionType = bus.ErrInvalidSubscriptionType
	ErrEmptyTopic              = bus.ErrEmptyTopic
	ErrWildcardPublish         = bus.ErrWildcardPublish
	ErrEventDropped            = bus.ErrEventDropped
	ErrDraining                = bus.ErrDraining
	ErrPayloadTooLarge         = bus.ErrPayloadTooLarge
	ErrHandlerPanic            = bus.ErrHandlerPanic
	ErrHandlerGoexit           = bus.ErrHandlerGoexit
)

// ErrInvalidShardCount is returned for a shard count below 1 (sharded and
// Kinesis engines); it is bus.ErrInvalidShardCount.
var ErrInvalidShardCount = bus.ErrInvalidShardCount

// ErrNoSubjectForEventEmission is returned by EmitEvent when no modular
// observer subject was registered (the application is not observable).
var ErrNoSubjectForEventEmission = errors.New("no subject available for event emission")

// ErrNotInitialized is returned by the module's methods called before
// Init built its router (upstream panics there).
var ErrNotInitialized = errors.New("eventbus module not initialized: call app.Init first")

// ErrUnknownConfigKey is wrapped by the error for a config key that names
// no setting, in the eventbus section or an engine's config map; it is
// enginekit.ErrUnknownConfigKey (the error is a *enginekit.UnknownKeyError naming the
// keys).
var ErrUnknownConfigKey = enginekit.ErrUnknownConfigKey
