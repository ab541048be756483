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

func TestFlushIsADeliveryBarrier(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"with one shard", Config{Shards: 1}},
		{"with four shards and small rings", Config{Shards: 4, RingSize: 64, BatchMaxEvents: 7}},
		{"in drop-oldest mode", Config{Shards: 2, RingSize: 32, Backpressure: BackpressureDropOldest}},
		{"with a batch delay", Config{Shards: 2, BatchMaxDelay: bus.Duration(time.Millisecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := start(t, tt.cfg)
			ctx := testCtx(t)
			var syncCalls, asyncCalls atomic.Int64
			slow := func(n *atomic.Int64) bus.EventHandler {
				return func(context.Context, bus.Event) error {
					time.Sleep(20 * time.Microsecond)
					n.Add(1)
					return nil
				}
			}
			if _, err := b.Subscribe(ctx, "flush.*", slow(&syncCalls)); err != nil {
				t.Fatal(err)
			}
			if _, err := b.SubscribeAsync(ctx, "flush.*", slow(&asyncCalls)); err != nil {
				t.Fatal(err)
			}
			const producers, each = 4, 250
			var wg sync.WaitGroup
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < each; i++ {
						if err := b.Publish(ctx, keyedEvent(fmt.Sprintf("flush.%d", p), fmt.Sprint(p), i)); err != nil {
							t.Errorf("publish: %v", err)
							return
						}
					}
				}()
			}
			wg.Wait()
			if err := b.Flush(ctx); err != nil {
				t.Fatalf("Flush: %v", err)
			}
			m := invariant(t, b)
			delivered := m.Accepted - m.Evicted
			if s, a := uint64(syncCalls.Load()), uint64(asyncCalls.Load()); s != delivered || a != delivered {
				t.Errorf("after Flush: sync handled %d, async handled %d, want %d each (metrics %+v)", s, a, delivered, m)
			}
			if tt.cfg.Backpressure != BackpressureDropOldest && m.Accepted != producers*each {
				t.Errorf("accepted %d, want %d", m.Accepted, producers*each)
			}
		})
	}
}

func TestFlushReturnsWhenItsContextEnds(t *testing.T) {
	b := start(t, Config{Shards: 1})
	g := newGate()
	defer g.release()
	if _, err := b.Subscribe(testCtx(t), "stuck", g.handler(nil)); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(testCtx(t), bus.Event{Topic: "stuck"}); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := b.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Flush with a stuck handler = %v, want context.DeadlineExceeded", err)
	}
	g.release()
	if err := b.Flush(testCtx(t)); err != nil {
		t.Errorf("Flush after the handler returned = %v", err)
	}
}

func TestFlushOnAStoppedEngineReturnsAtOnce(t *testing.T) {
	b, err := NewEventBus(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(testCtx(t)); err != nil {
		t.Errorf("Flush before Start = %v, want nil", err)
	}
}

// TestStopUnderLoadIsLossless stops the engine while publishers are
// running: every event whose Publish returned nil must be delivered by
// the time Stop returns, and the others must be refused with
// ErrEventBusNotStarted.
func TestStopUnderLoadIsLossless(t *testing.T) {
	for _, shards := range []int{1, 3} {
		t.Run(fmt.Sprintf("with %d shards", shards), func(t *testing.T) {
			b, err := NewEventBus(Config{Shards: shards, RingSize: 128, BatchMaxEvents: 16})
			if err != nil {
				t.Fatal(err)
			}
			ctx := testCtx(t)
			if err := b.Start(ctx); err != nil {
				t.Fatal(err)
			}
			syncLog, asyncLog := newLog(), newLog()
			slowSync := func(ctx context.Context, e bus.Event) error {
				time.Sleep(5 * time.Microsecond)
				return syncLog.handle(ctx, e)
			}
			if _, err := b.Subscribe(ctx, "load", slowSync); err != nil {
				t.Fatal(err)
			}
			if _, err := b.SubscribeAsync(ctx, "load", asyncLog.handle); err != nil {
				t.Fatal(err)
			}
			const producers = 4
			accepted := make([]int, producers)
			var wg sync.WaitGroup
			for p := 0; p < producers; p++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					key := fmt.Sprint("k", p)
					for i := 0; ; i++ {
						err := b.Publish(ctx, keyedEvent("load", key, i))
						if errors.Is(err, bus.ErrEventBusNotStarted) {
							return
						}
						if err != nil {
							t.Errorf("publish: %v", err)
							return
						}
						accepted[p]++
					}
				}()
			}
			testutil.Eventually(t, 5*time.Second, "some deliveries", func() bool { return syncLog.count() > 500 })
			if err := b.Stop(ctx); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			wg.Wait()
			want := map[string]int{}
			for p, n := range accepted {
				want[fmt.Sprint("k", p)] = n
			}
			syncLog.checkOrdered(t, want)
			asyncLog.mu.Lock()
			for key, n := range want {
				if got := len(asyncLog.seen[key]); got != n {
					t.Errorf("async key %s: %d delivered, want %d", key, got, n)
				}
			}
			asyncLog.mu.Unlock()
			m := invariant(t, b)
			if m.Dropped != 0 || m.LossyShutdown {
				t.Errorf("clean Stop dropped %d (lossy=%v)", m.Dropped, m.LossyShutdown)
			}
		})
	}
}

func TestStopPastItsDeadlineCountsStrandedEvents(t *testing.T) {
	b, err := NewEventBus(Config{Shards: 1, RingSize: 64, BatchMaxEvents: 1, StopGrace: bus.Duration(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	var calls atomic.Int64
	if _, err := b.Subscribe(ctx, "slow", g.handler(func(context.Context, bus.Event) error { calls.Add(1); return nil })); err != nil {
		t.Fatal(err)
	}
	const n = 10
	for i := 0; i < n; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "slow", Payload: i}); err != nil {
			t.Fatal(err)
		}
	}
	<-g.entered // the worker holds event 0 in a handler that waits for cancellation
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	err = b.Stop(stopCtx)
	if !errors.Is(err, bus.ErrEventBusShutdownTimeout) {
		t.Fatalf("Stop = %v, want ErrEventBusShutdownTimeout", err)
	}
	m := invariant(t, b)
	if !m.LossyShutdown {
		t.Errorf("LossyShutdown not set")
	}
	if m.Stranded != n-1 {
		t.Errorf("Stranded = %d, want %d (every event behind the stuck one)", m.Stranded, n-1)
	}
	if calls.Load() != 0 {
		t.Errorf("the cancelled handler went on to deliver %d events", calls.Load())
	}
	if es := b.EngineStats(); !es.LossyShutdown || es.Dropped < n-1 {
		t.Errorf("EngineStats = %+v, want lossy with >= %d dropped", es, n-1)
	}
	// A restart works and delivers again.
	g.release()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	if err := b.Publish(ctx, bus.Event{Topic: "slow"}); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Errorf("after restart: %d calls, want 1", calls.Load())
	}
}

func TestPublishersBlockedOnAFullRingAreRefusedByStop(t *testing.T) {
	b, err := NewEventBus(Config{Shards: 1, RingSize: 2, BatchMaxEvents: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	if _, err := b.Subscribe(ctx, "t", g.handler(nil)); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Topic: "t"}); err != nil {
		t.Fatal(err)
	}
	<-g.entered
	for i := 0; i < 2; i++ { // fill the ring
		if err := b.Publish(ctx, bus.Event{Topic: "t"}); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan error, 1)
	go func() { blocked <- b.Publish(ctx, bus.Event{Topic: "t"}) }()
	testutil.Eventually(t, 5*time.Second, "the publisher to wait for room", func() bool {
		return b.set.Load().shards[0].progress.waiters.Load() > 0
	})
	stopped := make(chan error, 1)
	go func() { stopped <- b.Stop(ctx) }()
	if err := <-blocked; !errors.Is(err, bus.ErrEventBusNotStarted) {
		t.Errorf("blocked Publish = %v, want ErrEventBusNotStarted once Stop began", err)
	}
	g.release()
	if err := <-stopped; err != nil {
		t.Errorf("Stop = %v", err)
	}
	if m := invariant(t, b); m.Accepted != 3 || m.Delivered != 3 {
		t.Errorf("accepted %d delivered %d, want 3 and 3", m.Accepted, m.Delivered)
	}
}

// TestHandlersMaySubscribeWhileStopDrains: Stop must not hold the lock
// that Subscribe and Unsubscribe need while it waits for the handlers.
func TestHandlersMaySubscribeWhileStopDrains(t *testing.T) {
	b, err := NewEventBus(Config{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	noop := func(context.Context, bus.Event) error { return nil }
	h := func(hctx context.Context, e bus.Event) error {
		time.Sleep(100 * time.Microsecond)
		s, err := b.Subscribe(hctx, "side", noop)
		if err == nil {
			err = b.Unsubscribe(hctx, s)
		}
		calls.Add(1)
		return err
	}
	if _, err := b.Subscribe(ctx, "drain.*", h); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: fmt.Sprint("drain.", i%4)}); err != nil {
			t.Fatal(err)
		}
	}
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := b.Stop(stopCtx); err != nil {
		t.Fatalf("Stop = %v, want a clean drain", err)
	}
	if n := calls.Load(); n != 100 {
		t.Errorf("handled %d events, want 100", n)
	}
	if m := invariant(t, b); m.Failed != 0 {
		t.Errorf("%d handler calls failed", m.Failed)
	}
}

func TestFlushDuringStopWaitsForTheDrain(t *testing.T) {
	b, err := NewEventBus(Config{Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	var calls atomic.Int64
	if _, err := b.Subscribe(ctx, "f", g.handler(func(context.Context, bus.Event) error { calls.Add(1); return nil })); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "f"}); err != nil {
			t.Fatal(err)
		}
	}
	<-g.entered
	stopped := make(chan error, 1)
	go func() { stopped <- b.Stop(ctx) }()
	testutil.Eventually(t, 5*time.Second, "Stop to begin", func() bool { return b.set.Load() == nil })
	flushed := make(chan error, 1)
	go func() { flushed <- b.Flush(ctx) }()
	select {
	case err := <-flushed:
		t.Fatalf("Flush returned %v while Stop was still draining", err)
	case <-time.After(20 * time.Millisecond):
	}
	g.release()
	if err := <-flushed; err != nil {
		t.Errorf("Flush = %v", err)
	}
	if n := calls.Load(); n != 5 {
		t.Errorf("Flush returned after %d of 5 deliveries", n)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Stop = %v", err)
	}
}
