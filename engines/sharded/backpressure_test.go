package sharded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// fullRing starts an engine with one shard of ring size 4 whose only
// handler is stuck in its first call: after it returns the ring holds 4
// queued events and has no room. Release the gate to let it drain.
func fullRing(t *testing.T, cfg Config, rec *log) (*EventBus, *gate) {
	t.Helper()
	cfg.Shards, cfg.RingSize, cfg.BatchMaxEvents = 1, 4, 1
	b := start(t, cfg)
	g := newGate()
	t.Cleanup(g.release)
	if _, err := b.Subscribe(testCtx(t), "bp", g.handler(rec.handle)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := b.Publish(testCtx(t), keyedEvent("bp", "k", i)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
		if i == 0 {
			<-g.entered
		}
	}
	return b, g
}

func TestBackpressureModes(t *testing.T) {
	t.Run("block waits for room and delivers everything", func(t *testing.T) {
		rec := newLog()
		b, g := fullRing(t, Config{}, rec)
		done := make(chan error, 1)
		go func() { done <- b.Publish(testCtx(t), keyedEvent("bp", "k", 5)) }()
		select {
		case err := <-done:
			t.Fatalf("Publish on a full ring returned %v without waiting", err)
		case <-time.After(20 * time.Millisecond):
		}
		g.release()
		if err := <-done; err != nil {
			t.Fatalf("blocked Publish = %v", err)
		}
		if err := b.Flush(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		rec.checkOrdered(t, map[string]int{"k": 6})
		if m := invariant(t, b); m.Dropped != 0 {
			t.Errorf("dropped %d in block mode", m.Dropped)
		}
	})
	t.Run("block gives up with the publish context's error", func(t *testing.T) {
		b, _ := fullRing(t, Config{}, newLog())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		err := b.Publish(ctx, bus.Event{Topic: "bp"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Publish = %v, want context.DeadlineExceeded", err)
		}
		if m := b.Metrics(); m.Rejected != 1 {
			t.Errorf("Rejected = %d, want 1", m.Rejected)
		}
	})
	t.Run("timeout waits then rejects with ErrEventDropped", func(t *testing.T) {
		b, _ := fullRing(t, Config{Backpressure: BackpressureTimeout, PublishBlockTimeout: bus.Duration(30 * time.Millisecond)}, newLog())
		began := time.Now()
		err := b.Publish(testCtx(t), bus.Event{Topic: "bp"})
		if !errors.Is(err, bus.ErrEventDropped) {
			t.Fatalf("Publish = %v, want ErrEventDropped", err)
		}
		if waited := time.Since(began); waited < 25*time.Millisecond {
			t.Errorf("gave up after %v, want about 30ms", waited)
		}
		if m := b.Metrics(); m.Rejected != 1 || m.Dropped != 1 {
			t.Errorf("Rejected = %d Dropped = %d, want 1 and 1", m.Rejected, m.Dropped)
		}
	})
	t.Run("timeout with a zero wait rejects at once", func(t *testing.T) {
		b, _ := fullRing(t, Config{Backpressure: BackpressureTimeout}, newLog())
		if err := b.Publish(testCtx(t), bus.Event{Topic: "bp"}); !errors.Is(err, bus.ErrEventDropped) {
			t.Fatalf("Publish = %v, want ErrEventDropped", err)
		}
	})
	t.Run("drop-newest rejects at once and keeps the queued events", func(t *testing.T) {
		rec := newLog()
		b, g := fullRing(t, Config{Backpressure: BackpressureDropNewest}, rec)
		for i := 0; i < 3; i++ {
			if err := b.Publish(testCtx(t), keyedEvent("bp", "k", 100+i)); !errors.Is(err, bus.ErrEventDropped) {
				t.Fatalf("Publish = %v, want ErrEventDropped", err)
			}
		}
		g.release()
		if err := b.Flush(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		rec.checkOrdered(t, map[string]int{"k": 5})
		if m := invariant(t, b); m.Rejected != 3 || m.Ingested != 8 {
			t.Errorf("Rejected = %d Ingested = %d, want 3 and 8", m.Rejected, m.Ingested)
		}
		if _, dropped := b.Stats(); dropped != 3 {
			t.Errorf("Stats dropped = %d, want 3", dropped)
		}
	})
	t.Run("drop-oldest evicts the oldest queued events and counts them", func(t *testing.T) {
		rec := newLog()
		b, g := fullRing(t, Config{Backpressure: BackpressureDropOldest}, rec)
		for i := 5; i < 8; i++ {
			if err := b.Publish(testCtx(t), keyedEvent("bp", "k", i)); err != nil {
				t.Fatalf("Publish = %v, want nil (drop-oldest never refuses)", err)
			}
		}
		g.release()
		if err := b.Flush(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		rec.mu.Lock()
		got := fmt.Sprint(rec.seen["k"])
		rec.mu.Unlock()
		if got != "[0 4 5 6 7]" { // 0 was being handled; 1, 2, 3 were evicted
			t.Errorf("delivered %s, want [0 4 5 6 7]", got)
		}
		if m := invariant(t, b); m.Evicted != 3 || m.Rejected != 0 {
			t.Errorf("Evicted = %d Rejected = %d, want 3 and 0", m.Evicted, m.Rejected)
		}
	})
}

// TestFastPublisherSlowHandlerIsLossless runs a publisher at least ten
// times faster than its handler in block mode: nothing is dropped, every
// event arrives once and each key's events arrive in order.
func TestFastPublisherSlowHandlerIsLossless(t *testing.T) {
	b := start(t, Config{Shards: 2, RingSize: 16, BatchMaxEvents: 4})
	ctx := testCtx(t)
	rec := newLog()
	slow := func(ctx context.Context, e bus.Event) error {
		time.Sleep(50 * time.Microsecond) // publishing takes well under 5µs
		return rec.handle(ctx, e)
	}
	if _, err := b.Subscribe(ctx, "fast.*", slow); err != nil {
		t.Fatal(err)
	}
	const keys, each = 4, 200
	var wg sync.WaitGroup
	for k := 0; k < keys; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if err := b.Publish(ctx, keyedEvent(fmt.Sprint("fast.", k%2), fmt.Sprint("key", k), i)); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for k := 0; k < keys; k++ {
		want[fmt.Sprint("key", k)] = each
	}
	rec.checkOrdered(t, want)
	if m := invariant(t, b); m.Dropped != 0 || m.Accepted != keys*each {
		t.Errorf("accepted %d dropped %d, want %d and 0", m.Accepted, m.Dropped, keys*each)
	}
}
