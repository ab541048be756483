package kafka_test

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestRedeliveredFlag(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"ackMode": "manual"}))
	brokertest.CheckRedeliveredFlag(t, b, "redeliver.k", 30*time.Second)
}
