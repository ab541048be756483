package redis_test

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func TestConformance(t *testing.T) {
	conformance(t, func(*redis.Config) {})
}

// With publishAsync, Publish returns once the event is queued; the
// contract (flush barrier, lossless Stop, order per key...) still holds.
func TestConformanceWithPublishAsync(t *testing.T) {
	conformance(t, func(c *redis.Config) { c.PublishAsync = true })
}

// In on-receive ack mode an entry is acked before its handler runs, so a
// Stop must not drop an entry it read: one worker and one entry per read
// make a stopping run hold read entries that no worker took yet (they
// used to be acked and lost).
func TestConformanceWithAckOnReceive(t *testing.T) {
	conformance(t, func(c *redis.Config) {
		c.AckMode = broker.AckOnReceive
		c.ReadCount = 1
		c.MaxInFlight = 1
	})
}

func conformance(t *testing.T, adjust func(*redis.Config)) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			cfg := testConfig(shared)
			adjust(&cfg)
			return newBus(t, cfg)
		},
		Features: eventbustest.Features{
			Persistent:                   true,
			PayloadRoundTripsAsJSON:      true,
			ContextValuesViaMetadataOnly: true,
			AtLeastOnce:                  true,
			DeliveryTimeout:              15 * time.Second,
		},
	})
}
