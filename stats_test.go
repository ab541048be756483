package eventbus

import (
	"context"
	"testing"
	"time"
)

// TestStatsAccessors checks what the package doc promises about the five
// stats accessors, on one module with two engines.
func TestStatsAccessors(t *testing.T) {
	m := newTestModule(t, &EventBusConfig{
		Engines: []EngineConfig{{Name: "fast", Type: "memory"}, {Name: "slow", Type: "memory"}},
		Routing: []RoutingRule{{Topics: []string{"orders.*"}, Engine: "fast"}, {Topics: []string{"*"}, Engine: "slow"}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = m.Stop(context.Background()) }()
	for _, topic := range []string{"orders.placed", "audit"} {
		if _, err := m.Subscribe(ctx, topic, func(context.Context, Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, topic := range []string{"orders.placed", "orders.placed", "audit"} {
		if err := m.Publish(ctx, topic, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	t.Run("Stats sums delivered and dropped over the engines", func(t *testing.T) {
		if d, x := m.Stats(); d != 3 || x != 0 {
			t.Errorf("Stats() = %d, %d; want 3, 0", d, x)
		}
	})
	t.Run("PerEngineStats splits delivered and dropped by engine name", func(t *testing.T) {
		got := m.PerEngineStats()
		if got["fast"] != (DeliveryStats{Delivered: 2}) || got["slow"] != (DeliveryStats{Delivered: 1}) {
			t.Errorf("PerEngineStats() = %+v", got)
		}
	})
	t.Run("EngineStats gives the detailed figures by engine name", func(t *testing.T) {
		got := m.EngineStats()
		if got["fast"].Published != 2 || got["fast"].Delivered != 2 || got["slow"].Published != 1 {
			t.Errorf("EngineStats() = %+v", got)
		}
	})
	t.Run("EngineTopicStats gives the figures by engine name then published topic", func(t *testing.T) {
		var got map[string]map[string]TopicStats = m.EngineTopicStats()
		if got["fast"]["orders.placed"] != (TopicStats{Published: 2, Delivered: 2}) || got["slow"]["audit"] != (TopicStats{Published: 1, Delivered: 1}) {
			t.Errorf("EngineTopicStats() = %+v", got)
		}
	})
	t.Run("CollectMetrics reports the same figures for modular's metrics provider", func(t *testing.T) {
		got := m.CollectMetrics(ctx).Values
		if got["delivered_count"] != 3 || got["fast.published"] != 2 {
			t.Errorf("CollectMetrics() = %v", got)
		}
	})
}
