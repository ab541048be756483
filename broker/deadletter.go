package broker

import (
	"strings"

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
