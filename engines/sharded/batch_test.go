package sharded

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

func TestPublishBatch(t *testing.T) {
	t.Run("keeps each key's order across shards", func(t *testing.T) {
		for _, shards := range []int{1, 3} {
			b := start(t, Config{Shards: shards, RingSize: 8})
			ctx := testCtx(t)
			rec := newLog()
			if _, err := b.Subscribe(ctx, "batch", rec.handle); err != nil {
				t.Fatal(err)
			}
			var events []bus.Event
			for i := 0; i < 50; i++ {
				for k := 0; k < 5; k++ {
					events = append(events, keyedEvent("batch", fmt.Sprint("k", k), i))
				}
			}
			n, err := b.PublishBatch(ctx, events)
			if err != nil || n != len(events) {
				t.Fatalf("PublishBatch = %d, %v; want %d, nil", n, err, len(events))
			}
			if err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			rec.checkOrdered(t, map[string]int{"k0": 50, "k1": 50, "k2": 50, "k3": 50, "k4": 50})
			invariant(t, b)
		}
	})
	t.Run("rejects the whole batch when one topic is invalid", func(t *testing.T) {
		b := start(t, Config{})
		n, err := b.PublishBatch(testCtx(t), []bus.Event{{Topic: "ok"}, {Topic: "bad.*"}})
		if n != 0 || !errors.Is(err, bus.ErrWildcardPublish) {
			t.Errorf("PublishBatch = %d, %v; want 0, ErrWildcardPublish", n, err)
		}
		if m := b.Metrics(); m.Ingested != 0 {
			t.Errorf("ingested %d events of a refused batch", m.Ingested)
		}
	})
	t.Run("accepts a prefix and rejects the rest in drop-newest mode", func(t *testing.T) {
		rec := newLog()
		b, g := fullRing(t, Config{Backpressure: BackpressureDropNewest}, rec)
		g.release()
		if err := b.Flush(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		g2 := newGate()
		defer g2.release()
		if _, err := b.Subscribe(testCtx(t), "bp2", g2.handler(nil)); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(testCtx(t), bus.Event{Topic: "bp2"}); err != nil {
			t.Fatal(err)
		}
		<-g2.entered // the worker is stuck; the ring (4 slots) is empty
		batch := make([]bus.Event, 7)
		for i := range batch {
			batch[i] = keyedEvent("bp", "k", 5+i)
		}
		n, err := b.PublishBatch(testCtx(t), batch)
		if n != 4 || !errors.Is(err, bus.ErrEventDropped) {
			t.Errorf("PublishBatch = %d, %v; want 4, ErrEventDropped", n, err)
		}
		g2.release()
		if err := b.Flush(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		rec.checkOrdered(t, map[string]int{"k": 9})
		if m := invariant(t, b); m.Rejected != 3 {
			t.Errorf("Rejected = %d, want 3", m.Rejected)
		}
	})
	t.Run("is refused while stopped", func(t *testing.T) {
		b, err := NewEventBus(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.PublishBatch(context.Background(), []bus.Event{{Topic: "x"}}); !errors.Is(err, bus.ErrEventBusNotStarted) {
			t.Errorf("PublishBatch before Start = %v, want ErrEventBusNotStarted", err)
		}
	})
	t.Run("stamps CreatedAt at publish when asked", func(t *testing.T) {
		b := start(t, Config{StampAtPublish: true})
		ctx := testCtx(t)
		got := make(chan bus.Event, 2)
		if _, err := b.Subscribe(ctx, "stamp", func(_ context.Context, e bus.Event) error { got <- e; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := b.PublishBatch(ctx, []bus.Event{{Topic: "stamp"}, {Topic: "stamp"}}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			if e := <-got; e.CreatedAt.IsZero() {
				t.Errorf("event %d has a zero CreatedAt", i)
			}
		}
	})
}
