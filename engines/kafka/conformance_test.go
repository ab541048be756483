package kafka_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestConformance(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus { return newEngine(t, engineConfig(k, nil)) },
		Features: eventbustest.Features{
			Persistent:                   true,
			PayloadRoundTripsAsJSON:      true,
			ContextValuesViaMetadataOnly: true,
			AtLeastOnce:                  true,
			DeliveryTimeout:              20 * time.Second,
			LeakOptions:                  []goleak.Option{metricsGoroutine},
		},
	})
}
