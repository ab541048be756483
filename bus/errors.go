package bus

import (
	"errors"
	"fmt"
	"runtime/debug"
)

// Sentinel errors shared by every engine. The four the upstream API
// documents (ErrEventBusNotStarted, ErrEventBusShutdownTimeout,
// ErrEventHandlerNil, ErrInvalidSubscriptionType) are returned as the
// values themselves by every built-in engine, so code written for upstream
// can compare them with ==; the conformance suite checks it. The others
// may be wrapped with context (topic, value): test them with errors.Is.
var (
	// ErrEventBusNotStarted is returned by Publish, Subscribe and
	// SubscribeAsync before Start and after Stop.
	ErrEventBusNotStarted = errors.New("event bus not started")

	// ErrEventBusShutdownTimeout is returned by Stop when its context
	// expired before every accepted event was delivered.
	ErrEventBusShutdownTimeout = errors.New("event bus shutdown timed out")

	// ErrEventHandlerNil is returned by Subscribe and SubscribeAsync for
	// a nil handler.
	ErrEventHandlerNil = errors.New("event handler cannot be nil")

	// ErrInvalidSubscriptionType is returned by Unsubscribe for a
	// subscription that this engine did not create.
	ErrInvalidSubscriptionType = errors.New("invalid subscription type")

	// ErrEmptyTopic is returned by Publish and Subscribe for an empty
	// topic.
	ErrEmptyTopic = errors.New("topic cannot be empty")

	// ErrWildcardPublish is returned by Publish when the topic contains a
	// wildcard: wildcards are for subscriptions only.
	ErrWildcardPublish = errors.New("cannot publish to a wildcard topic")

	// ErrEventDropped is returned by Publish in the modes that drop
	// instead of waiting (memory "drop" and "timeout", sharded
	// "drop-newest" and "timeout") when the event could not be queued
	// for at least one subscription. The drop is also counted.
	ErrEventDropped = errors.New("event dropped: queue full")

	// ErrDraining is wrapped by the error the module and router return
	// for a Publish after PreStop began draining the bus (and after Stop):
	// the event was not accepted. That error also matches
	// ErrEventBusNotStarted.
	ErrDraining = errors.New("event bus is draining")

	// ErrPayloadTooLarge is returned by Publish when the encoded event
	// exceeds the engine's payload limit.
	ErrPayloadTooLarge = errors.New("payload too large")

	// ErrInvalidShardCount is returned (wrapped, with the value) for a
	// shard count below 1 by the engines that shard.
	ErrInvalidShardCount = errors.New("invalid shard count")

	// ErrHandlerPanic is wrapped by the error recorded for a handler that
	// panicked.
	ErrHandlerPanic = errors.New("event handler panicked")

	// ErrHandlerGoexit is matched (errors.Is) by the error recorded for a
	// handler that ended its goroutine with runtime.Goexit (t.FailNow,
	// require.* in tests). Engines treat such a call as a panic: it is a
	// *PanicError, counted as failed and as a panic, reported to the
	// observer, and the subscription keeps receiving.
	ErrHandlerGoexit = errors.New("event handler called runtime.Goexit")
)

// PanicError is the error a recovered handler panic turns into.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the goroutine stack at the panic
}

func (e *PanicError) Error() string {
	if e.Value == ErrHandlerGoexit {
		return "event handler panicked: it called runtime.Goexit (t.FailNow, require.* or similar)"
	}
	return fmt.Sprintf("event handler panicked: %v", e.Value)
}

// Unwrap lets errors.Is(err, ErrHandlerPanic) match.
func (e *PanicError) Unwrap() error { return ErrHandlerPanic }

// Is lets errors.Is(err, ErrHandlerGoexit) match the error of a handler
// that called runtime.Goexit.
func (e *PanicError) Is(target error) bool {
	return target == ErrHandlerGoexit && e.Value == ErrHandlerGoexit
}

// GoexitError returns the error recorded for a handler call that ended
// its goroutine with runtime.Goexit: a *PanicError whose Value is
// ErrHandlerGoexit, with the stack of the goroutine that exited.
func GoexitError() *PanicError {
	return &PanicError{Value: ErrHandlerGoexit, Stack: debug.Stack()}
}
