package kinesis

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

func TestTopicStats(t *testing.T) {
	t.Run("per-topic figures add up to the engine's and overflow topics go to other", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		cfg.MaxRetries = -1
		cfg.DeadLetterTopic = broker.DeadLetterDisabled
		cfg.TopicLimit = 2
		b := started(t, cfg)
		ctx := testCtx(t)
		var got recorder
		if _, err := b.Subscribe(ctx, "a", got.handle); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Subscribe(ctx, "b", func(context.Context, bus.Event) error { return errors.New("no") }); err != nil {
			t.Fatal(err)
		}
		for i, topic := range []string{"a", "b", "a", "b", "a", "c", "d"} {
			if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		want := map[string]bus.TopicStats{
			"a":            {Published: 3, Delivered: 3},
			"b":            {Published: 2, Delivered: 2, Failed: 2, Dropped: 2},
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
