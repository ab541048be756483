package broker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Metadata keys a dead-lettered event carries in addition to the original
// event's Metadata.
const (
	// MetadataKeyDeadLetterReason is why the event was dead-lettered: the
	// handler's last error, "malformed: …" or "payload too large: …".
	MetadataKeyDeadLetterReason = "deadLetterReason"
	// MetadataKeyDeadLetterAttempts is the number of handler calls made
	// (0 for malformed and oversized entries, which never reach one).
	MetadataKeyDeadLetterAttempts = "deadLetterAttempts"
	// MetadataKeyDeadLetterTopic is the topic the event was published to.
	MetadataKeyDeadLetterTopic = "deadLetterTopic"
	// MetadataKeyDeadLetterID is the CloudEvents id of the original event
	// (or the broker's entry id for a malformed entry).
	MetadataKeyDeadLetterID = "deadLetterId"
	// MetadataKeyDeadLetterSubscription is the id of the subscription
	// whose handler gave up.
	MetadataKeyDeadLetterSubscription = "deadLetterSubscription"
	// MetadataKeyDeadLetterSubject is the original event's CloudEvents
	// subject, set when it differs from its topic (an event of another
	// producer; the dead letter's own subject is the dead-letter topic).
	MetadataKeyDeadLetterSubject = "deadLetterSubject"
)

// deadLetterAffixes splits the DeadLetterTopic template around "{topic}".
func (o Options) deadLetterAffixes() (prefix, suffix string, ok bool) {
	t := o.DeadLetterTopic
	if t == "" {
		t = DefaultDeadLetterTopic
	}
	if t == DeadLetterDisabled {
		return "", "", false
	}
	prefix, suffix, ok = strings.Cut(t, TopicPlaceholder)
	return prefix, suffix, ok
}

// DeadLetterTopicFor returns the dead-letter topic of events that failed on
// topic. ok is false when dead-lettering is disabled, and when topic is
// itself a dead-letter topic (a dead letter is never dead-lettered again,
// so a failing dead-letter consumer cannot loop).
func (o Options) DeadLetterTopicFor(topic string) (string, bool) {
	prefix, suffix, ok := o.deadLetterAffixes()
	if !ok || o.IsDeadLetterTopic(topic) {
		return "", false
	}
	return prefix + topic + suffix, true
}

// IsDeadLetterTopic reports whether topic is a dead-letter topic under the
// DeadLetterTopic template.
func (o Options) IsDeadLetterTopic(topic string) bool {
	prefix, suffix, ok := o.deadLetterAffixes()
	if !ok {
		return false
	}
	return len(topic) > len(prefix)+len(suffix) && strings.HasPrefix(topic, prefix) && strings.HasSuffix(topic, suffix)
}

// SubscriptionMatches is bus.MatchTopic with one exception that keeps
// dead letters out of ordinary wildcard subscriptions: a dead-letter topic
// is matched by its exact name, and by a wildcard pattern only when the
// pattern lies inside the dead-letter namespace ("dlq.*", "dlq.order.*"
// with the default template; never "*" or "order.*"). With a template that
// has no prefix ("{topic}.dlq"), dead-letter topics are matched by exact
// name only. Broker engines use it to decide which topics (streams) a
// subscription reads.
func (o Options) SubscriptionMatches(pattern, topic string) bool {
	if !bus.MatchTopic(pattern, topic) {
		return false
	}
	if pattern == topic || !o.IsDeadLetterTopic(topic) {
		return true
	}
	prefix, _, _ := o.deadLetterAffixes()
	stem := strings.TrimSuffix(pattern, "*")
	return prefix != "" && strings.HasPrefix(stem, prefix)
}

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
func (o Options) NewDeadLetter(env Envelope, subID string, reason error, attempts int) (DeadLetter, bool) {
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
	md[MetadataKeyDeadLetterReason] = why
	md[MetadataKeyDeadLetterAttempts] = attempts
	md[MetadataKeyDeadLetterTopic] = env.Event.Topic
	if env.ID != "" {
		md[MetadataKeyDeadLetterID] = env.ID
	}
	if subID != "" {
		md[MetadataKeyDeadLetterSubscription] = subID
	}
	if env.Subject != "" && env.Subject != env.Event.Topic {
		md[MetadataKeyDeadLetterSubject] = env.Subject
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
func (o Options) NewRejectedDeadLetter(topic, entryID string, raw []byte, err error) (DeadLetter, bool) {
	var payload any
	if raw != nil && (o.MaxPayloadBytes <= 0 || len(raw) <= o.MaxPayloadBytes) {
		payload = raw
	}
	reason := err
	switch {
	case errors.Is(err, ErrMalformed):
		reason = fmt.Errorf("malformed: %w", err)
	case errors.Is(err, bus.ErrPayloadTooLarge):
		reason = fmt.Errorf("rejected on receive: %w", err)
	}
	return o.NewDeadLetter(Envelope{Event: bus.Event{Topic: topic, Payload: payload}, ID: entryID}, "", reason, 0)
}
