package sharded

import (
	"errors"

	"github.com/switchyard-go/eventbus/bus"
)

// Sentinel errors of the sharded engine. The engine also returns the
// shared sentinels of package bus (bus.ErrEventBusNotStarted,
// bus.ErrEventDropped, bus.ErrEventBusShutdownTimeout, …). The ones the
// upstream API documents (ErrEventBusNotStarted, ErrEventHandlerNil,
// ErrInvalidSubscriptionType, ErrEventBusShutdownTimeout) are returned
// bare, so == holds; test the others with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every configuration error returned
	// by New, NewEventBus and Config.Validate. The message names the
	// field and the rejected value.
	ErrInvalidConfig = errors.New("sharded engine: invalid config")

	// ErrInvalidShardCount is returned (wrapped, with the value) by
	// Resize, AddShards and RemoveShards when the resulting shard count
	// would be below 1 or above MaxShards. It is bus.ErrInvalidShardCount.
	ErrInvalidShardCount = bus.ErrInvalidShardCount

	// ErrInvalidScalingDecision is returned (wrapped, with the value) by
	// ApplyScaling for a decision it cannot apply: a negative Add.
	ErrInvalidScalingDecision = errors.New("sharded engine: invalid scaling decision")
)
