// Package redis is Switchyard's Redis Streams engine (engine type
// "redis"), built on github.com/redis/go-redis/v9 and the shared broker
// toolkit (package broker).
//
// # Model
//
// Each topic is one stream (KeyPrefix + topic). Publish appends the event
// as a CloudEvent in binary content mode (XADD, one field per attribute,
// the data in field "data"), pipelined with the publishes of other
// goroutines; it returns once Redis stored the entry. Entries other
// programs add are read in binary or structured mode (see wire.go and
// docs/interop.md); a handler's Event.Topic is the stream's topic and
// broker.EventAttributes gives it the event's own type, source and id.
//
// Each subscription reads through a consumer group (XREADGROUP): by
// default a private group per subscription, so every subscription sees
// every event like the in-process engines; with Config.Group, the
// subscriptions of every process using that group compete for events and
// the group is durable. The group is created before Subscribe returns, so
// every event published afterwards is delivered. Wildcard subscriptions
// ("order.*", "*") discover matching streams, including ones created
// later; dead-letter streams are only matched by patterns inside the
// dead-letter namespace (broker.Options.SubscriptionMatches). Private
// groups that dead processes left behind are removed by running engines
// when Config.StaleGroupTimeout is set.
//
// # Guarantees
//
//   - At-least-once (default ack mode "after-handle"): an entry is
//     acknowledged (batched XACK) after its handler returned nil, or after
//     it was dead-lettered. A consumer that dies mid-handler leaves its
//     entries pending; another consumer of the group takes them over after
//     ClaimTimeout (XAUTOCLAIM), and a restarted subscription re-reads its
//     own pending entries first.
//   - Retries: a failing or panicking handler is retried in process with
//     capped exponential backoff and full jitter, up to maxRetries; then
//     the event goes to the dead-letter topic (default "dlq.<topic>") with
//     the reason and attempt count, and is acknowledged. Undecodable and
//     oversized entries are dead-lettered at once: no poison loop.
//   - Order: a sync subscription (Subscribe) handles one stream's events
//     one at a time, in stream order. An async one (SubscribeAsync) runs up
//     to maxInFlight handlers at once.
//   - Stop stops reading, waits for running handlers, flushes their
//     acknowledgements and returns; nothing acknowledged is unhandled, and
//     what was read but not handled stays pending for the next Start.
//   - Connection loss: every loop reconnects with backoff and reports the
//     errors (SetErrorObserver, or log/slog); Publish returns an error while
//     Redis is unreachable (go-redis's own retries are off, so a lost
//     reply never stores an event twice behind the caller's back).
//   - Subscription filters (bus.FilteredHandler): a rejected event is
//     acknowledged and counted in EngineStats.Filtered, never retried nor
//     dead-lettered.
//   - Poll (bus.Poller) reads streams on demand with a cursor of stream
//     ids, without a consumer group (XRANGE); see EventBus.Poll.
//
// Handlers receive a context carrying a *broker.Delivery (CloudEvents id
// for de-duplication, attempt, redelivery flag); in ack mode "manual"
// they acknowledge with broker.Ack(ctx).
//
// See docs/redis.md for every configuration key and the benchmark.
package redis
