// Package broker holds what application code and configuration use of
// Switchyard's broker engines (Redis Streams, Kafka, Kinesis), which all
// behave the same way:
//
//   - in a handler: DeliveryFrom (the received entry: id, attempt,
//     redelivered flag), Ack (AckManual mode), EventAttributes (the
//     CloudEvents attributes) and DecodePayload (the payload as your type;
//     eventbus.PayloadAs is the same function at the root);
//   - in configuration: Options (retries, dead letters, ack mode, payload
//     and in-flight limits), TLSOptions, AckMode, RetryPolicy and Backoff;
//   - the dead-letter Metadata keys (MetadataKeyDeadLetter*), the
//     sentinel errors, and the background-error observer (ErrorObserver,
//     Scope) the engines' SetErrorObserver takes.
//
// The plumbing the engines share (the CloudEvents codec, the dispatcher,
// counters, limiter, epochs, redaction) is internal to this module
// (internal/brokerkit): nothing in it is needed to use an engine.
//
// # Wire format
//
// Events travel as CloudEvents 1.0 (github.com/cloudevents/sdk-go/v2). A
// broker engine maps a bus.Event to a CloudEvent and back:
//
//	id              a fresh random id per Publish (enginekit.NewID)
//	source          Options.Source (default "switchyard")
//	type            the topic
//	subject         the topic
//	time            Event.CreatedAt (set to now when zero)
//	datacontenttype application/json, or the raw-bytes type (see below)
//	data            the JSON encoding of Event.Payload
//	extensions      Event.Metadata, one extension attribute per key
//
// Dead letters keep the original event's type and source; the subject is
// always the topic.
//
// Two content modes are provided: binary (attributes as string pairs for the broker's headers or fields, data as
// the body; Redis and Kafka write it) and structured (one
// application/cloudevents+json document; Kinesis,
// which has no headers, writes it). In a structured document JSON data is
// the "data" member and any other data is base64 in "data_base64", so
// every document is valid UTF-8 JSON. On receive, the Redis and Kafka
// engines accept both modes, told apart by the content type; the batched mode (application/cloudevents-batch+json)
// is refused with ErrBatchedMode and dead-lettered. Events of any
// CloudEvents 1.0 producer are read, and any CloudEvents consumer can
// read ours: tests judge both directions with the CloudEvents Go SDK.
// docs/interop.md gives each engine's exact layout.
//
// On receive, Payload holds the decoded JSON (map[string]any, []any,
// float64, string, bool or nil) when the content type is JSON, and the raw
// []byte otherwise. DecodePayload[T] turns it into a caller's type. The
// handler's Event.Topic is the topic the event was read from (the Redis
// stream, the Kafka topic; on Kinesis, whose topics share one stream, the
// subject, else the type). The attributes that have no place in bus.Event
// (type, source, subject, id, time, datacontenttype, dataschema) are
// returned by EventAttributes(ctx) in the handler, on every broker engine.
//
// A []byte Payload is sent as is, with datacontenttype taken from
// Metadata["contentType"] (default application/octet-stream).
//
// # Metadata keys and extension names
//
// CloudEvents extension names are lowercase ASCII letters and digits
// (and should not exceed 20 characters), so Metadata keys are mapped
// reversibly:
//
//   - a key that already is lowercase alphanumeric, is not a CloudEvents
//     context attribute (id, source, type, time, …), not one of the short
//     names below, and does not start with "swy" is used as is:
//     "traceparent", "tracestate", "tenant";
//   - well-known keys get short names: "partitionKey"
//     (bus.MetadataKeyPartition) becomes "partitionkey", the CloudEvents
//     Partitioning extension; the dead-letter keys become
//     "deadletterreason", "deadletterattempts" (a number), "deadlettertopic",
//     "deadletterid", "deadlettersub" and "deadlettersubject";
//   - any other key becomes "swyk" followed by the key escaped readably:
//     lowercase letters and the digits 1-9 stay, an uppercase letter
//     becomes "0" and the letter in lowercase, "0" becomes "00", the
//     characters - _ . : / and space become 01 to 06, and any other byte
//     becomes "09" and its two hex digits: "requestId" →
//     "swykrequest0id", "trace_id" → "swyktrace02id", "source" →
//     "swyksource";
//   - a value that is not a string is sent as its JSON text under the
//     name prefixed with "swyj" ("swyj" + the name above: "retries": 2 →
//     "swyjretries" = "2"), and decoded back from JSON (so numbers come
//     back as float64).
//
// Names written by earlier versions ("swyx" and the lowercase hex of the
// key's UTF-8 bytes: "requestId" → "swyx726571756573744964") are still
// read. Extension names of other producers map to themselves.
//
// # Delivery
//
// For each received event the engine runs the subscription's handler
// and then does one of three things with the event: ack, dead-letter then
// ack, or leave it unacknowledged for the broker to redeliver. It applies
// the AckMode, the retry policy (capped exponential backoff with full
// jitter, Options.MaxRetries), panic recovery (enginekit.CallHandler), the
// counters (surfaced as bus.EngineStats) and the bus.Observer.
// Engines put a *Delivery in the handler's context; in AckManual mode the
// handler acknowledges through it (Ack(ctx)).
//
// Dead letters go to the topic named by Options.DeadLetterTopic (default
// "dlq.{topic}", where {topic} is the topic the event was read from) with
// the reason, attempt count and original topic in Metadata
// (MetadataKeyDeadLetter*); they keep the original event's CloudEvents
// type and source. Wildcard subscriptions do not see
// dead-letter topics unless the pattern itself is inside the dead-letter
// namespace ("dlq.*" sees them all, "*" and "order.*" do not), so a
// dead-lettered event never loops back into the subscriptions that failed
// it (see Options.SubscriptionMatches).
//
// # Background errors
//
// Engines report transient errors of their background loops (read,
// reclaim, ack flush, reconnect): each is counted per Scope and passed
// to the ErrorObserver installed with the engine's SetErrorObserver, or logs them with log/slog when
// none is installed. Nothing is silently swallowed.
package broker
