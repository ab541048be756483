package custom

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCustomEngineConformance(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			b, err := New(map[string]interface{}{"metricsInterval": "1m"})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	})
}

func TestCustomEngineFiltersAndMeasures(t *testing.T) {
	b, err := New(map[string]interface{}{
		"eventFilters": []interface{}{map[string]interface{}{"type": "topicPrefix", "allowedPrefixes": []interface{}{"user."}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c := b.(*EventBus)
	ctx := context.Background()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	if _, err := c.Subscribe(ctx, "*", func(_ context.Context, e bus.Event) error { got <- e.Topic; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"user.created", "order.placed", "user.deleted"} {
		if err := c.Publish(ctx, bus.Event{Topic: topic}); err != nil {
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
		_, err := New(want)
		if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(spec)) {
			t.Errorf("New(%v) = %v, want an error mentioning %s", want, err, spec)
		}
	}
}

func TestTopicPrefixFilter(t *testing.T) {
	f := &TopicPrefixFilter{AllowedPrefixes: []string{"a.", "b."}}
	if f.Name() != "topicPrefix" || !f.ShouldProcess(bus.Event{Topic: "a.x"}) || f.ShouldProcess(bus.Event{Topic: "c.x"}) {
		t.Fatal("TopicPrefixFilter misbehaves")
	}
	if !(&TopicPrefixFilter{}).ShouldProcess(bus.Event{Topic: "any"}) {
		t.Fatal("an empty prefix list should let everything through")
	}
}

func TestCustomEnginePassesTheModuleLevelKeysToItsMemoryEngine(t *testing.T) {
	b, err := New(map[string]interface{}{"workerCount": 7, "deliveryMode": "timeout", "publishBlockTimeout": "250ms", "rotateSubscriberOrder": true})
	if err != nil {
		t.Fatal(err)
	}
	got := b.(*EventBus).inner.Config()
	if got.WorkerCount != 7 || got.DeliveryMode != "timeout" || got.PublishBlockTimeout.Std() != 250*time.Millisecond || !got.RotateSubscriberOrder {
		t.Fatalf("memory config = %+v, want workerCount 7, deliveryMode timeout, publishBlockTimeout 250ms, rotateSubscriberOrder true", got)
	}
}
