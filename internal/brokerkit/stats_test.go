package brokerkit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

func TestTopicStats(t *testing.T) {
	never := make(chan struct{})
	ok := func(context.Context, bus.Event) error { return nil }
	fail := func(context.Context, bus.Event) error { return errors.New("no") }

	t.Run("per-topic figures add up to the engine-wide counters", func(t *testing.T) {
		noDLQ := fast
		noDLQ.MaxRetries = 1
		noDLQ.DeadLetterTopic = broker.DeadLetterDisabled
		d, c, _ := newDispatcher(noDLQ)
		c.CountPublished("a")
		c.CountPublished("a")
		c.CountPublished("b")
		d.Dispatch(context.Background(), never, "s", ok, env("a"), broker.NewDelivery("", nil))
		d.Dispatch(context.Background(), never, "s", ok, env("a"), broker.NewDelivery("", nil))
		r := d.Dispatch(context.Background(), never, "s", fail, env("b"), broker.NewDelivery("", nil))
		if r.Outcome != brokerkit.OutcomeDrop {
			t.Fatalf("outcome %v, want drop (dead-lettering disabled)", r.Outcome)
		}
		d.Reject("c", "1-0", []byte("junk"), fmt.Errorf("%w: test", broker.ErrMalformed))
		c.CountDropped("") // an entry whose topic is unknown

		got := c.TopicStats()
		want := map[string]bus.TopicStats{
			"a":            {Published: 2, Delivered: 2},
			"b":            {Published: 1, Delivered: 2, Failed: 2, Dropped: 1, Retried: 1},
			"c":            {Dropped: 1},
			bus.OtherTopic: {Dropped: 1},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("TopicStats = %v, want %v", got, want)
		}
		var sum bus.TopicStats
		for _, s := range got {
			sum = sum.Add(s)
		}
		es := c.EngineStats()
		if sum.Published != es.Published || sum.Delivered != es.Delivered || sum.Failed != es.Failed || sum.Dropped != es.Dropped ||
			sum.Retried != es.Retried || sum.DeadLettered != es.DeadLettered {
			t.Errorf("sum over topics %+v does not match engine stats %+v", sum, es)
		}
	})

	t.Run("topics beyond the limit are counted under OtherTopic", func(t *testing.T) {
		o := fast
		o.TopicLimit = 2
		d, c, _ := newDispatcher(o)
		for _, topic := range []string{"t1", "t2", "t3", "t4", "t1"} {
			c.CountPublished(topic)
			d.Dispatch(context.Background(), never, "s", ok, env(topic), broker.NewDelivery("", nil))
		}
		got := c.TopicStats()
		want := map[string]bus.TopicStats{
			"t1":           {Published: 2, Delivered: 2},
			"t2":           {Published: 1, Delivered: 1},
			bus.OtherTopic: {Published: 2, Delivered: 2},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("TopicStats = %v, want %v", got, want)
		}
	})

	t.Run("a dead-lettered event counts its handler calls, retries and dead letter on its topic", func(t *testing.T) {
		o := fast
		o.MaxRetries = 2
		d, c, _ := newDispatcher(o)
		r := d.Dispatch(context.Background(), never, "s", fail, env("orders"), broker.NewDelivery("", nil))
		if r.Outcome != brokerkit.OutcomeDeadLetter {
			t.Fatalf("outcome %v, want dead-letter", r.Outcome)
		}
		d.Reject("orders", "7-0", []byte("junk"), fmt.Errorf("%w: test", broker.ErrMalformed))
		d.Reject("", "8-0", []byte("junk"), fmt.Errorf("%w: test", broker.ErrMalformed)) // topic unknown
		stats := c.TopicStats()
		got := stats["orders"]
		want := bus.TopicStats{Delivered: 3, Failed: 3, Retried: 2, DeadLettered: 2}
		if got != want {
			t.Errorf("orders = %+v, want %+v (3 calls, 2 retries, the failed and the rejected event dead-lettered, nothing dropped)", got, want)
		}
		if other := stats[bus.OtherTopic]; other.DeadLettered != 1 {
			t.Errorf("an undecodable entry of unknown topic: %s = %+v, want 1 dead-lettered", bus.OtherTopic, other)
		}
		if es := c.EngineStats(); es.DeadLettered != 3 || es.Retried != 2 {
			t.Errorf("engine-wide DeadLettered = %d, Retried = %d, want 3 and 2", es.DeadLettered, es.Retried)
		}
	})
}

func BenchmarkDispatchTopicCounters(b *testing.B) {
	never := make(chan struct{})
	d, _, _ := newDispatcher(fast)
	e := env("orders")
	h := func(context.Context, bus.Event) error { return nil }
	b.ReportAllocs()
	for b.Loop() {
		d.Dispatch(context.Background(), never, "s", h, e, broker.NewDelivery("", nil))
	}
}
