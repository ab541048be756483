package eventbus

import (
	"context"
	"testing"
)

// TestCustomEngineMarksTheEventsItPublishes: as upstream's custom engine
// (and a scenario of upstream's own features), every event the custom
// engine publishes reaches handlers with Metadata["engine"] =
// "custom-memory", the publisher's other keys kept and its map untouched.
func TestCustomEngineMarksTheEventsItPublishes(t *testing.T) {
	m := newTestModule(t, &EventBusConfig{
		Engines: []EngineConfig{{Name: "fast", Type: "memory"}, {Name: "mine", Type: "custom"}},
		Routing: []RoutingRule{{Topics: []string{"custom.*"}, Engine: "mine"}},
	})
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	got := make(chan Event, 4)
	for _, topic := range []string{"custom.*", "plain.*"} {
		if _, err := m.Subscribe(ctx, topic, func(_ context.Context, e Event) error { got <- e; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	callers := map[string]interface{}{"source": "billing"}
	if err := m.PublishEvent(ctx, Event{Topic: "custom.with-metadata", Metadata: callers}); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish(ctx, "custom.without-metadata", 1); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish(ctx, "plain.memory", 1); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	close(got)
	for e := range got {
		wantEngine := "custom-memory"
		if e.Topic == "plain.memory" {
			wantEngine = "" // the memory engine adds nothing
		}
		if v, _ := e.Metadata["engine"].(string); v != wantEngine {
			t.Errorf("%s: Metadata[\"engine\"] = %q, want %q (metadata %v)", e.Topic, v, wantEngine, e.Metadata)
		}
		if e.Topic == "custom.with-metadata" && e.Metadata["source"] != "billing" {
			t.Errorf("%s: the publisher's metadata was lost: %v", e.Topic, e.Metadata)
		}
	}
	if len(callers) != 1 {
		t.Errorf("the publisher's Metadata map was modified: %v", callers)
	}
}
