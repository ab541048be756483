package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestTopicStats(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"maxRetries": -1, "deadLetterTopic": "-", "topicLimit": 2}))

	t.Run("per-topic figures add up to the engine's and overflow topics go to other", func(t *testing.T) {
		ctx := ctxT(t)
		var got collector
		if _, err := b.Subscribe(ctx, "stats.a", got.handle); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Subscribe(ctx, "stats.b", func(context.Context, bus.Event) error { return errors.New("no") }); err != nil {
			t.Fatal(err)
		}
		for i, topic := range []string{"stats.a", "stats.b", "stats.a", "stats.b", "stats.a", "stats.c", "stats.d"} {
			if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]bus.TopicStats{
			"stats.a":      {Published: 3, Delivered: 3},
			"stats.b":      {Published: 2, Delivered: 2, Failed: 2, Dropped: 2},
			bus.OtherTopic: {Published: 2},
		}
		eventually(t, 20*time.Second, "the per-topic figures", func() bool {
			return fmt.Sprint(b.TopicStats()) == fmt.Sprint(want)
		})
		var sum bus.TopicStats
		for _, s := range b.TopicStats() {
			sum = sum.Add(s)
		}
		es := b.EngineStats()
		if sum.Published != es.Published || sum.Delivered != es.Delivered || sum.Failed != es.Failed || sum.Dropped != es.Dropped {
			t.Errorf("sum over topics %+v does not match engine stats %+v", sum, es)
		}
	})
}
