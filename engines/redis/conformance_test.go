package redis_test

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func TestConformance(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus { return newBus(t, testConfig(shared)) },
		Features: eventbustest.Features{
			Persistent:                   true,
			PayloadRoundTripsAsJSON:      true,
			ContextValuesViaMetadataOnly: true,
			AtLeastOnce:                  true,
			DeliveryTimeout:              15 * time.Second,
		},
	})
}
