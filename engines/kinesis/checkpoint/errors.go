package checkpoint

import "errors"

// Sentinel errors of the package. Test with errors.Is.
var (
	// ErrLeaseLost is returned by Renew and Checkpoint when owner no
	// longer holds the shard's lease (it expired and another worker took
	// it, or it was released). The caller must stop reading the shard.
	ErrLeaseLost = errors.New("shard lease lost")

	// ErrInvalidKey is returned for an empty stream, consumer, shard or
	// owner name.
	ErrInvalidKey = errors.New("invalid checkpoint key")
)
