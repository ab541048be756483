package kinesis

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/internal/brokertest"
)

func TestTopicStats(t *testing.T) {
	t.Run("per-topic figures add up to the engine's and overflow topics go to other", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		cfg.MaxRetries = -1
		cfg.DeadLetterTopic = broker.DeadLetterDisabled
		cfg.TopicLimit = 2
		brokertest.CheckTopicFigures(t, started(t, cfg), "", 20*time.Second)
	})
}
