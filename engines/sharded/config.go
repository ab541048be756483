package sharded

import (
	"fmt"
	"math/bits"
	"runtime"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// EngineType is the engine type name this package registers under
// ("sharded"); it is the module's default engine.
const EngineType = "sharded"

// Backpressure modes: what Publish does when the event's shard ring is
// full.
const (
	// BackpressureBlock waits for room, bounded by the Publish ctx.
	// Lossless. The default.
	BackpressureBlock = "block"
	// BackpressureTimeout waits up to PublishBlockTimeout, then rejects
	// the event with bus.ErrEventDropped (counted).
	BackpressureTimeout = "timeout"
	// BackpressureDropNewest rejects the new event at once with
	// bus.ErrEventDropped (counted).
	BackpressureDropNewest = "drop-newest"
	// BackpressureDropOldest evicts the oldest queued event of the shard
	// (counted as dropped) and accepts the new one; Publish never waits
	// for a handler.
	BackpressureDropOldest = "drop-oldest"
)

// MaxShards is the largest shard count accepted.
const MaxShards = 1024

// maxRingSize bounds RingSize (slots per shard, 64 bytes each).
const maxRingSize = 1 << 22

// defaultRingSize is RingSize's default.
const defaultRingSize = 65536

// Config configures the sharded engine. The zero value is valid: every
// field has the default written on it. Keys are the json names; the
// module-level keys (bus.SharedConfigKeys) that this engine understands are
// mapped as written on their fields, the others are ignored.
type Config struct {
	// Shards is the number of shards: independent rings, each drained by
	// one worker goroutine. Events hash onto a shard by their partition
	// key (bus.EventKey: Metadata["partitionKey"], else the key set with
	// bus.WithPartitionKey, else the topic), so one key's events stay in
	// order. A worker needs a CPU and so do the publishers: more shards
	// than half the CPUs adds no throughput, and with one shard Publish
	// skips hashing the key. Change it at run time with Resize.
	// Default: GOMAXPROCS/2 at construction, at least 1 and at most 8.
	Shards int `json:"shards"`

	// RingSize is the capacity of each shard's ring, in events; it is
	// rounded up to a power of two. A slot is one 64-byte cache line, so
	// a ring costs RingSize × 64 bytes (plus as much again, allocated on
	// first use, if publishers set CreatedAt or the Processing* fields).
	// Default: 65536 (4 MiB per shard); see docs/performance.md for why a
	// ring larger than the CPU's private cache is faster under load.
	// Max: 4194304 (1<<22, 256 MiB per shard).
	RingSize int `json:"ringSize"`

	// BatchMaxEvents caps how many events a shard worker takes from its
	// ring and hands to the subscribers at once. Default: 256 (at most
	// RingSize). Max: 4194304 (larger values are cut to RingSize).
	BatchMaxEvents int `json:"batchMaxEvents"`

	// BatchMaxDelay is how long a worker that found fewer than
	// BatchMaxEvents events waits for more before dispatching them. Zero
	// dispatches at once (lowest latency). Default: 0.
	BatchMaxDelay bus.Duration `json:"batchMaxDelay"`

	// Backpressure is "block", "timeout", "drop-newest" or "drop-oldest"
	// (see the Backpressure constants). Default: the mapped DeliveryMode
	// when that is set, else "block".
	Backpressure string `json:"backpressure"`

	// PublishBlockTimeout is how long "timeout" mode waits for room.
	// Zero means one immediate attempt. Default: 0.
	PublishBlockTimeout bus.Duration `json:"publishBlockTimeout"`

	// SpinWindow is how long an idle shard worker keeps polling its ring
	// (yielding now and then) before it parks. A parked worker costs
	// ~50-100 µs to wake on a VM, so a window longer than the gap between
	// events keeps latency under a microsecond; the price is CPU: after
	// each burst the worker spins for up to the window, so at 10k events/s
	// it keeps up to half a core busy, at 1k/s up to 5%. Negative disables
	// spinning (park at once: lowest CPU, ~50-100 µs latency).
	// Default: 50µs.
	SpinWindow bus.Duration `json:"spinWindow"`

	// AsyncWorkers is the number of goroutines running SubscribeAsync
	// handlers. Default: WorkerCount when set, else max(4, GOMAXPROCS).
	// Max: 4096 (bus.MaxWorkers).
	AsyncWorkers int `json:"asyncWorkers"`

	// AsyncQueueSize is the capacity of the async pool's queue; a shard
	// worker waits when it is full (lossless). Default: MaxEventQueueSize
	// when set, else 1024. Max: 1048576 (bus.MaxQueueSize).
	AsyncQueueSize int `json:"asyncQueueSize"`

	// StampAtPublish makes Publish set a zero CreatedAt itself. By
	// default the shard worker sets it, with one clock read per batch
	// (a clock read costs ~50 ns on some VMs, as much as the rest of a
	// publish), so it trails the Publish call by the event's time in the
	// ring. Default: false.
	StampAtPublish bool `json:"stampAtPublish"`

	// UnsubscribeWait bounds how long Unsubscribe waits for a handler
	// call of the subscription in flight. Default: 1s.
	UnsubscribeWait bus.Duration `json:"unsubscribeWait"`

	// TopicLimit is the number of distinct published topics counted
	// apart in TopicStats; later topics are counted under bus.OtherTopic
	// so that memory stays bounded. Default: 256 (bus.DefaultTopicLimit).
	// Max: 65536 (bus.MaxTopicLimit).
	TopicLimit int `json:"topicLimit"`

	// StopGrace bounds how long Stop, after its ctx expired and handler
	// contexts were cancelled, still waits for the workers to count the
	// stranded events and exit. Default: 1s.
	StopGrace bus.Duration `json:"stopGrace"`

	// RetainEvents is how many events each shard keeps for Poll (cursored
	// reads, see docs/poll.md): the shard's most recent events, in a
	// replay log its worker appends to once per batch. Each retained
	// event costs 56 bytes plus whatever its payload and metadata keep
	// alive (allocated when the shard starts). 0 turns Poll off (it returns an error wrapping
	// bus.ErrPollUnsupported) and leaves the delivery path exactly as
	// without this field. Default: 0. Max: 4194304 (1<<22).
	RetainEvents int `json:"retainEvents"`

	// MaxEventQueueSize (module-level key) sets AsyncQueueSize when that
	// is unset, as it sizes the memory engine's async queue. It does not
	// size the rings: the module passes its default (1000) to every
	// engine, and a ring that small is several times slower under load.
	// Max: 1048576 (bus.MaxQueueSize).
	MaxEventQueueSize int `json:"maxEventQueueSize"`
	// WorkerCount (module-level key) sets AsyncWorkers when AsyncWorkers
	// is unset. Max: 4096 (bus.MaxWorkers).
	WorkerCount int `json:"workerCount"`
	// DeliveryMode (module-level key) sets Backpressure when Backpressure
	// is unset: "block" → block, "timeout" → timeout, "drop" →
	// drop-newest.
	DeliveryMode string `json:"deliveryMode"`
}

// setDefaults gives every zero field its documented default. It assumes
// Validate passed.
func (c *Config) setDefaults() {
	if c.Shards == 0 {
		c.Shards = min(max(1, runtime.GOMAXPROCS(0)/2), 8)
	}
	if c.RingSize == 0 {
		c.RingSize = defaultRingSize
	}
	c.RingSize = int(ceilPow2(uint64(max(c.RingSize, 2))))
	if c.BatchMaxEvents == 0 {
		c.BatchMaxEvents = 256
	}
	c.BatchMaxEvents = min(c.BatchMaxEvents, c.RingSize)
	if c.Backpressure == "" {
		switch c.DeliveryMode {
		case "timeout":
			c.Backpressure = BackpressureTimeout
		case "drop":
			c.Backpressure = BackpressureDropNewest
		default:
			c.Backpressure = BackpressureBlock
		}
	}
	if c.SpinWindow == 0 {
		c.SpinWindow = bus.Duration(50 * time.Microsecond)
	}
	if c.AsyncWorkers == 0 {
		c.AsyncWorkers = max(4, runtime.GOMAXPROCS(0))
		if c.WorkerCount > 0 {
			c.AsyncWorkers = c.WorkerCount
		}
	}
	if c.AsyncQueueSize == 0 {
		c.AsyncQueueSize = 1024
		if c.MaxEventQueueSize > 0 {
			c.AsyncQueueSize = c.MaxEventQueueSize
		}
	}
	if c.UnsubscribeWait == 0 {
		c.UnsubscribeWait = bus.Duration(time.Second)
	}
	if c.StopGrace == 0 {
		c.StopGrace = bus.Duration(time.Second)
	}
	if c.TopicLimit == 0 {
		c.TopicLimit = bus.DefaultTopicLimit
	}
}

// Validate reports the first invalid field, naming it and its value. The
// error wraps ErrInvalidConfig.
func (c Config) Validate() error {
	bad := func(field string, v any, rule string) error {
		return fmt.Errorf("%w: %s: %v: %s", ErrInvalidConfig, field, v, rule)
	}
	switch {
	case c.Shards < 0 || c.Shards > MaxShards:
		return bad("shards", c.Shards, fmt.Sprintf("must be between 1 and %d", MaxShards))
	case c.RingSize < 0 || c.RingSize > maxRingSize:
		return bad("ringSize", c.RingSize, fmt.Sprintf("must be between 2 and %d", maxRingSize))
	case c.MaxEventQueueSize < 0 || c.MaxEventQueueSize > bus.MaxQueueSize:
		return bad("maxEventQueueSize", c.MaxEventQueueSize, fmt.Sprintf("must be between 1 and %d", bus.MaxQueueSize))
	case c.BatchMaxEvents < 0 || c.BatchMaxEvents > maxRingSize:
		return bad("batchMaxEvents", c.BatchMaxEvents, fmt.Sprintf("must be between 1 and %d", maxRingSize))
	case c.BatchMaxDelay < 0:
		return bad("batchMaxDelay", c.BatchMaxDelay.Std(), "must be >= 0")
	case c.PublishBlockTimeout < 0:
		return bad("publishBlockTimeout", c.PublishBlockTimeout.Std(), "must be >= 0")
	case c.AsyncWorkers < 0 || c.AsyncWorkers > bus.MaxWorkers:
		return bad("asyncWorkers", c.AsyncWorkers, fmt.Sprintf("must be between 1 and %d", bus.MaxWorkers))
	case c.WorkerCount < 0 || c.WorkerCount > bus.MaxWorkers:
		return bad("workerCount", c.WorkerCount, fmt.Sprintf("must be between 1 and %d", bus.MaxWorkers))
	case c.AsyncQueueSize < 0 || c.AsyncQueueSize > bus.MaxQueueSize:
		return bad("asyncQueueSize", c.AsyncQueueSize, fmt.Sprintf("must be between 1 and %d", bus.MaxQueueSize))
	case c.UnsubscribeWait < 0:
		return bad("unsubscribeWait", c.UnsubscribeWait.Std(), "must be >= 0")
	case c.StopGrace < 0:
		return bad("stopGrace", c.StopGrace.Std(), "must be >= 0")
	case c.RetainEvents < 0 || c.RetainEvents > maxRingSize:
		return bad("retainEvents", c.RetainEvents, fmt.Sprintf("must be between 0 and %d", maxRingSize))
	case c.TopicLimit < 0 || c.TopicLimit > bus.MaxTopicLimit:
		return bad("topicLimit", c.TopicLimit, fmt.Sprintf("must be between 1 and %d", bus.MaxTopicLimit))
	}
	switch c.Backpressure {
	case "", BackpressureBlock, BackpressureTimeout, BackpressureDropNewest, BackpressureDropOldest:
	default:
		return bad("backpressure", fmt.Sprintf("%q", c.Backpressure), "must be one of block, timeout, drop-newest, drop-oldest")
	}
	switch c.DeliveryMode {
	case "", "block", "timeout", "drop":
	default:
		return bad("deliveryMode", fmt.Sprintf("%q", c.DeliveryMode), "must be one of block, timeout, drop")
	}
	return nil
}

func ceilPow2(v uint64) uint64 {
	if v <= 1 {
		return 1
	}
	return 1 << bits.Len64(v-1)
}
