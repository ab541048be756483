package broker

import (
	"fmt"
	"strings"
)

// AckMode says when a received event is acknowledged to the broker (Redis
// XACK, Kafka offset commit, Kinesis checkpoint).
type AckMode string

const (
	// AckAfterHandle acknowledges once the handler returned nil, or once
	// the event was dead-lettered after its retries: at-least-once. An
	// event whose handler was running when the process died is
	// redelivered. This is the default.
	AckAfterHandle AckMode = "after-handle"

	// AckOnReceive acknowledges before the handler is called:
	// at-most-once. Retries still happen in process, but a crash loses
	// the events being handled. Opt in for events you can afford to lose.
	AckOnReceive AckMode = "on-receive"

	// AckManual leaves acknowledgement to the handler, which calls
	// broker.Ack(ctx) (now or later, from any goroutine). The engine never
	// acks on its own and does not retry in process; an event never acked
	// is redelivered by the broker (Redis: after the claim timeout). A
	// handler error is counted and reported, nothing more.
	AckManual AckMode = "manual"
)

// ParseAckMode parses an ack mode, ignoring case, "-" and "_": "manual",
// "after-handle", "afterHandle", "ON_RECEIVE" are all accepted.
func ParseAckMode(s string) (AckMode, error) {
	k := strings.ToLower(strings.NewReplacer("-", "", "_", "").Replace(s))
	switch k {
	case "afterhandle":
		return AckAfterHandle, nil
	case "onreceive":
		return AckOnReceive, nil
	case "manual":
		return AckManual, nil
	}
	return "", fmt.Errorf("%w: ackMode: %q: must be \"after-handle\", \"on-receive\" or \"manual\"", ErrInvalidOption, s)
}
