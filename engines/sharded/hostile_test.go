package sharded

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Under Stop/Start and Resize churn, the events PublishBatch accepted are
// exactly the first n of the batch (one partition key per batch, so the
// batch is one shard's share): each delivered once, none of the refused
// ones delivered. Three rounds.
func TestPublishBatchAcceptsExactlyThePrefixItReportsUnderChurn(t *testing.T) {
	for round := 0; round < 3; round++ {
		b := start(t, Config{Shards: 2, RingSize: 64})
		ctx := context.Background()
		var mu sync.Mutex
		got := map[string]int{}
		if _, err := b.Subscribe(ctx, "churn", func(_ context.Context, e bus.Event) error {
			mu.Lock()
			got[e.Payload.(string)]++
			mu.Unlock()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		const batches, size = 30, 2000
		accepted := make([]int, batches)
		var stop atomic.Bool
		var churn sync.WaitGroup
		churn.Add(1)
		go func() { // Stop/Start and Resize while batches are published
			defer churn.Done()
			for i := 0; !stop.Load(); i++ {
				if i%3 == 2 {
					_ = b.Resize(ctx, 1+i%4)
					continue
				}
				if err := b.Stop(ctx); err != nil {
					t.Error(err)
				}
				if err := b.Start(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
		var pubs sync.WaitGroup
		for p := 0; p < 2; p++ {
			pubs.Add(1)
			go func() {
				defer pubs.Done()
				for k := p; k < batches; k += 2 {
					events := make([]bus.Event, size)
					for i := range events {
						events[i] = bus.Event{Topic: "churn", Payload: fmt.Sprintf("b%d.%d", k, i),
							Metadata: map[string]any{bus.MetadataKeyPartition: fmt.Sprint("key", k)}}
					}
					n, _ := b.PublishBatch(ctx, events)
					accepted[k] = n
				}
			}()
		}
		pubs.Wait()
		stop.Store(true)
		churn.Wait()
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Stop(ctx); err != nil { // delivers everything accepted
			t.Fatal(err)
		}
		mu.Lock()
		partial := 0
		for k, n := range accepted {
			if n > 0 && n < size {
				partial++
			}
			for i := 0; i < size; i++ {
				id := fmt.Sprintf("b%d.%d", k, i)
				if c, want := got[id], btoi(i < n); c != want {
					t.Errorf("round %d: batch %d reported %d of %d accepted; its event %d was delivered %d times, want %d",
						round, k, n, size, i, c, want)
					break // one line per batch
				}
			}
		}
		mu.Unlock()
		t.Logf("round %d: %d of %d batches partly accepted", round, partial, batches)
	}
}

// A partition key of an unsupported type — here a map that contains
// itself, which fmt.Sprint would recurse into until the stack overflows —
// is ignored: with several shards the event is keyed by its topic and
// delivered, by Publish and PublishBatch alike.
func TestAPartitionKeyOfAnUnsupportedTypeIsIgnored(t *testing.T) {
	b := start(t, Config{Shards: 4})
	ctx := testCtx(t)
	var got atomic.Int64
	if _, err := b.Subscribe(ctx, "odd.keys", func(context.Context, bus.Event) error { got.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	self := map[string]any{}
	self["self"] = self
	odd := []any{self, []any{1, 2}, 2.5, struct{ A int }{1}}
	for _, k := range odd {
		if err := b.Publish(ctx, bus.Event{Topic: "odd.keys", Metadata: map[string]any{bus.MetadataKeyPartition: k}}); err != nil {
			t.Fatal(err)
		}
	}
	batch := []bus.Event{{Topic: "odd.keys", Metadata: map[string]any{bus.MetadataKeyPartition: self}}}
	if n, err := b.PublishBatch(ctx, batch); n != 1 || err != nil {
		t.Fatalf("PublishBatch = %d, %v", n, err)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n := got.Load(); n != int64(len(odd)+1) {
		t.Fatalf("handled %d events, want %d", n, len(odd)+1)
	}
}

// Cancel from inside the subscription's own handler (sync or async) does
// not wait for the call it is made from.
func TestAHandlerCancellingItsOwnSubscriptionDoesNotWaitForItself(t *testing.T) {
	for _, async := range []bool{false, true} {
		b := start(t, Config{UnsubscribeWait: bus.Duration(5 * time.Second)})
		ctx := testCtx(t)
		var sub bus.Subscription
		ready := make(chan struct{})
		took := make(chan time.Duration, 10)
		h := func(context.Context, bus.Event) error {
			<-ready
			began := time.Now()
			if err := sub.Cancel(); err != nil {
				t.Error(err)
			}
			took <- time.Since(began)
			return nil
		}
		var err error
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
			t.Errorf("async=%v: Cancel from inside the handler took %v (waited for itself)", async, d)
		}
		if n := b.SubscriberCount("once"); n != 0 {
			t.Errorf("async=%v: SubscriberCount = %d after Cancel, want 0", async, n)
		}
	}
}
