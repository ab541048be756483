package kafka

import (
	"errors"
	"fmt"
)

// Sentinel errors of the Kafka engine. Test with errors.Is; the bus
// sentinels (bus.ErrEventBusNotStarted, bus.ErrPayloadTooLarge...) are
// returned where the EventBus contract says.
var (
	// ErrInvalidConfig is wrapped by New, NewEventBus and Config.Validate
	// for a configuration value that is out of range, unknown or
	// inconsistent; the message names the key and the value.
	ErrInvalidConfig = errors.New("invalid kafka config")

	// ErrTopicNotFound is wrapped (by a *TopicError) by Publish and
	// Subscribe when the topic does not exist and autoCreateTopics is
	// off.
	ErrTopicNotFound = errors.New("kafka topic does not exist")

	// ErrDeadLetterTopicMissing is wrapped (by a *TopicError) in the error
	// observer's report of a dead-letter topic that does not exist while
	// autoCreateTopics is off. Subscribe still succeeds: the report comes
	// early so the topic can be created before an event needs it.
	ErrDeadLetterTopicMissing = errors.New("kafka dead-letter topic does not exist")

	// ErrDeadLetterDropped is wrapped in the error observer's report
	// (ScopeDeadLetter) of an event whose dead-letter publish failed
	// repeatedly for a reason retrying cannot cure (dead-letter topic
	// missing with autoCreateTopics off, invalid topic name, record too
	// large): the event is counted as dropped and its partition moves on.
	ErrDeadLetterDropped = errors.New("kafka engine: dead letter could not be written; event dropped")

	// ErrBrokersUnreachable is wrapped by Start when no broker answered
	// within startTimeout.
	ErrBrokersUnreachable = errors.New("kafka brokers unreachable")
)

// TopicError reports a failure about one topic. It wraps the cause
// (ErrTopicNotFound, or the broker's error).
type TopicError struct {
	Topic string
	Op    string // "publish", "subscribe", "create"
	Err   error
}

func (e *TopicError) Error() string {
	return fmt.Sprintf("kafka engine: %s topic %q: %v", e.Op, e.Topic, e.Err)
}

// Unwrap returns the cause.
func (e *TopicError) Unwrap() error { return e.Err }

// invalid returns an error wrapping ErrInvalidConfig that names the key
// and the value.
func invalid(key string, value any, why string) error {
	return fmt.Errorf("%w: %s: %v: %s", ErrInvalidConfig, key, value, why)
}
