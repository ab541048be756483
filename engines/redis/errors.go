package redis

import (
	"errors"
	"strings"
)

// Sentinel errors of the Redis engine. Test with errors.Is. The shared
// ones (bus.ErrEventBusNotStarted, bus.ErrPayloadTooLarge,
// broker.ErrInvalidOption…) are wrapped where the bus contract says.
var (
	// ErrUnreachable is wrapped by Start when Redis does not answer PING
	// (wrong URL, server down, bad credentials).
	ErrUnreachable = errors.New("redis unreachable")

	// ErrInvalidConfig is wrapped by New and NewEventBus for a config
	// value out of range; the message names the field and the value. It
	// also wraps broker.ErrInvalidOption.
	ErrInvalidConfig = errors.New("invalid redis engine config")

	// ErrTooManyDeliveries is the reason (in the dead letter and the
	// error observer's report) an entry delivered more than MaxDeliveries
	// times is dead-lettered without reaching the handler again.
	ErrTooManyDeliveries = errors.New("delivered too many times without being acknowledged")
)

// Redis replies the engine branches on. They are matched here, once,
// by their documented error-code prefix.
func isBusyGroup(err error) bool { return hasCode(err, "BUSYGROUP") }
func isNoGroup(err error) bool   { return hasCode(err, "NOGROUP") }

// isNoSuchKey reports the reply of XINFO STREAM for a stream that does
// not exist (yet, or any more): "ERR no such key".
func isNoSuchKey(err error) bool { return hasCode(err, "ERR no such key") }

func hasCode(err error, code string) bool {
	return err != nil && strings.HasPrefix(err.Error(), code)
}
