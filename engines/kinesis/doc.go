// Package kinesis is Switchyard's Amazon Kinesis Data Streams engine
// (engine type "kinesis"), built on aws-sdk-go-v2.
//
// # Topics on one stream
//
// Every topic of the engine shares Config.StreamName. Events travel as
// CloudEvents 1.0 in structured JSON mode (Kinesis records have no
// headers): the topic is the subject, Metadata the extensions, a []byte
// payload is base64 in "data_base64", so every record is valid UTF-8 JSON
// (see package broker and docs/interop.md). A record another producer
// wrote is read with its subject as topic (its type when it has no
// subject); broker.EventAttributes gives a handler its own type, source
// and id. Subscriptions filter by topic pattern with bus.MatchTopic.
//
// # Publishing
//
// Publish encodes the event and hands it to a batching producer that sends
// PutRecords calls of up to 500 records and 5 MiB, when a batch is full or
// after flushInterval. Publish returns once Kinesis accepted the record
// (or once queued with asyncPublish). The partition key is bus.EventKey,
// so one key's events land in one shard, in order. Records that fail
// inside a PutRecords response are retried one by one, throttled calls
// back off exponentially with full jitter; a record is never reported as
// published before the response said so.
//
// # Consuming, checkpoints and leases
//
// Each subscription is a consumer with its own checkpoints, reading every
// shard, unless applicationName makes the subscriptions of several
// processes share one consumer per topic pattern, whose shards are then
// split between them with leases. A reader per leased shard calls
// GetRecords (5 per second per shard in rate-limited mode), hands records
// to the handler in shard order, and checkpoints the last record whose
// handling finished (at-least-once). Stop waits for handlers in flight,
// writes final checkpoints and releases leases; Start resumes from them.
// Checkpoints and leases live in a checkpoint.Store: in memory (default)
// or in Redis.
//
// A new subscription starts with the events published after Subscribe
// returned: Subscribe writes one marker record per open shard and the
// consumer starts after it (see marker.go), or with every retained record
// when startPosition is "trim_horizon".
//
// # Resharding
//
// A child shard (split or merge) is read only once its parents were read
// to their end and checkpointed, so one key's order holds across
// resharding.
//
// # Polling
//
// EventBus implements bus.Poller: Poll reads a topic pattern's retained
// records after a cursor that holds a sequence number per shard (children
// read after their parents), without consumer, checkpoint or lease; see
// Poll and poll_cursor.go.
//
// See docs/kinesis.md for the configuration keys and the kinesalite
// caveats.
package kinesis
