// Package kafka is Switchyard's Kafka engine (engine type "kafka"), built
// on github.com/IBM/sarama and the shared broker toolkit (package broker).
//
// # Wire format
//
// Every event is one Kafka record: a CloudEvent in binary content mode
// (the Kafka protocol binding): attributes as "ce_*" headers, the
// datacontenttype as "content-type", the JSON payload as the value. The
// record key is the event's partition key (bus.EventKey: Metadata
// "partitionKey", else bus.WithPartitionKey, else the topic), so one key's
// events land on one partition and keep their order. Any CloudEvents Kafka
// consumer can read what the engine writes, and the engine reads records
// of any CloudEvents producer, in binary or structured mode (content-type
// application/cloudevents+json); a record that is not a CloudEvent, or is
// in batched mode, is dead-lettered. A handler's Event.Topic is the Kafka
// topic the record came from; broker.EventAttributes gives it the
// event's own type, source, subject and id. See docs/interop.md.
//
// # Guarantees
//
//   - Publish returns once Kafka acknowledged the record (acks=all,
//     idempotent producer: sarama's retries never duplicate it), and
//     concurrent publishers share sarama's batches. The producer option
//     "async" returns once the record is queued instead, and reports
//     failures to the error observer.
//   - Every subscription is a consumer-group member. Without GroupID each
//     subscription has its own group, so every subscriber sees every event;
//     with GroupID, subscriptions (of this and other processes) compete for
//     partitions and their offsets survive process restarts.
//   - Subscribe commits the group's starting offsets before returning, so
//     an event published after Subscribe returned is delivered.
//   - At-least-once: an offset is committed only after the handler
//     succeeded (or the event was dead-lettered after its retries), in
//     offset order even for SubscribeAsync. On a rebalance or Stop, the
//     handler calls in flight finish and their offsets are committed
//     before the partition is released; after a crash, only events handled
//     but not yet committed are handled again.
//   - A failing or panicking handler is retried with capped exponential
//     backoff and full jitter (maxRetries), then its event goes to the
//     dead-letter topic ("dlq.{topic}") with the reason and the attempt
//     count. Handler panics never reach sarama's goroutines.
//   - Wildcard subscriptions ("order.*", "*") consume every matching topic,
//     including topics created later: the topic watcher finds them and the
//     member rejoins its group with the new set. Dead-letter topics are
//     matched only by patterns inside the dead-letter namespace.
//   - A subscription whose handler is a bus.FilteredHandler counts the
//     records its filter rejects in EngineStats.Filtered and commits
//     their offsets like handled ones: never retried nor dead-lettered.
//   - Poll (bus.Poller) reads topics without a consumer group: the cursor
//     holds each partition's next offset, Shards are partition ids, a
//     cursor whose records were deleted reports Gap and continues at the
//     oldest retained one, and a poll never waits for events. See
//     EventBus.Poll.
//   - Stop refuses new publishes, waits for those in flight, lets the
//     handlers finish and commits, leaves the groups and flushes the
//     producer; no goroutine is left behind (sarama's process-global
//     go-metrics ticker aside). Subscriptions survive Stop and resume from
//     their committed offsets at the next Start.
//
// Configuration keys, their defaults and the sarama settings they map to
// are documented on Config and in docs/kafka.md. Tests run against kfake
// (github.com/twmb/franz-go/pkg/kfake), an in-process broker that speaks
// the Kafka protocol, because no Apache Kafka broker can be installed on
// the machines this project is built on.
package kafka
