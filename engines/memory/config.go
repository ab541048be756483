package memory

import (
	"fmt"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// Delivery modes: what Publish does when a subscription's queue is full.
const (
	DeliveryBlock   = "block"
	DeliveryTimeout = "timeout"
	DeliveryDrop    = "drop"
)

// Config configures the memory engine. The zero value is valid: every
// field has the default written on it. JSON names match the module-level
// EventBusConfig keys, so single-engine settings reach the engine.
type Config struct {
	// MaxEventQueueSize is the capacity of the async worker-pool queue.
	// Default: 1000. Max: 1048576 (enginekit.MaxQueueSize).
	MaxEventQueueSize int `json:"maxEventQueueSize"`
	// DefaultEventBufferSize is each subscription's queue capacity,
	// allocated by Subscribe. Default: 10. Max: 1048576
	// (enginekit.MaxQueueSize).
	DefaultEventBufferSize int `json:"defaultEventBufferSize"`
	// WorkerCount is the number of goroutines running async handlers.
	// Default: 5. Max: 4096 (enginekit.MaxWorkers).
	WorkerCount int `json:"workerCount"`
	// DeliveryMode is "block", "timeout" or "drop". Default: "block".
	DeliveryMode string `json:"deliveryMode"`
	// PublishBlockTimeout is how long "timeout" mode waits for room.
	// Zero means one immediate attempt. Default: 0.
	PublishBlockTimeout bus.Duration `json:"publishBlockTimeout"`
	// RotateSubscriberOrder rotates the order in which matching
	// subscriptions are offered each event, so that in the dropping
	// modes no subscription is always served last. Default: false.
	RotateSubscriberOrder bool `json:"rotateSubscriberOrder"`
	// UnsubscribeWait bounds how long Unsubscribe waits for a handler
	// call in flight. Default: 1s.
	UnsubscribeWait bus.Duration `json:"unsubscribeWait"`
	// TopicLimit is the number of distinct published topics counted
	// apart in TopicStats; later topics are counted under bus.OtherTopic
	// so that memory stays bounded. Default: 256 (bus.DefaultTopicLimit).
	// Max: 65536 (enginekit.MaxTopicLimit).
	TopicLimit int `json:"topicLimit"`
}

// setDefaults gives every zero field its documented default. It assumes
// Validate passed.
func (c *Config) setDefaults() {
	if c.MaxEventQueueSize == 0 {
		c.MaxEventQueueSize = 1000
	}
	if c.DefaultEventBufferSize == 0 {
		c.DefaultEventBufferSize = 10
	}
	if c.WorkerCount == 0 {
		c.WorkerCount = 5
	}
	if c.DeliveryMode == "" {
		c.DeliveryMode = DeliveryBlock
	}
	if c.UnsubscribeWait == 0 {
		c.UnsubscribeWait = bus.Duration(time.Second)
	}
	if c.TopicLimit == 0 {
		c.TopicLimit = bus.DefaultTopicLimit
	}
}

// Validate reports the first invalid field of c (zero fields stand for
// their defaults), naming it and its value. The error wraps
// ErrInvalidConfig.
func (c Config) Validate() error {
	for _, f := range []struct {
		name   string
		v, max int
	}{
		{"maxEventQueueSize", c.MaxEventQueueSize, enginekit.MaxQueueSize},
		{"defaultEventBufferSize", c.DefaultEventBufferSize, enginekit.MaxQueueSize},
		{"workerCount", c.WorkerCount, enginekit.MaxWorkers},
		{"topicLimit", c.TopicLimit, enginekit.MaxTopicLimit},
	} {
		if f.v < 0 || f.v > f.max {
			return invalidConfig(fmt.Errorf("%s: %d: must be between 1 and %d", f.name, f.v, f.max))
		}
	}
	switch {
	case c.PublishBlockTimeout < 0:
		return invalidConfig(fmt.Errorf("publishBlockTimeout: %v: must be >= 0", c.PublishBlockTimeout.Std()))
	case c.UnsubscribeWait < 0:
		return invalidConfig(fmt.Errorf("unsubscribeWait: %v: must be >= 0", c.UnsubscribeWait.Std()))
	}
	switch c.DeliveryMode {
	case "", DeliveryBlock, DeliveryTimeout, DeliveryDrop:
	default:
		return invalidConfig(fmt.Errorf("deliveryMode: %q: must be one of block, timeout, drop", c.DeliveryMode))
	}
	return nil
}
