package kafka_test

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestTopicStats(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"maxRetries": -1, "deadLetterTopic": "-", "topicLimit": 2}))

	t.Run("per-topic figures add up to the engine's and overflow topics go to other", func(t *testing.T) {
		brokertest.CheckTopicFigures(t, b, "stats.", 20*time.Second)
	})
}
