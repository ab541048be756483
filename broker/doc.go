// Package broker is the toolkit shared by Switchyard's broker engines
// (Redis Streams, Kafka, Kinesis): the CloudEvents wire codec, the retry
// policy, dead-letter routing, ack modes, payload and in-flight limits, the
// background-error observer and the dispatcher that runs a handler with all
// of them. One package, so the three engines behave the same way.
//
// # Wire format
//
// Events travel as CloudEvents 1.0 (github.com/cloudevents/sdk-go/v2). A
// Codec maps a bus.Event to a CloudEvent and back:
//
//	id              a fresh random id per Publish (bus.NewID)
//	source          Options.Source (default "switchyard")
//	type            the topic
//	subject         the topic
//	time            Event.CreatedAt (set to now when zero)
//	datacontenttype application/json, or the raw-bytes type (see below)
//	data            the JSON encoding of Event.Payload
//	extensions      Event.Metadata, one extension attribute per key
//
// Two content modes are provided: binary (EncodeBinary/DecodeBinary:
// attributes as string pairs for the broker's headers or fields, data as
// the body; Redis and Kafka use it) and structured (EncodeStructured/
// DecodeStructured: one application/cloudevents+json document; Kinesis,
// which has no headers, uses it). Both read events written by any
// CloudEvents 1.0 producer, and any CloudEvents consumer can read ours.
//
// On receive, Payload holds the decoded JSON (map[string]any, []any,
// float64, string, bool or nil) when the content type is JSON, and the raw
// []byte otherwise. DecodePayload[T] turns it into a caller's type.
//
// A []byte Payload is sent as is, with datacontenttype taken from
// Metadata["contentType"] (default application/octet-stream).
//
// # Metadata keys and extension names
//
// CloudEvents extension names are lowercase ASCII letters and digits, so
// Metadata keys are mapped reversibly (ExtensionName / MetadataKey):
//
//   - a key that already is lowercase alphanumeric, is not a CloudEvents
//     context attribute (id, source, type, time, …) and does not start
//     with "swy" is used as is: "traceparent", "tracestate", "tenant";
//   - "partitionKey" (bus.MetadataKeyPartition) becomes "partitionkey",
//     the CloudEvents Partitioning extension;
//   - any other key becomes "swyx" followed by the lowercase hex of its
//     UTF-8 bytes: "source" → "swyx736f75726365", "requestId" →
//     "swyx72657175657374496400"…;
//   - a value that is not a string is sent as its JSON text under the
//     name prefixed with "swyj" ("swyj" + the name above), and decoded
//     back from JSON (so numbers come back as float64).
//
// # Delivery
//
// A Dispatcher runs a subscription's handler for one received event and
// says what the engine must do with it (Outcome): ack, dead-letter then
// ack, or leave it unacknowledged for the broker to redeliver. It applies
// the AckMode, the retry policy (capped exponential backoff with full
// jitter, Options.MaxRetries), panic recovery (bus.CallHandler), the
// counters (Counters, surfaced as bus.EngineStats) and the bus.Observer.
// Engines put a *Delivery in the handler's context; in AckManual mode the
// handler acknowledges through it (Ack(ctx)).
//
// Dead letters go to the topic named by Options.DeadLetterTopic (default
// "dlq.{topic}") with the reason, attempt count and original topic in
// Metadata (MetadataKeyDeadLetter*). Wildcard subscriptions do not see
// dead-letter topics unless the pattern itself is inside the dead-letter
// namespace ("dlq.*" sees them all, "*" and "order.*" do not), so a
// dead-lettered event never loops back into the subscriptions that failed
// it (see Options.SubscriptionMatches).
//
// # Background errors
//
// Engines report transient errors of their background loops (read,
// reclaim, ack flush, reconnect) to Errors, which counts them per Scope
// and forwards them to an ErrorObserver, or logs them with log/slog when
// none is installed. Nothing is silently swallowed.
package broker
