package redis_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestAckModes(t *testing.T) {
	t.Run("in manual mode an event the handler did not ack is redelivered after the claim timeout", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.AckMode = broker.AckManual
		cfg.ClaimTimeout = bus.Duration(300 * time.Millisecond)
		cfg.ClaimInterval = bus.Duration(50 * time.Millisecond)
		b := started(t, cfg)
		ctx := testCtx(t)
		var calls atomic.Int32
		var rec recorder
		if _, err := b.Subscribe(ctx, "manual", func(ctx context.Context, e bus.Event) error {
			if calls.Add(1) == 1 {
				return nil // forget to ack
			}
			_ = rec.Handle(ctx, e)
			return broker.Ack(ctx)
		}); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: "manual", Payload: "m"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the redelivery", func() bool { return rec.Count() >= 1 })
		if !rec.Deliveries()[0].Redelivered {
			t.Errorf("second delivery not marked redelivered")
		}
		c := rawClient(t, b)
		testutil.Eventually(t, 5*time.Second, "the manual ack to land", func() bool { return pendingOf(t, c, b, "manual") == 0 })
	})

	t.Run("in on-receive mode the entry is acked before the handler runs", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.AckMode = broker.AckOnReceive
		b := started(t, cfg)
		ctx := testCtx(t)
		release := make(chan struct{})
		running := make(chan struct{}, 1)
		if _, err := b.Subscribe(ctx, "fire", func(ctx context.Context, e bus.Event) error {
			running <- struct{}{}
			<-release
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: "fire", Payload: 1}); err != nil {
			t.Fatal(err)
		}
		<-running
		c := rawClient(t, b)
		testutil.Eventually(t, 5*time.Second, "the ack while the handler still runs", func() bool { return pendingOf(t, c, b, "fire") == 0 })
		close(release)
	})
}
