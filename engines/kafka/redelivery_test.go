package kafka_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestRedeliveredFlag(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"ackMode": "manual"}))

	t.Run("a record this process took and did not settle comes back flagged after Stop and Start", func(t *testing.T) {
		var mu sync.Mutex
		var flags []bool
		_, err := b.Subscribe(ctxT(t), "redeliver.k", func(ctx context.Context, e bus.Event) error {
			d, _ := broker.DeliveryFrom(ctx)
			mu.Lock()
			flags = append(flags, d.Redelivered)
			n := len(flags)
			mu.Unlock()
			if n > 1 {
				return d.Ack() // the second delivery settles it
			}
			return nil // manual mode: not acked, so not committed
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctxT(t), bus.Event{Topic: "redeliver.k", Payload: "once"}); err != nil {
			t.Fatal(err)
		}
		seen := func(n int) func() bool {
			return func() bool { mu.Lock(); defer mu.Unlock(); return len(flags) >= n }
		}
		testutil.Eventually(t, 20*time.Second, "the first delivery", seen(1))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 30*time.Second, "the redelivery", seen(2))
		mu.Lock()
		defer mu.Unlock()
		if flags[0] || !flags[1] {
			t.Errorf("Redelivered flags = %v, want [false true]", flags)
		}
	})
}
