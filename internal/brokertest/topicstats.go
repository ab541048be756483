// Package brokertest holds test scenarios the broker engines (redis,
// kafka, kinesis) share because they share the broker toolkit's
// semantics; the conformance suite (eventbustest) holds what every engine
// shares.
package brokertest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// Engine is a started broker engine that reports per-topic figures.
type Engine interface {
	bus.EventBus
	bus.TopicStatsProvider
	bus.EngineStatsProvider
}

// CheckTopicFigures checks the broker toolkit's per-topic accounting on an
// engine configured with topicLimit 2, no retries (maxRetries -1) and
// dead-lettering disabled, so that a failed event is counted as dropped:
// a topic with a succeeding handler, one with a failing handler, and two
// topics past the limit (counted under bus.OtherTopic); the figures of all
// topics must add up to the engine's. Topics are prefix + "a" … "d".
func CheckTopicFigures(t *testing.T, b Engine, prefix string, timeout time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*timeout)
	defer cancel()
	a, fail := prefix+"a", prefix+"b"
	if _, err := b.Subscribe(ctx, a, func(context.Context, bus.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, fail, func(context.Context, bus.Event) error { return errors.New("no") }); err != nil {
		t.Fatal(err)
	}
	for i, topic := range []string{a, fail, a, fail, a, prefix + "c", prefix + "d"} {
		if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: i}); err != nil {
			t.Fatal(err)
		}
	}
	want := fmt.Sprint(map[string]bus.TopicStats{
		a:              {Published: 3, Delivered: 3},
		fail:           {Published: 2, Delivered: 2, Failed: 2, Dropped: 2},
		bus.OtherTopic: {Published: 2},
	})
	if testutil.Poll(timeout, "the per-topic figures", func() bool { return fmt.Sprint(b.TopicStats()) == want }) != nil {
		t.Fatalf("per-topic figures = %v, want %v", b.TopicStats(), want)
	}
	var sum bus.TopicStats
	for _, s := range b.TopicStats() {
		sum = sum.Add(s)
	}
	es := b.EngineStats()
	if sum.Published != es.Published || sum.Delivered != es.Delivered || sum.Failed != es.Failed || sum.Dropped != es.Dropped {
		t.Errorf("sum over topics %+v does not match engine stats %+v", sum, es)
	}
}
