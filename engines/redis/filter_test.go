package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestFilteredHandler(t *testing.T) {
	for _, mode := range []broker.AckMode{broker.AckAfterHandle, broker.AckOnReceive, broker.AckManual} {
		t.Run(fmt.Sprintf("in %s mode rejected events are counted as filtered and acknowledged, never retried nor dead-lettered", mode), func(t *testing.T) {
			cfg := testConfig(shared)
			cfg.AckMode = mode
			cfg.ClaimTimeout = bus.Duration(300 * time.Millisecond)
			cfg.ClaimInterval = bus.Duration(50 * time.Millisecond)
			b := started(t, cfg)
			ctx := testCtx(t)
			var rec recorder
			h := rec.Handle
			if mode == broker.AckManual {
				h = func(ctx context.Context, e bus.Event) error {
					_ = rec.Handle(ctx, e)
					return broker.Ack(ctx)
				}
			}
			if _, err := b.Subscribe(ctx, "orders", bus.FilteredHandler(bus.Eq("kind", "keep"), h)); err != nil {
				t.Fatal(err)
			}
			const n = 20
			for i := 0; i < n; i++ {
				kind := "skip"
				if i%4 == 0 {
					kind = "keep"
				}
				if err := b.Publish(ctx, bus.Event{Topic: "orders", Payload: map[string]any{"kind": kind, "i": i}}); err != nil {
					t.Fatal(err)
				}
			}
			testutil.Eventually(t, 10*time.Second, "every event handled or filtered", func() bool {
				s := b.EngineStats()
				return s.Delivered+s.Filtered >= n
			})
			raw := rawClient(t, b)
			testutil.Eventually(t, 5*time.Second, "every entry acknowledged", func() bool { return pendingOf(t, raw, b, "orders") == 0 })
			// Claims run every 50ms with a 300ms timeout: an entry left
			// unacknowledged would have been handed over again by now.
			time.Sleep(500 * time.Millisecond)
			s := b.EngineStats()
			if s.Delivered != n/4 || s.Filtered != n-n/4 || s.Failed != 0 || s.Retried != 0 || s.DeadLettered != 0 || s.Dropped != 0 {
				t.Errorf("stats delivered %d filtered %d failed %d retried %d dead-lettered %d dropped %d; want %d delivered, %d filtered, nothing else",
					s.Delivered, s.Filtered, s.Failed, s.Retried, s.DeadLettered, s.Dropped, n/4, n-n/4)
			}
			if got := rec.Count(); got != n/4 {
				t.Errorf("handler saw %d events, want %d", got, n/4)
			}
			for _, e := range rec.Events() {
				if m, _ := e.Payload.(map[string]any); m["kind"] != "keep" {
					t.Errorf("handler got a rejected event: %v", e.Payload)
				}
			}
			if k, err := raw.Keys(ctx, cfg.KeyPrefix+"dlq*").Result(); err != nil || len(k) != 0 {
				t.Errorf("dead-letter streams %v (%v), want none", k, err)
			}
		})
	}
}
