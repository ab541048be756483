package checkpoint

import (
	"context"
	"fmt"
	"time"
)

// ShardEnd is the checkpoint of a shard that is closed (split or merged)
// and whose every record was handled: its child shards may be read.
const ShardEnd = "SHARD_END"

// Key names one consumer's state: the stream and the consumer name.
type Key struct {
	Stream   string
	Consumer string
}

func (k Key) String() string { return k.Stream + "/" + k.Consumer }

func (k Key) validate() error {
	if k.Stream == "" || k.Consumer == "" {
		return fmt.Errorf("%w: stream %q consumer %q", ErrInvalidKey, k.Stream, k.Consumer)
	}
	return nil
}

func validName(what, v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidKey, what)
	}
	return nil
}

// Store keeps checkpoints and shard leases. Implementations are safe for
// concurrent use by the workers of any number of consumers; every method
// honours ctx cancellation and returns its error.
type Store interface {
	// Checkpoints returns the checkpoint of every shard of the consumer
	// that has one: a sequence number, or ShardEnd.
	Checkpoints(ctx context.Context, k Key) (map[string]string, error)

	// Init stores start positions (shard → sequence number to start
	// after) for the shards that have no checkpoint yet; existing
	// checkpoints are kept. It needs no lease: it only ever fills a gap.
	Init(ctx context.Context, k Key, positions map[string]string) error

	// Checkpoint stores seq (or ShardEnd) for shard, atomically checking
	// that owner holds the shard's lease; ErrLeaseLost otherwise.
	Checkpoint(ctx context.Context, k Key, shard, owner, seq string) error

	// Acquire gives the lease of shard to owner for ttl when it is free,
	// expired or already owner's, and reports whether owner holds it now.
	Acquire(ctx context.Context, k Key, shard, owner string, ttl time.Duration) (bool, error)

	// Renew extends owner's lease of shard by ttl from now. It returns
	// ErrLeaseLost when another worker holds it or it was released.
	Renew(ctx context.Context, k Key, shard, owner string, ttl time.Duration) error

	// Release gives up owner's lease of shard so another worker can
	// acquire it at once. Releasing a lease one does not hold is a no-op.
	Release(ctx context.Context, k Key, shard, owner string) error

	// Leases returns the owner of every unexpired lease (shard → owner).
	Leases(ctx context.Context, k Key) (map[string]string, error)

	// Heartbeat registers owner as a live worker of the consumer for ttl
	// and returns the live workers, sorted (owner included).
	Heartbeat(ctx context.Context, k Key, owner string, ttl time.Duration) ([]string, error)

	// Leave unregisters owner as a worker (its leases are not touched).
	Leave(ctx context.Context, k Key, owner string) error

	// Delete removes every checkpoint, lease and worker of the consumer.
	Delete(ctx context.Context, k Key) error
}
