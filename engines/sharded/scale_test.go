package sharded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestResizeWhilePublishing adds and removes shards while publishers run:
// no accepted event is lost and no key's events are reordered, although
// keys move between shards.
func TestResizeWhilePublishing(t *testing.T) {
	for _, cfg := range []Config{
		{Shards: 2, RingSize: 64, BatchMaxEvents: 8},
		{Shards: 2, RingSize: 64, BatchMaxEvents: 8, Backpressure: BackpressureDropOldest, SpinWindow: -1},
	} {
		t.Run("in "+cfg.Backpressure+" mode", func(t *testing.T) { resizeWhilePublishing(t, cfg) })
	}
}

func resizeWhilePublishing(t *testing.T, cfg Config) {
	b := start(t, cfg)
	ctx := testCtx(t)
	rec := newLog()
	slowish := func(ctx context.Context, e bus.Event) error {
		if e.Payload.(keyed).seq%64 == 0 {
			time.Sleep(50 * time.Microsecond) // keep some events queued across resizes
		}
		return rec.handle(ctx, e)
	}
	if _, err := b.Subscribe(ctx, "scale", slowish); err != nil {
		t.Fatal(err)
	}
	keys := 16
	if cfg.Backpressure == BackpressureDropOldest {
		keys = 4 // publishers that never wait leave the workers little CPU
	}
	var stop atomic.Bool
	sent := make([]int, keys)
	var wg sync.WaitGroup
	for k := 0; k < keys; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				if err := b.Publish(ctx, keyedEvent("scale", fmt.Sprint("key", k), i)); err != nil {
					t.Errorf("publish: %v", err)
					return
				}
				sent[k]++
			}
		}()
	}
	for _, step := range []struct {
		op string
		n  int
	}{{"add", 2}, {"remove", 3}, {"add", 5}, {"resize", 1}, {"resize", 4}, {"remove", 2}} {
		before := rec.count()
		testutil.Eventually(t, 20*time.Second, "2000 more deliveries", func() bool { return rec.count() > before+2000 })
		var err error
		switch step.op {
		case "add":
			err = b.AddShards(ctx, step.n)
		case "remove":
			err = b.RemoveShards(ctx, step.n)
		case "resize":
			err = b.Resize(ctx, step.n)
		}
		if err != nil {
			t.Fatalf("%s %d: %v", step.op, step.n, err)
		}
	}
	stop.Store(true)
	wg.Wait()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.ShardCount(); n != 2 {
		t.Errorf("ShardCount = %d, want 2", n)
	}
	want := map[string]int{}
	for k, n := range sent {
		want[fmt.Sprint("key", k)] = n
	}
	m := invariant(t, b)
	if cfg.Backpressure == BackpressureDropOldest {
		rec.checkIncreasing(t, want)
	} else {
		rec.checkOrdered(t, want)
		if m.Dropped != 0 {
			t.Errorf("dropped %d across resizes", m.Dropped)
		}
	}
	if len(m.Shards) != 2 {
		t.Errorf("Metrics lists %d running shards, want 2: %+v", len(m.Shards), m.Shards)
	}
}

func TestResizeRejectsInvalidCounts(t *testing.T) {
	b := start(t, Config{Shards: 2})
	ctx := testCtx(t)
	for _, n := range []int{0, -1, MaxShards + 1} {
		if err := b.Resize(ctx, n); !errors.Is(err, ErrInvalidShardCount) || !errors.Is(err, bus.ErrInvalidShardCount) {
			t.Errorf("Resize(%d) = %v, want ErrInvalidShardCount", n, err)
		}
	}
	if err := b.RemoveShards(ctx, 2); !errors.Is(err, ErrInvalidShardCount) {
		t.Errorf("RemoveShards(2) of 2 = %v, want ErrInvalidShardCount", err)
	}
	if n := b.ShardCount(); n != 2 {
		t.Errorf("ShardCount = %d after refused resizes, want 2", n)
	}
}

func TestResizeWhileStoppedAppliesAtStart(t *testing.T) {
	b, err := NewEventBus(Config{Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := b.Resize(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	if got := len(b.Metrics().Shards); got != 3 {
		t.Errorf("running shards = %d, want 3", got)
	}
}

func TestResizeReturnsWhenItsContextEnds(t *testing.T) {
	b := start(t, Config{Shards: 1})
	g := newGate()
	defer g.release()
	if _, err := b.Subscribe(testCtx(t), "r", g.handler(nil)); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(testCtx(t), bus.Event{Topic: "r"}); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Resize(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Resize behind a stuck handler = %v, want context.DeadlineExceeded", err)
	}
	// Publishing continues on the new shards; delivery resumes once the
	// old shard drained.
	if err := b.Publish(testCtx(t), bus.Event{Topic: "r"}); err != nil {
		t.Fatal(err)
	}
	g.release()
	if err := b.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if m := invariant(t, b); m.Delivered != 2 {
		t.Errorf("delivered %d, want 2", m.Delivered)
	}
}
