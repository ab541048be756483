package kinesis

import (
	"errors"
	"fmt"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
)

// Sentinel errors of the Kinesis engine. Test with errors.Is; the shared
// ones (bus.ErrEventBusNotStarted, bus.ErrPayloadTooLarge…) are returned
// where the bus contract says.
var (
	// ErrInvalidConfig is wrapped by New, NewEventBus and Config.Validate
	// for a missing or out-of-range setting; the message names the field
	// and the value. It is broker.ErrInvalidOption, so one errors.Is
	// check covers every broker engine.
	ErrInvalidConfig = broker.ErrInvalidOption

	// ErrStreamNotFound is returned by Start when the stream does not
	// exist and createStream is off.
	ErrStreamNotFound = errors.New("kinesis stream not found")

	// ErrRecordTooLarge is returned by Publish when the encoded record
	// (CloudEvent JSON plus partition key) exceeds maxRecordBytes. It
	// wraps bus.ErrPayloadTooLarge.
	ErrRecordTooLarge = fmt.Errorf("kinesis record too large: %w", bus.ErrPayloadTooLarge)

	// ErrPublishFailed is wrapped by Publish (and reported to the error
	// observer in async mode) when Kinesis refused a record for good: a
	// non-retryable error, or retries ran out of time. The record was not
	// written.
	ErrPublishFailed = errors.New("kinesis publish failed")

	// ErrPublishUnknown is wrapped by Publish when ctx ended while the
	// record was in a PutRecords call: it may or may not have been
	// written. Publishing it again is at-least-once.
	ErrPublishUnknown = errors.New("kinesis publish outcome unknown")

	// ErrDeadLetterDropped is wrapped in the error observer's report
	// (ScopeDeadLetter) of an event whose dead letter was refused
	// repeatedly as too large (over maxRecordBytes or maxPayloadBytes):
	// the event is counted as dropped and its shard moves on.
	ErrDeadLetterDropped = errors.New("kinesis: dead letter could not be written; event dropped")

	// ErrLeaseLost is checkpoint.ErrLeaseLost: a worker lost a shard's
	// lease to another (reported to the error observer; the shard is
	// read by the new owner from the last checkpoint).
	ErrLeaseLost = checkpoint.ErrLeaseLost
)

// invalid returns an error wrapping ErrInvalidConfig naming field and value.
func invalid(field string, value any, why string) error {
	return fmt.Errorf("%w: %s: %v: %s", ErrInvalidConfig, field, value, why)
}
