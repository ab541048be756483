package sharded

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

type recordingObserver struct {
	mu       sync.Mutex
	created  []string
	deleted  []string
	received int
	failures []error
}

func (o *recordingObserver) TopicCreated(topic string) {
	o.mu.Lock()
	o.created = append(o.created, topic)
	o.mu.Unlock()
}

func (o *recordingObserver) TopicDeleted(topic string) {
	o.mu.Lock()
	o.deleted = append(o.deleted, topic)
	o.mu.Unlock()
}

func (o *recordingObserver) MessageFailed(_ context.Context, _ bus.Event, _ string, err error) {
	o.mu.Lock()
	o.failures = append(o.failures, err)
	o.mu.Unlock()
}

func (o *recordingObserver) MessageReceived(context.Context, bus.Event, string) {
	o.mu.Lock()
	o.received++
	o.mu.Unlock()
}

func TestObserverHearsTopicsDeliveriesAndFailures(t *testing.T) {
	for _, async := range []bool{false, true} {
		b := start(t, Config{})
		o := &recordingObserver{}
		b.SetObserver(o)
		ctx := testCtx(t)
		h := func(_ context.Context, e bus.Event) error {
			switch e.Payload {
			case "panic":
				panic("boom")
			case "fail":
				return errors.New("nope")
			}
			return nil
		}
		subscribe := b.Subscribe
		if async {
			subscribe = b.SubscribeAsync
		}
		s, err := subscribe(ctx, "obs", h)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"ok", "fail", "panic", "ok"} {
			if err := b.Publish(ctx, bus.Event{Topic: "obs", Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Cancel(); err != nil {
			t.Fatal(err)
		}
		o.mu.Lock()
		if len(o.created) != 1 || len(o.deleted) != 1 || o.received != 4 || len(o.failures) != 2 {
			t.Errorf("async=%v: observer saw created %v deleted %v received %d failures %v", async, o.created, o.deleted, o.received, o.failures)
		} else if panics := btoi(errors.Is(o.failures[0], bus.ErrHandlerPanic)) + btoi(errors.Is(o.failures[1], bus.ErrHandlerPanic)); panics != 1 {
			t.Errorf("async=%v: failures %v, want exactly one wrapping ErrHandlerPanic", async, o.failures)
		}
		o.mu.Unlock()
		if m := b.Metrics(); m.Failed != 2 || m.Panics != 1 || m.Delivered != 4 {
			t.Errorf("async=%v: metrics %+v", async, m)
		}
		b.SetObserver(nil)
	}
}

func TestHandlerCanUnsubscribeItselfWithoutWaiting(t *testing.T) {
	b := start(t, Config{UnsubscribeWait: bus.Duration(5 * time.Second)})
	ctx := testCtx(t)
	var (
		sub   bus.Subscription
		calls int
		took  time.Duration
		ready = make(chan struct{})
	)
	sub, err := b.Subscribe(ctx, "once", func(hctx context.Context, e bus.Event) error {
		<-ready
		calls++
		began := time.Now()
		err := b.Unsubscribe(hctx, sub)
		took = time.Since(began)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	close(ready)
	for i := 0; i < 3; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "once"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if calls != 1 {
		t.Errorf("handler called %d times, want 1", calls)
	}
	if took > time.Second {
		t.Errorf("Unsubscribe from its own handler took %v: it waited for itself", took)
	}
}

func TestUnsubscribeWaitsForTheCallInFlight(t *testing.T) {
	for _, async := range []bool{false, true} {
		b := start(t, Config{UnsubscribeWait: bus.Duration(5 * time.Second)})
		ctx := testCtx(t)
		g := newGate()
		subscribe := b.Subscribe
		if async {
			subscribe = b.SubscribeAsync
		}
		s, err := subscribe(ctx, "inflight", g.handler(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: "inflight"}); err != nil {
			t.Fatal(err)
		}
		<-g.entered
		done := make(chan struct{})
		go func() {
			_ = b.Unsubscribe(ctx, s)
			close(done)
		}()
		testutil.Eventually(t, 5*time.Second, "the subscription to be removed", func() bool { return b.SubscriberCount("inflight") == 0 })
		select {
		case <-done:
			t.Errorf("async=%v: Unsubscribe returned while the handler was still running", async)
		case <-time.After(20 * time.Millisecond):
		}
		g.release()
		<-done
	}
}

func TestAsyncJobsQueuedForARemovedSubscriptionAreSkipped(t *testing.T) {
	b := start(t, Config{AsyncWorkers: 1, UnsubscribeWait: bus.Duration(time.Millisecond)})
	ctx := testCtx(t)
	g := newGate()
	s, err := b.SubscribeAsync(ctx, "skip", g.handler(nil))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "skip"}); err != nil {
			t.Fatal(err)
		}
	}
	<-g.entered
	testutil.Eventually(t, 5*time.Second, "the jobs to be queued", func() bool { return b.Metrics().EventsDispatched == 5 })
	if err := b.Unsubscribe(ctx, s); err != nil {
		t.Fatal(err)
	}
	g.release()
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if m := invariant(t, b); m.Skipped != 4 || m.Delivered != 1 {
		t.Errorf("skipped %d delivered %d, want 4 and 1", m.Skipped, m.Delivered)
	}
	if _, dropped := b.Stats(); dropped != 4 {
		t.Errorf("Stats dropped = %d, want 4", dropped)
	}
}

func TestPartitionKeyFromContextKeepsOrder(t *testing.T) {
	b := start(t, Config{Shards: 4})
	rec := newLog()
	ctx := testCtx(t)
	if _, err := b.Subscribe(ctx, "*", rec.handle); err != nil {
		t.Fatal(err)
	}
	kctx := bus.WithPartitionKey(ctx, "tenant-1")
	for i := 0; i < 100; i++ {
		topic := []string{"a", "b", "c"}[i%3]
		if err := b.Publish(kctx, bus.Event{Topic: topic, Payload: keyed{"tenant-1", i}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec.checkOrdered(t, map[string]int{"tenant-1": 100})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
