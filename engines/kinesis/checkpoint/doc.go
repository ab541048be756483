// Package checkpoint holds the Kinesis engine's checkpoints and shard
// leases behind one Store interface, with two implementations: Memory
// (one process; the engine's default) and Redis (several processes of one
// application share a stream).
//
// # Model
//
// State is kept per consumer: (stream, consumer name). A consumer is one
// logical reader of the whole stream (a subscription, or every process's
// subscription of one application when they share a consumer name).
// For each shard it has
//
//   - a checkpoint: the sequence number of the last record whose handling
//     finished (at-least-once: records after it are read again after a
//     restart or a take-over), or ShardEnd once the shard is closed and
//     fully handled; before any record is handled the engine may store a
//     start position with Init (a sequence number the consumer starts
//     after);
//   - a lease: the owner (one worker of the consumer) and an expiry. Only
//     the owner reads the shard; it renews the lease well before expiry.
//     A worker that dies stops renewing, and after expiry any other
//     worker of the consumer may Acquire the shard and resume after its
//     checkpoint.
//
// # Fencing
//
// Checkpoint succeeds only while the caller still owns the lease, checked
// atomically with the write (a Lua script in Redis, a mutex in Memory).
// A worker that lost its lease (it paused longer than the lease, and
// another worker took the shard over) therefore cannot move the
// checkpoint backwards or forwards under the new owner: it gets
// ErrLeaseLost and stops reading the shard. Between the take-over and the
// old owner noticing, both may handle the same records: the guarantee is
// at-least-once, never at-most-once.
//
// Lease expiry is judged by one clock: the Redis server's (TIME inside
// the scripts), or the process's for Memory, so workers on machines with
// skewed clocks agree on who owns what.
//
// # Workers
//
// Heartbeat registers a worker of a consumer until a deadline and returns
// the live workers, so that every worker can compute its fair share of
// the shards (ceil(shards / workers)) and release the excess for the
// others to acquire.
package checkpoint
