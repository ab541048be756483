package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestEngineBehaviour(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})

	t.Run("an async publish the producer refuses reaches the error observer and is counted dropped", func(t *testing.T) {
		b := started(t, engineConfig(k, map[string]any{
			"producer":        map[string]string{"async": "true", "maxMessageBytes": "600"},
			"maxPayloadBytes": -1,
		}))
		var reported atomic.Value
		b.SetErrorObserver(broker.ErrorObserverFunc(func(s broker.Scope, err error) {
			if s == broker.ScopePublish {
				reported.Store(err)
			}
		}))
		if err := b.Publish(ctxT(t), bus.Event{Topic: "async.refused", Payload: strings.Repeat("x", 2000)}); err != nil {
			t.Fatalf("async Publish = %v, want nil (queued)", err)
		}
		testutil.Eventually(t, 10*time.Second, "the error callback", func() bool { return reported.Load() != nil })
		if err := reported.Load().(error); !strings.Contains(err.Error(), "async.refused") || !strings.Contains(err.Error(), "MaxMessageBytes") {
			t.Errorf("reported %v, want sarama's size error naming the topic", err)
		}
		if d := b.EngineStats().Dropped; d != 1 {
			t.Errorf("Dropped = %d, want 1", d)
		}
	})

	t.Run("flush waits until asynchronously published events are handled", func(t *testing.T) {
		b := started(t, engineConfig(k, map[string]any{"producer": map[string]string{"async": "true"}}))
		var n atomic.Int64
		if _, err := b.SubscribeAsync(ctxT(t), "async.flush", func(context.Context, bus.Event) error {
			time.Sleep(100 * time.Microsecond)
			n.Add(1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 300; i++ {
			if err := b.Publish(ctxT(t), bus.Event{Topic: "async.flush", Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != 300 {
			t.Errorf("after Flush: %d handled, want 300", got)
		}
	})

	t.Run("each partition key keeps its order over a multi-partition topic", func(t *testing.T) {
		b := started(t, engineConfig(k, map[string]any{"topicPartitions": 4}))
		var mu sync.Mutex
		seen := map[string][]int{}
		if _, err := b.Subscribe(ctxT(t), "keyed", func(_ context.Context, e bus.Event) error {
			var key string
			var i int
			fmt.Sscanf(e.Payload.(string), "%s %d", &key, &i)
			mu.Lock()
			seen[key] = append(seen[key], i)
			mu.Unlock()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		keys := []string{"alpha", "beta", "gamma", "delta", "epsilon"}
		for i := 0; i < 60; i++ {
			for _, key := range keys {
				e := bus.Event{Topic: "keyed", Payload: fmt.Sprintf("%s %d", key, i), Metadata: map[string]any{bus.MetadataKeyPartition: key}}
				if err := b.Publish(ctxT(t), e); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := b.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		for _, key := range keys {
			got := seen[key]
			if len(got) != 60 {
				t.Errorf("key %s: %d events, want 60", key, len(got))
				continue
			}
			for i, v := range got {
				if v != i {
					t.Errorf("key %s out of order at %d: got %v", key, i, got)
					break
				}
			}
		}
	})

	t.Run("a wildcard subscription picks up a topic another engine creates later", func(t *testing.T) {
		watcher := started(t, engineConfig(k, nil))
		other := started(t, engineConfig(k, nil))
		got := make(chan string, 4)
		if _, err := watcher.Subscribe(ctxT(t), "inventory.*", func(_ context.Context, e bus.Event) error { got <- e.Topic; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := other.Publish(ctxT(t), bus.Event{Topic: "inventory.restocked", Payload: 1}); err != nil {
			t.Fatal(err)
		}
		select {
		case topic := <-got:
			if topic != "inventory.restocked" {
				t.Errorf("got topic %q", topic)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the topic created by another engine was never consumed")
		}
	})

	t.Run("lag counts the records not yet handled and returns to zero", func(t *testing.T) {
		b := started(t, engineConfig(k, map[string]any{"topicPartitions": 1}))
		release := make(chan struct{})
		if _, err := b.Subscribe(ctxT(t), "lagging", func(context.Context, bus.Event) error { <-release; return nil }); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 20; i++ {
			if err := b.Publish(ctxT(t), bus.Event{Topic: "lagging", Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 20*time.Second, "lag of 20 with one record taken", func() bool {
			st := b.EngineStats()
			return st.Lag == 20 && st.QueueDepth == 1
		})
		close(release)
		if err := b.Flush(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, "lag back to 0", func() bool { return b.EngineStats().Lag == 0 })
	})

	t.Run("in manual ack mode only acknowledged events are committed", func(t *testing.T) {
		b := started(t, engineConfig(k, map[string]any{"ackMode": "manual", "topicPartitions": 1}))
		var mu sync.Mutex
		var got []string
		if _, err := b.Subscribe(ctxT(t), "manual", func(ctx context.Context, e bus.Event) error {
			mu.Lock()
			got = append(got, e.Payload.(string))
			mu.Unlock()
			if e.Payload != "skip" {
				if err := broker.Ack(ctx); err != nil {
					t.Errorf("Ack: %v", err)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"first", "skip", "third"} {
			if err := b.Publish(ctxT(t), bus.Event{Topic: "manual", Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 20*time.Second, "three deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 3 })
		if err := b.Stop(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctxT(t)); err != nil {
			t.Fatal(err)
		}
		// "skip" was never acked, so the commit stopped before it: it and
		// everything after it come again; "first" does not.
		testutil.Eventually(t, 20*time.Second, "the redelivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= 5 })
		mu.Lock()
		defer mu.Unlock()
		if want := "first skip third skip third"; strings.Join(got, " ") != want {
			t.Errorf("deliveries = %v, want %s", got, want)
		}
	})

	t.Run("unsubscribe deletes the subscription's own consumer group", func(t *testing.T) {
		b := started(t, engineConfig(k, nil))
		s, err := b.Subscribe(ctxT(t), "ephemeral", func(context.Context, bus.Event) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		group := "switchyard-" + s.ID()
		admin, err := sarama.NewClusterAdmin(k.Addrs(), sarama.NewConfig())
		if err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		hasGroup := func() bool {
			groups, err := admin.ListConsumerGroups()
			if err != nil {
				t.Fatal(err)
			}
			_, ok := groups[group]
			return ok
		}
		testutil.Eventually(t, 20*time.Second, "the group to exist", hasGroup)
		if err := b.Unsubscribe(ctxT(t), s); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, "the group to be deleted", func() bool { return !hasGroup() })
	})
}
