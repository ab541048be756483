package bus

import (
	"strings"
)

// Wildcard is the pattern that matches every topic.
const Wildcard = "*"

// MatchTopic reports whether topic matches pattern. Every Switchyard engine
// and the router use this one rule:
//
//   - "*" matches every topic;
//   - a pattern ending in "*" matches every topic that starts with the text
//     before the "*": "order.*" matches "order.placed" and "order.a.b" but
//     not "order" or "orders.x"; "order*" matches "order" and "orders";
//   - any other pattern matches only the identical topic ("*" elsewhere
//     than at the end is a literal character).
//
// MatchTopic does not allocate.
func MatchTopic(pattern, topic string) bool {
	if pattern == topic {
		return true
	}
	n := len(pattern)
	if n == 0 || pattern[n-1] != '*' {
		return false
	}
	return strings.HasPrefix(topic, pattern[:n-1])
}

// IsPattern reports whether a subscription topic is a wildcard pattern
// (ends in "*") rather than a literal topic.
func IsPattern(topic string) bool {
	return strings.HasSuffix(topic, "*")
}
