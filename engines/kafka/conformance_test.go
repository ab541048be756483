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
	conformance(t, nil)
}

// With the producer's "async" option, Publish returns once the record is
// queued; the contract (flush barrier, lossless Stop, order per key...)
// still holds.
func TestConformanceWithAsyncProducer(t *testing.T) {
	conformance(t, map[string]any{"producer": map[string]string{"async": "true"}})
}

// In on-receive ack mode a record is committed before its handler runs,
// so a Stop must not drop a record it took: one worker makes a stopping
// consumer hold records that no worker took yet.
func TestConformanceWithAckOnReceive(t *testing.T) {
	conformance(t, map[string]any{"ackMode": "on-receive", "maxInFlight": 1})
}

func conformance(t *testing.T, extra map[string]any) {
	// Persistent: the broker-restart check takes the cluster down and up.
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{Persistent: true})
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus { return newEngine(t, engineConfig(k, extra)) },
		NewInGroup: func(t *testing.T, group string) bus.EventBus {
			cfg := engineConfig(k, extra)
			cfg["groupId"] = group
			return newEngine(t, cfg)
		},
		RestartBroker: func(t *testing.T) { k.Restart(t) },
		PollShards:    func(t *testing.T, _ bus.EventBus, topic string) []int { return partitions(t, k, topic) },
		TrimTopic:     func(t *testing.T, _ bus.EventBus, topic string, keep int) { trimTopic(t, k, topic, keep) },
		Features: eventbustest.Features{
			Persistent:                   true,
			PayloadRoundTripsAsJSON:      true,
			ContextValuesViaMetadataOnly: true,
			AtLeastOnce:                  true,
			ConsumerGroups:               true,
			RedeliveryAfterHandlerError:  true,
			BrokerRestart:                true,
			Poll:                         true,
			PollRestart:                  true,
			PollGap:                      true,
			DeliveryTimeout:              20 * time.Second,
			LeakOptions:                  []goleak.Option{metricsGoroutine},
		},
	})
}
