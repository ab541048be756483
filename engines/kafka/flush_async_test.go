package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// With the async producer, Flush waits for the publishes that returned
// before it was called, not for the producer to go idle: a publisher that
// never pauses must not hold Flush up.
func TestFlushIsNotHeldUpByPublishesAfterIt(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"producer": map[string]string{"async": "true"}}))
	ctx := ctxT(t)
	var mu sync.Mutex
	seen := map[string]bool{}
	if _, err := b.Subscribe(ctx, "steady", func(_ context.Context, e bus.Event) error {
		mu.Lock()
		seen[fmt.Sprint(e.Payload)] = true
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "steady", Payload: fmt.Sprint("before-", i)}); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ { // keep records in flight the whole time
		wg.Add(1)
		go func() {
			defer wg.Done()
			steadyPublisher(ctx, t, b, g, stop)
		}()
	}
	fctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	err := b.Flush(fctx)
	cancel()
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Flush under steady publishing: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < 200; i++ {
		if !seen[fmt.Sprint("before-", i)] {
			t.Fatalf("Flush returned before before-%d was handled", i)
		}
	}
}

func steadyPublisher(ctx context.Context, t *testing.T, b bus.EventBus, g int, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if err := b.Publish(ctx, bus.Event{Topic: "steady", Payload: fmt.Sprintf("after-%d-%d", g, i)}); err != nil {
			t.Error(err)
			return
		}
	}
}
