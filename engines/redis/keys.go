package redis

import (
	"strings"
)

// streamKey returns the stream that carries topic.
func (b *EventBus) streamKey(topic string) string { return b.cfg.KeyPrefix + topic }

// topicOf returns the topic a stream key carries.
func (b *EventBus) topicOf(key string) string { return strings.TrimPrefix(key, b.cfg.KeyPrefix) }

// scanPattern returns the SCAN MATCH pattern of the streams a subscription
// pattern can match: the key prefix and the topic pattern's literal part,
// glob-escaped, followed by "*".
func (b *EventBus) scanPattern(pattern string) string {
	stem := b.cfg.KeyPrefix
	if pattern != "*" {
		stem += strings.TrimSuffix(pattern, "*")
	}
	return globEscape(stem) + "*"
}

// globEscape escapes the characters Redis glob patterns treat specially.
func globEscape(s string) string {
	if !strings.ContainsAny(s, `*?[]\`) {
		return s
	}
	var sb strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
