// Package sharded is the sharded lock-free ring engine (engine type
// "sharded"), Switchyard's default and fastest in-process engine.
//
// # Design
//
// Events hash onto Shards shards by their partition key (bus.EventKey:
// Metadata["partitionKey"] — bus.MetadataKeyPartition —, else the key set
// with bus.WithPartitionKey, else the topic), so one key's events are
// delivered in publish order. Each shard is a bounded multi-producer ring
// (no mutex, no channel operation per event: one CAS, one slot write, one
// atomic store) drained by one worker goroutine in batches of up to
// BatchMaxEvents. The worker hands each batch to the matching
// subscriptions: sync subscriptions (Subscribe) run on the worker, one
// call at a time and in order; async subscriptions (SubscribeAsync) are
// queued to a bounded pool of AsyncWorkers goroutines. Wildcard patterns
// follow bus.MatchTopic. An idle worker polls for SpinWindow before it
// parks, which keeps latency under a microsecond while events keep coming.
// See ring.go for the protocol.
//
// # Backpressure
//
// When a ring is full, Backpressure decides: "block" (default, lossless:
// Publish waits for room, bounded by its ctx), "timeout" (waits up to
// PublishBlockTimeout, then bus.ErrEventDropped), "drop-newest" (rejects
// at once with bus.ErrEventDropped) or "drop-oldest" (evicts the shard's
// oldest event). Every drop is counted (Metrics); rejections are also
// returned.
//
// # Beyond the EventBus interface
//
//   - PublishBatch claims ring space once per shard for a whole batch.
//   - Flush is a delivery barrier: when it returns nil, every event
//     published before the call was handed to its handlers.
//   - Resize, AddShards and RemoveShards change the shard count while
//     publishing, without losing or reordering a key's events.
//   - Poll (bus.Poller) reads the last RetainEvents events of each shard
//     with a cursor, filters and shard selection, when RetainEvents > 0
//     (otherwise it returns bus.ErrPollUnsupported); see poll.go,
//     retain.go and docs/poll.md.
//   - Metrics returns cache-padded counters (ingested, dispatched, dropped
//     by cause, batches, handler outcomes, per-shard depth); EngineStats and
//     Stats report them in the shared shapes.
//
// # Lifecycle
//
// Stop refuses new publishes, drains every ring into the handlers, waits
// for the async pool and returns with every goroutine gone. If its ctx
// expires first, it cancels handler contexts, counts what was still queued
// as dropped, sets the lossy-shutdown flag and returns an error wrapping
// bus.ErrEventBusShutdownTimeout. Subscriptions survive Stop and resume on
// the next Start.
//
// # Caveats
//
// A sync handler that publishes to its own shard in block mode, or an
// async handler that publishes while the pool queue and the ring are both
// full, waits for room that only its own worker can make: give such
// publishes a ctx with a deadline, or use SubscribeAsync plus a larger
// RingSize. CreatedAt, when zero, is stamped by the worker once per batch
// (see Config.StampAtPublish). A ring keeps references to up to RingSize
// already-delivered events until their slots are reused.
package sharded
