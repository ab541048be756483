package memory_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
)

// Subscriptions cancelled while publishers run must not leave an event in
// a queue nobody reads: Flush and Stop return, the queue depth is zero.
// 30 subscriptions, 4 publishers, 20,000 events, three rounds. In the last
// two, Unsubscribe is held up for a moment after it closed removed (as a
// preempted goroutine would be), the window in which a publisher can pass
// the gone check.
func TestFlushReturnsAfterSubscriptionsAreCancelledWhilePublishing(t *testing.T) {
	const subs, publishers, events = 30, 4, 20000
	for round := 0; round < 3; round++ {
		if round == 1 {
			defer memory.SetRemovedHook(func() { time.Sleep(2 * time.Millisecond) })()
		}
		b, err := memory.NewEventBus(memory.Config{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var handled atomic.Int64
		list := make([]bus.Subscription, subs)
		for i := range list {
			subscribe := b.Subscribe
			if i%2 == 1 {
				subscribe = b.SubscribeAsync
			}
			if list[i], err = subscribe(ctx, "churn", func(context.Context, bus.Event) error { handled.Add(1); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		var sent atomic.Int64
		for p := 0; p < publishers; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < events/publishers; i++ {
					if err := b.Publish(ctx, bus.Event{Topic: "churn", Payload: i}); err != nil {
						t.Error(err)
						return
					}
					sent.Add(1)
				}
			}()
		}
		for i := range list {
			s := list[len(list)-1-i] // last first: publishers reach it after the others
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Spread the cancellations over the publishing.
				for sent.Load() < int64(i*events/subs) {
					time.Sleep(50 * time.Microsecond)
				}
				if err := s.Cancel(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		fctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = b.Flush(fctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: Flush after the cancellations: %v (queue depth %d)", round, err, b.EngineStats().QueueDepth)
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = b.Stop(sctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: Stop: %v", round, err)
		}
		if s := b.EngineStats(); s.QueueDepth != 0 || s.InFlight != 0 {
			t.Fatalf("round %d: queue depth %d, in flight %d after Stop, want 0", round, s.QueueDepth, s.InFlight)
		}
	}
}

// A sync handler that ignores its context outlives an expired Stop. After
// the next Start, the subscription's later events wait for that call: one
// call at a time, in order. The events queued at the expired Stop are
// counted as dropped, not delivered later.
func TestASyncSubscriptionRunsOneCallAtATimeAcrossAnExpiredStop(t *testing.T) {
	b, err := memory.NewEventBus(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu              sync.Mutex
		order           []string
		running, maxRun atomic.Int32
	)
	entered, release := make(chan struct{}), make(chan struct{})
	h := func(_ context.Context, e bus.Event) error {
		if n := running.Add(1); n > maxRun.Load() {
			maxRun.Store(n)
		}
		defer running.Add(-1)
		if e.Payload == "stuck" {
			close(entered)
			<-release // ignores its context
		}
		mu.Lock()
		order = append(order, fmt.Sprint(e.Payload))
		mu.Unlock()
		return nil
	}
	if _, err := b.Subscribe(ctx, "slow", h); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"stuck", "q1", "q2", "q3"} {
		if err := b.Publish(ctx, bus.Event{Topic: "slow", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	<-entered
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	err = b.Stop(sctx)
	cancel()
	if !errors.Is(err, bus.ErrEventBusShutdownTimeout) {
		t.Fatalf("Stop with a stuck handler = %v, want ErrEventBusShutdownTimeout", err)
	}
	if _, dropped := b.Stats(); dropped != 3 {
		t.Errorf("dropped = %d after the expired Stop, want the 3 queued events", dropped)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer b.Stop(ctx)
	for _, p := range []string{"after1", "after2"} {
		if err := b.Publish(ctx, bus.Event{Topic: "slow", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	// Flush cannot return while the stuck call runs; its deadline is the
	// time the later events had to overtake it.
	fctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_ = b.Flush(fctx)
	cancel()
	close(release)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"stuck", "after1", "after2"}; !slices.Equal(order, want) {
		t.Errorf("handled %v, want %v (in order; the events queued at the expired Stop dropped)", order, want)
	}
	if maxRun.Load() != 1 {
		t.Errorf("%d handler calls ran at once, want 1", maxRun.Load())
	}
	if delivered, dropped := b.Stats(); delivered != 3 || dropped != 3 {
		t.Errorf("Stats = delivered %d, dropped %d; want 3 and 3", delivered, dropped)
	}
}

// A handler that unsubscribes its own subscription, passing its own ctx,
// does not wait for itself (no goroutine ids: the handler's context names
// the subscription).
func TestAHandlerUnsubscribingItselfWithItsContextDoesNotWait(t *testing.T) {
	checkSelfCancelDoesNotWait(t, "Unsubscribe(handler ctx)", func(b *memory.EventBus, hctx context.Context, sub bus.Subscription) error {
		return b.Unsubscribe(hctx, sub)
	})
}

// checkSelfCancelDoesNotWait checks, for a sync and an async subscription,
// that a handler ending its own subscription with cancel (named what in
// failures) returns at once instead of waiting for its own call, though
// the engine waits up to 5s for calls in flight.
func checkSelfCancelDoesNotWait(t *testing.T, what string, cancel func(b *memory.EventBus, hctx context.Context, sub bus.Subscription) error) {
	t.Helper()
	for _, async := range []bool{false, true} {
		b, err := memory.NewEventBus(memory.Config{UnsubscribeWait: bus.Duration(5 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var sub bus.Subscription
		ready := make(chan struct{})
		took := make(chan time.Duration, 10)
		h := func(hctx context.Context, _ bus.Event) error {
			<-ready
			start := time.Now()
			if err := cancel(b, hctx, sub); err != nil {
				t.Error(err)
			}
			took <- time.Since(start)
			return nil
		}
		if async {
			sub, err = b.SubscribeAsync(ctx, "once", h)
		} else {
			sub, err = b.Subscribe(ctx, "once", h)
		}
		if err != nil {
			t.Fatal(err)
		}
		close(ready)
		if err := b.Publish(ctx, bus.Event{Topic: "once"}); err != nil {
			t.Fatal(err)
		}
		if d := <-took; d > time.Second {
			t.Errorf("async=%v: %s from inside the handler took %v (waited for itself)", async, what, d)
		}
		if err := b.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if b.SubscriberCount("once") != 0 {
			t.Errorf("async=%v: subscription still counted", async)
		}
	}
}
