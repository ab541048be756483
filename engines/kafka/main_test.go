package kafka_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// metricsGoroutine is sarama's process-global go-metrics ticker: started
// by the first client, never stopped.
var metricsGoroutine = goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, metricsGoroutine) }

// engineConfig is the engine configuration tests start from: fast topic
// discovery and auto-created two-partition topics.
func engineConfig(k *testinfra.KafkaCluster, extra map[string]any) map[string]any {
	cfg := map[string]any{
		"brokers":              k.Addrs(),
		"autoCreateTopics":     true,
		"topicPartitions":      2,
		"topicRefreshInterval": "200ms",
		"retryBackoff":         "10ms",
		"retryBackoffMax":      "50ms",
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// newEngine builds an engine from cfg, stopped at cleanup.
func newEngine(t *testing.T, cfg map[string]any) *kafka.EventBus {
	t.Helper()
	b, err := kafka.New(cfg)
	if err != nil {
		t.Fatalf("kafka.New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = b.Stop(ctx)
	})
	return b.(*kafka.EventBus)
}

// started builds and starts an engine.
func started(t *testing.T, cfg map[string]any) *kafka.EventBus {
	t.Helper()
	b := newEngine(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var _ bus.EventBus = (*kafka.EventBus)(nil)
