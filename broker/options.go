package broker

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// Defaults of Options, applied by WithDefaults to zero fields.
const (
	DefaultSource          = "switchyard"
	DefaultMaxRetries      = 3
	DefaultRetryBackoff    = 100 * time.Millisecond
	DefaultRetryBackoffMax = 5 * time.Second
	DefaultDeadLetterTopic = "dlq.{topic}"
	DefaultMaxPayloadBytes = 4 << 20
	DefaultMaxInFlight     = 64
	DefaultAckMode         = AckAfterHandle

	// MaxPayloadLimit bounds Options.MaxPayloadBytes: 512 MiB.
	MaxPayloadLimit = 512 << 20

	// TopicPlaceholder is replaced by the failing event's topic in
	// Options.DeadLetterTopic.
	TopicPlaceholder = "{topic}"

	// DeadLetterDisabled as Options.DeadLetterTopic turns dead-lettering
	// off: an event that exhausted its retries is acked and counted as
	// dropped (and reported to the observer).
	DeadLetterDisabled = "-"
)

// Options are the settings every broker engine shares. Engines embed them
// in their Config, so they decode from the same engine config map (with
// enginekit.DecodeConfig) under the json names below. The zero value of each
// field means its documented default; call WithDefaults, then Validate.
type Options struct {
	// Source is the CloudEvents "source" attribute of published events
	// (a URI-reference). Default: "switchyard".
	Source string `json:"source,omitempty"`

	// MaxRetries is how many times a failed or panicking handler call is
	// retried (after the first attempt) before the event is dead-lettered.
	// -1 means no retry: the first failure dead-letters. Default: 3.
	MaxRetries int `json:"maxRetries,omitempty"`

	// RetryBackoff is the base of the capped exponential backoff between
	// attempts: attempt n waits a uniformly random time in
	// [0, min(RetryBackoffMax, RetryBackoff·2^(n-1))] (full jitter).
	// Default: 100ms.
	RetryBackoff bus.Duration `json:"retryBackoff,omitempty"`

	// RetryBackoffMax caps one backoff wait. Default: 5s.
	RetryBackoffMax bus.Duration `json:"retryBackoffMax,omitempty"`

	// DeadLetterTopic names the topic failed and malformed events go to;
	// "{topic}" is replaced by the original topic. "-" disables
	// dead-lettering (exhausted events are acked and counted as dropped).
	// Default: "dlq.{topic}".
	DeadLetterTopic string `json:"deadLetterTopic,omitempty"`

	// MaxPayloadBytes caps the encoded data of one event: Publish refuses
	// a larger one (an error wrapping bus.ErrPayloadTooLarge) and a
	// receiver dead-letters a larger entry without calling the handler.
	// -1 disables the check. Default: 4194304 (4 MiB). Max: 536870912
	// (512 MiB, Redis's own limit for one value).
	MaxPayloadBytes int `json:"maxPayloadBytes,omitempty"`

	// MaxInFlight caps the handler calls running at once for one async
	// subscription (SubscribeAsync). Sync subscriptions run one at a time
	// per stream, in order. Each is a goroutine of the subscription.
	// Default: 64. Max: 4096 (enginekit.MaxWorkers).
	MaxInFlight int `json:"maxInFlight,omitempty"`

	// AckMode chooses when a received event is acknowledged:
	// "after-handle" (at-least-once), "on-receive" (at-most-once) or
	// "manual" (the handler calls broker.Ack). Default: "after-handle".
	AckMode AckMode `json:"ackMode,omitempty"`

	// TopicLimit is the number of distinct published topics counted
	// apart in the engine's TopicStats; later topics are counted under
	// bus.OtherTopic, so that memory and exported label sets stay
	// bounded. Default: 256 (bus.DefaultTopicLimit). Max: 65536
	// (enginekit.MaxTopicLimit).
	TopicLimit int `json:"topicLimit,omitempty"`
}

// WithDefaults returns o with every zero field set to its default and
// AckMode normalized to its canonical spelling.
func (o Options) WithDefaults() Options {
	if o.Source == "" {
		o.Source = DefaultSource
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = bus.Duration(DefaultRetryBackoff)
	}
	if o.RetryBackoffMax == 0 {
		o.RetryBackoffMax = bus.Duration(DefaultRetryBackoffMax)
	}
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = DefaultDeadLetterTopic
	}
	if o.MaxPayloadBytes == 0 {
		o.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.TopicLimit == 0 {
		o.TopicLimit = bus.DefaultTopicLimit
	}
	if o.AckMode == "" {
		o.AckMode = DefaultAckMode
	} else if m, err := ParseAckMode(string(o.AckMode)); err == nil {
		o.AckMode = m
	}
	return o
}

// Validate reports the first invalid field as an error wrapping
// ErrInvalidOption that names the field (by its json name) and the value.
// Call it on the result of WithDefaults.
func (o Options) Validate() error {
	switch {
	case o.MaxRetries < -1:
		return invalid("maxRetries", o.MaxRetries, "must be >= -1 (-1: no retry)")
	case o.RetryBackoff < 0:
		return invalid("retryBackoff", o.RetryBackoff.Std(), "must be >= 0")
	case o.RetryBackoffMax < 0:
		return invalid("retryBackoffMax", o.RetryBackoffMax.Std(), "must be >= 0")
	case o.RetryBackoffMax > 0 && o.RetryBackoff > o.RetryBackoffMax:
		return invalid("retryBackoff", o.RetryBackoff.Std(), "must not exceed retryBackoffMax "+o.RetryBackoffMax.Std().String())
	case o.MaxPayloadBytes < -1 || o.MaxPayloadBytes > MaxPayloadLimit:
		return invalid("maxPayloadBytes", o.MaxPayloadBytes, fmt.Sprintf("must be between 1 and %d, or -1 to disable", MaxPayloadLimit))
	case o.MaxInFlight < 0 || o.MaxInFlight > enginekit.MaxWorkers:
		return invalid("maxInFlight", o.MaxInFlight, fmt.Sprintf("must be between 1 and %d", enginekit.MaxWorkers))
	case o.TopicLimit < 0 || o.TopicLimit > enginekit.MaxTopicLimit:
		return invalid("topicLimit", o.TopicLimit, fmt.Sprintf("must be between 1 and %d", enginekit.MaxTopicLimit))
	}
	if _, err := ParseAckMode(string(o.AckMode)); err != nil && o.AckMode != "" {
		return invalid("ackMode", string(o.AckMode), `must be "after-handle", "on-receive" or "manual"`)
	}
	if t := o.DeadLetterTopic; t != "" && t != DeadLetterDisabled {
		if strings.Count(t, TopicPlaceholder) != 1 {
			return invalid("deadLetterTopic", t, `must contain "{topic}" exactly once (or be "-" to disable)`)
		}
		if strings.Contains(t, "*") {
			return invalid("deadLetterTopic", t, `must not contain a wildcard "*"`)
		}
	}
	return nil
}

// Retry returns the retry policy of o (call on the result of WithDefaults).
func (o Options) Retry() RetryPolicy {
	return RetryPolicy{MaxRetries: o.MaxRetries, Backoff: o.RetryBackoff.Std(), MaxBackoff: o.RetryBackoffMax.Std()}
}

// CheckPayload returns a *PayloadSizeError (wrapping bus.ErrPayloadTooLarge)
// when size exceeds MaxPayloadBytes, and nil otherwise or when the check is
// disabled.
func (o Options) CheckPayload(topic string, size int) error {
	if o.MaxPayloadBytes > 0 && size > o.MaxPayloadBytes {
		return &PayloadSizeError{Topic: topic, Size: size, Limit: o.MaxPayloadBytes}
	}
	return nil
}
