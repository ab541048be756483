package enginekit

import (
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
)

// ValidatePublishTopic returns an error wrapping ErrEmptyTopic or
// ErrWildcardPublish when topic cannot be published to.
func ValidatePublishTopic(topic string) error {
	if topic == "" {
		return bus.ErrEmptyTopic
	}
	if bus.IsPattern(topic) {
		return fmt.Errorf("%w: %q", bus.ErrWildcardPublish, topic)
	}
	return nil
}

// ValidateSubscription returns ErrEmptyTopic or ErrEventHandlerNil
// (the values themselves, so == holds) for arguments no engine accepts.
func ValidateSubscription(topic string, handler bus.EventHandler) error {
	if topic == "" {
		return bus.ErrEmptyTopic
	}
	if handler == nil {
		return bus.ErrEventHandlerNil
	}
	return nil
}

// ValidateConsumeRequest checks what every engine requires of a request:
// a non-empty topic and a Limit of at least 1. Engines call it first in
// Poll; the error wraps ErrEmptyTopic or ErrInvalidConsumeRequest.
func ValidateConsumeRequest(topic string, req bus.ConsumeRequest) error {
	if topic == "" {
		return bus.ErrEmptyTopic
	}
	if req.Limit < 1 {
		return fmt.Errorf("%w: limit %d: must be >= 1", bus.ErrInvalidConsumeRequest, req.Limit)
	}
	for _, s := range req.Shards {
		if s < 0 {
			return fmt.Errorf("%w: shard %d: must be >= 0", bus.ErrInvalidConsumeRequest, s)
		}
	}
	return nil
}
