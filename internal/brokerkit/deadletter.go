package brokerkit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// DeadLetter is an event on its way to a dead-letter topic.
type DeadLetter struct {
	// Topic is the dead-letter topic to publish Event to.
	Topic string
	// Event is the original event, re-addressed to Topic, with the
	// MetadataKeyDeadLetter* entries added.
	Event bus.Event
	// Reason and Attempts are also in Event.Metadata.
	Reason   string
	Attempts int
	// Type and Source are the original event's CloudEvents type and
	// source, which the dead letter keeps (see Context); empty for an
	// entry that could not be decoded.
	Type, Source string
}

// Context returns ctx carrying the dead letter's type and source
// (WithOrigin): engines publish the dead letter with it, so that it keeps
// the original event's type and source.
func (dl DeadLetter) Context(ctx context.Context) context.Context {
	return WithOrigin(ctx, dl.Type, dl.Source)
}

// NewDeadLetter builds the dead letter of env, which failed on its topic
// for reason after attempts handler calls in subscription subID. ok is
// false when there is no dead-letter topic for it (see
// DeadLetterTopicFor): the caller then acks it and counts it as dropped.
func NewDeadLetter(o broker.Options, env Envelope, subID string, reason error, attempts int) (DeadLetter, bool) {
	topic, ok := o.DeadLetterTopicFor(env.Event.Topic)
	if !ok {
		return DeadLetter{}, false
	}
	why := "unknown"
	if reason != nil {
		why = reason.Error()
	}
	md := make(map[string]any, len(env.Event.Metadata)+5)
	maps.Copy(md, env.Event.Metadata)
	md[broker.MetadataKeyDeadLetterReason] = why
	md[broker.MetadataKeyDeadLetterAttempts] = attempts
	md[broker.MetadataKeyDeadLetterTopic] = env.Event.Topic
	if env.ID != "" {
		md[broker.MetadataKeyDeadLetterID] = env.ID
	}
	if subID != "" {
		md[broker.MetadataKeyDeadLetterSubscription] = subID
	}
	if env.Subject != "" && env.Subject != env.Event.Topic {
		md[broker.MetadataKeyDeadLetterSubject] = env.Subject
	}
	ev := bus.Event{Topic: topic, Payload: env.Event.Payload, Metadata: md, CreatedAt: env.Event.CreatedAt}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = time.Now()
	}
	return DeadLetter{Topic: topic, Event: ev, Reason: why, Attempts: attempts, Type: env.Type, Source: env.Source}, true
}

// NewRejectedDeadLetter builds the dead letter of an entry that never
// reached a handler: undecodable (err wraps ErrMalformed) or oversized
// (err wraps bus.ErrPayloadTooLarge). raw is kept as the []byte Payload
// when it is within MaxPayloadBytes, and dropped otherwise (the reason
// says how large it was). entryID is the broker's id of the entry.
func NewRejectedDeadLetter(o broker.Options, topic, entryID string, raw []byte, err error) (DeadLetter, bool) {
	var payload any
	if raw != nil && (o.MaxPayloadBytes <= 0 || len(raw) <= o.MaxPayloadBytes) {
		payload = raw
	}
	reason := err
	switch {
	case errors.Is(err, broker.ErrMalformed):
		reason = fmt.Errorf("malformed: %w", err)
	case errors.Is(err, bus.ErrPayloadTooLarge):
		reason = fmt.Errorf("rejected on receive: %w", err)
	}
	return NewDeadLetter(o, Envelope{Event: bus.Event{Topic: topic, Payload: payload}, ID: entryID}, "", reason, 0)
}
