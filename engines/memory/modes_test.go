package memory_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
)

// startBlocked starts an engine whose only subscription blocks in its
// handler until release is closed; the first event occupies the handler.
func startBlocked(t *testing.T, cfg memory.Config) (b *memory.EventBus, release chan struct{}, sub bus.Subscription) {
	t.Helper()
	b, err := memory.NewEventBus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	release, entered := make(chan struct{}), make(chan struct{}, 100)
	sub, err = b.Subscribe(ctx, "jam", func(context.Context, bus.Event) error {
		entered <- struct{}{}
		<-release
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Topic: "jam"}); err != nil {
		t.Fatal(err)
	}
	<-entered
	return b, release, sub
}

func TestDropModeCountsAndReturnsEveryDrop(t *testing.T) {
	b, release, _ := startBlocked(t, memory.Config{DeliveryMode: memory.DeliveryDrop, DefaultEventBufferSize: 2})
	ctx := context.Background()
	var dropped int
	for i := 0; i < 5; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "jam"}); errors.Is(err, bus.ErrEventDropped) {
			dropped++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if dropped != 3 {
		t.Fatalf("%d publishes reported a drop, want 3 (buffer of 2 while the handler is busy)", dropped)
	}
	close(release)
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	delivered, counted := b.Stats()
	if counted != 3 || delivered != 3 {
		t.Fatalf("Stats() = delivered %d, dropped %d; want 3 and 3", delivered, counted)
	}
	if s := b.EngineStats(); s.Published != 6 || s.Delivered+s.Dropped != s.Published {
		t.Fatalf("EngineStats = %+v, want published 6 = delivered + dropped", s)
	}
}

func TestTimeoutModeWaitsThenDrops(t *testing.T) {
	b, release, _ := startBlocked(t, memory.Config{DeliveryMode: memory.DeliveryTimeout, DefaultEventBufferSize: 1, PublishBlockTimeout: bus.Duration(30 * time.Millisecond)})
	ctx := context.Background()
	if err := b.Publish(ctx, bus.Event{Topic: "jam"}); err != nil { // fills the buffer
		t.Fatal(err)
	}
	start := time.Now()
	err := b.Publish(ctx, bus.Event{Topic: "jam"})
	if !errors.Is(err, bus.ErrEventDropped) || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("Publish on a full queue = %v after %v, want ErrEventDropped after >= 30ms", err, time.Since(start))
	}
	close(release)
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, dropped := b.Stats(); dropped != 1 {
		t.Fatalf("dropped = %d, want 1", dropped)
	}
}

func TestBlockModeHonoursThePublishContext(t *testing.T) {
	b, release, _ := startBlocked(t, memory.Config{DefaultEventBufferSize: 1})
	ctx := context.Background()
	if err := b.Publish(ctx, bus.Event{Topic: "jam"}); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.Publish(short, bus.Event{Topic: "jam"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish with an expiring ctx on a full queue = %v, want DeadlineExceeded", err)
	}
	close(release)
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if delivered, dropped := b.Stats(); delivered != 2 || dropped != 1 {
		t.Fatalf("Stats() = %d, %d; want 2 delivered and the refused one counted as dropped", delivered, dropped)
	}
}

func TestStopPastItsDeadlineReportsLossAndCountsIt(t *testing.T) {
	b, release, _ := startBlocked(t, memory.Config{DefaultEventBufferSize: 10})
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "jam"}); err != nil {
			t.Fatal(err)
		}
	}
	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	err := b.Stop(short)
	if !errors.Is(err, bus.ErrEventBusShutdownTimeout) {
		t.Fatalf("Stop = %v, want ErrEventBusShutdownTimeout", err)
	}
	close(release) // the stuck handler returns; the queued events are abandoned, counted
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := b.EngineStats()
		if s.Delivered+s.Dropped == s.Published {
			if !s.LossyShutdown || s.Dropped != 5 {
				t.Fatalf("EngineStats = %+v, want LossyShutdown and 5 dropped", s)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("published %d != delivered %d + dropped %d", s.Published, s.Delivered, s.Dropped)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestUnsubscribeCountsQueuedEventsAsDropped(t *testing.T) {
	b, release, sub := startBlocked(t, memory.Config{DefaultEventBufferSize: 10, UnsubscribeWait: bus.Duration(10 * time.Millisecond)})
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "jam"}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := b.Unsubscribe(ctx, sub); err != nil { // the handler is stuck: the wait is bounded
		t.Fatal(err)
	}
	if waited := time.Since(start); waited > time.Second {
		t.Fatalf("Unsubscribe waited %v for a stuck handler, want about UnsubscribeWait", waited)
	}
	close(release)
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if delivered, dropped := b.Stats(); delivered != 1 || dropped != 4 {
		t.Fatalf("Stats() = %d, %d; want the in-flight one delivered and the 4 queued counted as dropped", delivered, dropped)
	}
}

func TestConfigValidationNamesFieldAndValue(t *testing.T) {
	tests := map[string]struct {
		cfg  memory.Config
		want string
	}{
		"negative queue":  {memory.Config{MaxEventQueueSize: -1}, "maxEventQueueSize: -1"},
		"negative buffer": {memory.Config{DefaultEventBufferSize: -3}, "defaultEventBufferSize: -3"},
		"negative worker": {memory.Config{WorkerCount: -2}, "workerCount: -2"},
		"bad mode":        {memory.Config{DeliveryMode: "lossy"}, `deliveryMode: "lossy"`},
		"negative wait":   {memory.Config{PublishBlockTimeout: bus.Duration(-time.Second)}, "publishBlockTimeout: -1s"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := memory.NewEventBus(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewEventBus = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, err := memory.New(map[string]any{"workerCount": 2, "publishBlockTimeout": "250ms", "deliveryMode": "timeout"}); err != nil {
		t.Fatalf("valid map rejected: %v", err)
	}
	if _, err := memory.New(map[string]any{"workerCont": 2}); err == nil || !strings.Contains(err.Error(), "workerCont") {
		t.Fatalf("unknown key accepted or not named: %v", err)
	}
}

func TestAHandlerCancellingItsOwnSubscriptionDoesNotWaitForItself(t *testing.T) {
	checkSelfCancelDoesNotWait(t, "Cancel", func(_ *memory.EventBus, _ context.Context, sub bus.Subscription) error {
		return sub.Cancel()
	})
}
