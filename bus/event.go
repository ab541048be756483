package bus

import (
	"context"
	"time"
)

// Event is a message travelling through an event bus.
//
// In-process engines hand the same Payload value (not a copy) to every
// subscriber; broker engines carry it as JSON inside a CloudEvent and hand
// subscribers the decoded JSON value. Handlers must treat an Event as
// read-only.
type Event struct {
	// Topic is the channel or subject of the event, for example
	// "user.created" or "order.payment.failed". It must not be empty and
	// must not contain a wildcard when publishing.
	Topic string `json:"topic"`

	// Payload is the data associated with the event.
	Payload interface{} `json:"payload"`

	// Metadata holds contextual data that is not part of the payload
	// (source, correlation ids, trace context, the partition key).
	// It may be nil.
	Metadata map[string]interface{} `json:"metadata,omitempty"`

	// CreatedAt is when the event was created. Engines set it to the
	// publish time when the publisher left it zero.
	CreatedAt time.Time `json:"createdAt"`

	// ProcessingStarted is set on the copy handed to a handler, just
	// before the handler is called, when the engine tracks it.
	ProcessingStarted *time.Time `json:"processingStarted,omitempty"`

	// ProcessingCompleted is set when a handler returned, when the engine
	// tracks it.
	ProcessingCompleted *time.Time `json:"processingCompleted,omitempty"`
}

// EventHandler handles one event. A non-nil error (or a panic, which every
// engine recovers, or a call to runtime.Goexit, which every engine treats
// as a panic: ErrHandlerGoexit) is counted as a failed delivery and
// reported to the observer; broker engines retry it according to their
// retry policy.
//
// The context carries the publisher's values (trace ids, tenant,
// request-scoped values) but not the publisher's cancellation; it is
// cancelled only when the engine's Stop deadline expires.
type EventHandler func(ctx context.Context, event Event) error

// Subscription is a registered handler for a topic pattern.
type Subscription interface {
	// Topic returns the topic pattern that was subscribed to; it may
	// contain a wildcard (see MatchTopic).
	Topic() string
	// ID returns an identifier unique across all engines of the process.
	ID() string
	// IsAsync reports whether the handler runs on a worker pool
	// (SubscribeAsync) rather than in order on the subscription's
	// delivery goroutine (Subscribe).
	IsAsync() bool
	// Cancel removes the subscription from the bus that created it, as
	// Unsubscribe does, without waiting for a handler call in flight (the
	// in-process engines; so a handler may cancel its own subscription).
	// It is idempotent and safe for concurrent use.
	Cancel() error
}

// EventBus is the interface every engine implements. All methods are safe
// for concurrent use and treat a nil ctx as context.Background() (the
// conformance suite checks both).
//
// Lifecycle: a bus is created stopped. Start makes it accept publishes;
// Stop refuses new publishes, delivers every event already accepted (or
// reports how many it could not before ctx expired) and releases
// resources. Stop then Start again is supported; subscriptions survive a
// restart and receive events published after it.
type EventBus interface {
	// Start prepares the bus for publishing and delivery. Calling Start on
	// a started bus is a no-op.
	Start(ctx context.Context) error

	// Stop refuses new publishes, drains events already accepted and
	// waits for running handlers. If ctx expires first, handler contexts
	// are cancelled, the undelivered events are counted as dropped and an
	// error wrapping ErrEventBusShutdownTimeout is returned. Calling Stop
	// on a stopped bus is a no-op.
	Stop(ctx context.Context) error

	// Publish sends an event to every subscription whose pattern matches
	// event.Topic. A nil error means the event was accepted: it will be
	// delivered, or counted as dropped (only in modes the user opted into).
	// ctx bounds the wait for queue space; its values reach the handlers.
	Publish(ctx context.Context, event Event) error

	// Subscribe registers a handler whose events are delivered in publish
	// order, one at a time.
	Subscribe(ctx context.Context, topic string, handler EventHandler) (Subscription, error)

	// SubscribeAsync registers a handler that runs on a bounded worker
	// pool; events may be handled concurrently and out of order.
	SubscribeAsync(ctx context.Context, topic string, handler EventHandler) (Subscription, error)

	// Unsubscribe removes a subscription at once (Topics and
	// SubscriberCount no longer count it) and waits, up to a bound, for a
	// handler call in flight (not when called with that handler's own
	// ctx). Events accepted for it and not yet handled are counted as
	// dropped by the in-process engines. It is idempotent, before and
	// after Stop.
	Unsubscribe(ctx context.Context, subscription Subscription) error

	// Topics returns the topic patterns that currently have at least one
	// subscription, sorted.
	Topics() []string

	// SubscriberCount returns the number of subscriptions registered with
	// exactly this topic pattern (sync and async).
	SubscriberCount(topic string) int
}

// DeliveryStats represents basic delivery outcomes for an engine or an
// aggregate. Counters are monotonic for the life of the engine value.
type DeliveryStats struct {
	Delivered uint64 `json:"delivered" yaml:"delivered"`
	Dropped   uint64 `json:"dropped" yaml:"dropped"`
}

// StatsProvider is implemented by engines that report delivery counts.
// Delivered counts handler calls that returned (successfully or not);
// Dropped counts accepted events that were not handed to a handler.
type StatsProvider interface {
	Stats() (delivered uint64, dropped uint64)
}
