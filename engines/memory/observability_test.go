package memory_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
)

func TestHandlerLatencyIsMeasuredForEveryHandlerCall(t *testing.T) {
	b, err := memory.NewEventBus(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	slow := func(context.Context, bus.Event) error { time.Sleep(3 * time.Millisecond); return nil }
	if _, err := b.Subscribe(ctx, "slow", slow); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SubscribeAsync(ctx, "slow", slow); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "slow"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s := b.EngineStats()
	h := s.HandlerLatency
	if h.Count != 10 || h.Count != s.Delivered {
		t.Fatalf("latency count %d, delivered %d; want 10 and equal", h.Count, s.Delivered)
	}
	if h.Mean() < 3*time.Millisecond {
		t.Errorf("mean handler latency %v, want >= 3ms (each handler sleeps 3ms)", h.Mean())
	}
	if q := h.Quantile(0.5); q <= 2500*time.Microsecond || q > 25*time.Millisecond {
		t.Errorf("median %v, want within (2.5ms, 25ms]", q)
	}
}

func TestTopicStatsCountPublishedDeliveredFailedAndDroppedPerTopic(t *testing.T) {
	b, release, _ := startBlocked(t, memory.Config{DeliveryMode: memory.DeliveryDrop, DefaultEventBufferSize: 1})
	ctx := context.Background()
	_ = b.Publish(ctx, bus.Event{Topic: "jam"}) // queued
	if err := b.Publish(ctx, bus.Event{Topic: "jam"}); !errors.Is(err, bus.ErrEventDropped) {
		t.Fatalf("publish on a full queue = %v, want ErrEventDropped", err)
	}
	if _, err := b.Subscribe(ctx, "bad", func(context.Context, bus.Event) error { return errors.New("no") }); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Topic: "bad"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Topic: "nobody.listens"}); err != nil {
		t.Fatal(err)
	}
	close(release)
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	got := b.TopicStats()
	want := map[string]bus.TopicStats{
		"jam":            {Published: 3, Delivered: 2, Dropped: 1},
		"bad":            {Published: 1, Delivered: 1, Failed: 1},
		"nobody.listens": {Published: 1},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("TopicStats() = %v, want %v", got, want)
	}
}

func TestTopicStatsAreBoundedByTopicLimit(t *testing.T) {
	b, err := memory.New(map[string]any{"topicLimit": 3})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	for i := 0; i < 50; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: fmt.Sprint("tenant.", i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := b.(bus.TopicStatsProvider).TopicStats()
	if len(got) != 4 || got[bus.OtherTopic].Published != 47 {
		t.Fatalf("TopicStats() = %v, want 3 topics plus %q with 47", got, bus.OtherTopic)
	}
	if _, err := memory.New(map[string]any{"topicLimit": -1}); err == nil {
		t.Fatal("topicLimit -1 was accepted")
	}
}

func TestPublishAndDeliveryDoNotAllocateWithStatsOn(t *testing.T) {
	b, err := memory.NewEventBus(memory.Config{DefaultEventBufferSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	if _, err := b.Subscribe(ctx, "hot", func(context.Context, bus.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var payload any = "boxed once"
	allocs := testing.AllocsPerRun(1000, func() { _ = b.Publish(ctx, bus.Event{Topic: "hot", Payload: payload}) })
	if allocs != 0 {
		t.Fatalf("Publish allocates %.1f times per event with latency and topic stats on, want 0", allocs)
	}
}
