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

	// NewInGroup returns a new, unstarted engine whose subscriptions join
	// the named consumer group: engines built with the same group share a
	// topic's events, each going to one of them. Required by
	// Features.ConsumerGroups and Features.ConsumerCrash.
	NewInGroup func(t *testing.T, group string) bus.EventBus

	// RestartBroker stops the broker the engines use and starts it again
	// with its data (as a restart of the server process does), returning
	// once it accepts connections. Required by Features.BrokerRestart.
	RestartBroker func(t *testing.T)

	// CrashConsumer starts a consumer of topic in group that dies without
	// Stop (killed), in another process or any other way the engine can be
	// made to vanish mid-work. Its handler never returns. The consumer is
	// subscribed when CrashConsumer returns; received reports how many
	// events its handler has been given so far, and kill kills it and
	// returns once it is gone. Required by Features.ConsumerCrash.
	CrashConsumer func(t *testing.T, group, topic string) (received func() int, kill func())

	// PollShards returns the shard ids (sharded engine), partitions
	// (Kafka) or shard indexes (Kinesis) that a Poll of topic on b may
	// name in ConsumeRequest.Shards. Nil: the Shards check is skipped.
	PollShards func(t *testing.T, b bus.EventBus, topic string) []int

	// TrimTopic discards every retained event of topic on b but the
	// newest keep, as the engine's retention would, so that a cursor
	// pointing before them is stale. Required by Features.PollGap.
	TrimTopic func(t *testing.T, b bus.EventBus, topic string, keep int)

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

	// ConsumerGroups is set by engines whose subscriptions can share a
	// named consumer group (Config.NewInGroup): the group's engines split
	// a topic's events, each event handled by exactly one of them.
	ConsumerGroups bool

	// RedeliveryAfterHandlerError is set by engines that deliver an event
	// again, unchanged, after its handler returned an error, until a call
	// succeeds (within the engine's retry budget).
	RedeliveryAfterHandlerError bool

	// BrokerRestart is set by engines that ride out a restart of their
	// broker (Config.RestartBroker): a subscription keeps receiving, and
	// every event accepted before or after the restart is delivered.
	BrokerRestart bool

	// ConsumerCrash is set by engines whose consumer groups survive a
	// consumer that dies mid-work (Config.CrashConsumer): every event the
	// dead consumer held is delivered to another consumer of the group.
	ConsumerCrash bool

	// Poll is set by engines that (as New builds them) implement
	// bus.Poller: the poll checks run. An engine that does not set it
	// and still has a Poll method must answer it with an error wrapping
	// bus.ErrPollUnsupported.
	Poll bool

	// PollRestart is set by engines whose poll cursors stay valid on a
	// new engine (New again) after Stop: broker engines, whose positions
	// are the broker's.
	PollRestart bool

	// PollGap is set by engines whose retention can be forced by
	// Config.TrimTopic: a cursor pointing at trimmed events reports Gap
	// and the poll continues from the oldest retained event.
	PollGap bool

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
