package eventbustest

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
)

// Config tells the suite how to build the engine under test and what it
// guarantees.
type Config struct {
	// New returns a new, unstarted engine. The suite starts and stops it.
	// Two engines returned by New must be independent (no shared
	// subscriptions), though they may share a broker.
	New func(t *testing.T) bus.EventBus

	Features Features
}

// Features declares what the engine does not guarantee, and how slow it
// may be. The zero value is the strictest.
type Features struct {
	// Lossy is set by engines configured to drop events when queues are
	// full; the lossless checks are then skipped (and reported as such).
	Lossy bool

	// UnorderedSync is set by engines whose Subscribe handlers may see
	// one publisher's events on a topic out of order.
	UnorderedSync bool

	// ContextValuesViaMetadataOnly is set by broker engines: publisher
	// context values cannot cross the wire, only Metadata does.
	ContextValuesViaMetadataOnly bool

	// PayloadRoundTripsAsJSON is set by broker engines, whose handlers
	// receive the payload decoded from JSON (map[string]any, float64…)
	// rather than the published Go value.
	PayloadRoundTripsAsJSON bool

	// AtLeastOnce is set by engines that may redeliver an event whose
	// handler failed or panicked (retries), so duplicates of a failed
	// event are allowed.
	AtLeastOnce bool

	// Persistent is set by broker engines: Stop may leave accepted events
	// in the broker, and they must be delivered after the next Start
	// instead of by the time Stop returns.
	Persistent bool

	// UnsubscribeForeignErr is the error value Unsubscribe returns for a
	// subscription this engine did not create. Default:
	// bus.ErrInvalidSubscriptionType, as upstream's engines return.
	// Switchyard's router and module set eventbus.ErrSubscriptionNotFound,
	// as upstream's router returns.
	UnsubscribeForeignErr error

	// DeliveryTimeout bounds every wait for a delivery. Default: 5s.
	DeliveryTimeout time.Duration

	// LeakOptions are passed to goleak when checking that Stop leaves no
	// goroutine behind (for example to ignore a client library's
	// process-global goroutine).
	LeakOptions []goleak.Option
}

func (f Features) timeout() time.Duration {
	if f.DeliveryTimeout <= 0 {
		return 5 * time.Second
	}
	return f.DeliveryTimeout
}
