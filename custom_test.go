package eventbus

import (
	"context"
	"strings"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func TestCustomEngineConformance(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			b, err := NewCustomMemoryEventBus(map[string]interface{}{"metricsInterval": "1m"})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	})
}

func TestCustomEngineFiltersAndMeasures(t *testing.T) {
	b, err := NewCustomMemoryEventBus(map[string]interface{}{
		"eventFilters": []interface{}{map[string]interface{}{"type": "topicPrefix", "allowedPrefixes": []interface{}{"user."}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := b.(*CustomMemoryEventBus)
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	if _, err := c.Subscribe(ctx, "*", func(_ context.Context, e Event) error { got <- e.Topic; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"user.created", "order.placed", "user.deleted"} {
		if err := c.Publish(ctx, Event{Topic: topic}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	close(got)
	var topics []string
	for topic := range got {
		topics = append(topics, topic)
	}
	if strings.Join(topics, ",") != "user.created,user.deleted" {
		t.Fatalf("delivered %v, want only the user.* events", topics)
	}
	m := c.GetMetrics()
	if m.TotalEvents != 2 || m.EventsPerTopic["user.created"] != 1 || m.Filtered() != 1 || m.LastResetTime.IsZero() {
		t.Fatalf("metrics = %+v (filtered %d)", m, m.Filtered())
	}
}

func TestCustomEngineRejectsBadFiltersNamingThem(t *testing.T) {
	for spec, want := range map[string]map[string]interface{}{
		`eventFilters[0].type: "regex"`:       {"eventFilters": []interface{}{map[string]interface{}{"type": "regex"}}},
		"eventFilters[0].allowedPrefixes":     {"eventFilters": []interface{}{map[string]interface{}{"type": "topicPrefix", "allowedPrefixes": "user."}}},
		"metricsInterval":                     {"metricsInterval": "-1s"},
		"unknown config key(s) enableMetric ": {"enableMetric": true},
	} {
		_, err := NewCustomMemoryEventBus(want)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(spec)) {
			t.Errorf("NewCustomMemoryEventBus(%v) = %v, want an error mentioning %s", want, err, spec)
		}
	}
}

func TestTopicPrefixFilter(t *testing.T) {
	f := &TopicPrefixFilter{AllowedPrefixes: []string{"a.", "b."}}
	if f.Name() != "topicPrefix" || !f.ShouldProcess(Event{Topic: "a.x"}) || f.ShouldProcess(Event{Topic: "c.x"}) {
		t.Fatal("TopicPrefixFilter misbehaves")
	}
	if !(&TopicPrefixFilter{}).ShouldProcess(Event{Topic: "any"}) {
		t.Fatal("an empty prefix list should let everything through")
	}
}

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
