package brokertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// CheckRedeliveredFlag checks broker.Delivery.Redelivered across a restart
// of the consumer, on a started engine b in manual ack mode
// (broker.AckManual) whose subscriptions survive Stop and Start: an event
// the handler took and did not ack is handed over again after Stop and
// Start, flagged Redelivered, and its first delivery is not flagged. The
// engine is left started. timeout bounds each wait (the first delivery,
// Stop, Start, the redelivery).
func CheckRedeliveredFlag(t *testing.T, b bus.EventBus, topic string, timeout time.Duration) {
	t.Helper()
	t.Run("an event this process took and did not settle comes back flagged after Stop and Start", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*timeout)
		defer cancel()
		var mu sync.Mutex
		var flags []bool
		_, err := b.Subscribe(ctx, topic, func(ctx context.Context, e bus.Event) error {
			d, _ := broker.DeliveryFrom(ctx)
			mu.Lock()
			flags = append(flags, d.Redelivered)
			n := len(flags)
			mu.Unlock()
			if n > 1 {
				return d.Ack() // the second delivery settles it
			}
			return nil // manual mode: not acked, so not committed or checkpointed
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: "once"}); err != nil {
			t.Fatal(err)
		}
		seen := func(n int) func() bool {
			return func() bool { mu.Lock(); defer mu.Unlock(); return len(flags) >= n }
		}
		testutil.Eventually(t, timeout, "the first delivery", seen(1))
		stopCtx, stopCancel := context.WithTimeout(context.Background(), timeout)
		defer stopCancel()
		if err := b.Stop(stopCtx); err != nil {
			t.Fatal(err)
		}
		startCtx, startCancel := context.WithTimeout(context.Background(), timeout)
		defer startCancel()
		if err := b.Start(startCtx); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, timeout, "the redelivery", seen(2))
		mu.Lock()
		defer mu.Unlock()
		if flags[0] || !flags[1] {
			t.Errorf("Redelivered flags = %v, want [false true]", flags)
		}
	})
}
