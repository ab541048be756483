package redis_test

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func TestConformance(t *testing.T) {
	conformance(t, false)
}

// With publishAsync, Publish returns once the event is queued; the
// contract (flush barrier, lossless Stop, order per key...) still holds.
func TestConformanceWithPublishAsync(t *testing.T) {
	conformance(t, true)
}

func conformance(t *testing.T, async bool) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			cfg := testConfig(shared)
			cfg.PublishAsync = async
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
