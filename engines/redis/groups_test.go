package redis_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestConsumerGroups(t *testing.T) {
	t.Run("subscriptions sharing a group compete: each event goes to exactly one of them", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.Group = "billing"
		one, two := started(t, cfg), started(t, cfg)
		ctx := testCtx(t)
		var r1, r2 recorder
		if _, err := one.Subscribe(ctx, "invoices", r1.Handle); err != nil {
			t.Fatal(err)
		}
		if _, err := two.SubscribeAsync(ctx, "invoices", r2.Handle); err != nil {
			t.Fatal(err)
		}
		want := seqN("inv-%03d", 200)
		for _, p := range want {
			if err := one.Publish(ctx, bus.Event{Topic: "invoices", Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 10*time.Second, "200 events between the two", func() bool { return r1.Count()+r2.Count() >= 200 })
		if err := one.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if err := two.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		missing, dups := diff(want, append(r1.Payloads(), r2.Payloads()...))
		if len(missing)+len(dups) > 0 {
			t.Errorf("missing %v, duplicated %v", missing, dups)
		}
		t.Logf("split: %d / %d", r1.Count(), r2.Count())
	})

	t.Run("a private group is destroyed by Unsubscribe, a shared one is kept", func(t *testing.T) {
		cfg := testConfig(shared)
		b := started(t, cfg)
		sharedCfg := cfg
		sharedCfg.Group = "keep"
		bs := started(t, sharedCfg)
		ctx := testCtx(t)
		noop := func(context.Context, bus.Event) error { return nil }
		s1, err := b.Subscribe(ctx, "gc", noop)
		if err != nil {
			t.Fatal(err)
		}
		s2, err := bs.Subscribe(ctx, "gc", noop)
		if err != nil {
			t.Fatal(err)
		}
		c := rawClient(t, b)
		groups := func() []string {
			gs, err := c.XInfoGroups(ctx, cfg.KeyPrefix+"gc").Result()
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, g := range gs {
				names = append(names, g.Name)
			}
			return names
		}
		if n := len(groups()); n != 2 {
			t.Fatalf("groups = %v, want 2", groups())
		}
		if err := b.Unsubscribe(ctx, s1); err != nil {
			t.Fatal(err)
		}
		if err := bs.Unsubscribe(ctx, s2); err != nil {
			t.Fatal(err)
		}
		if g := groups(); len(g) != 1 || g[0] != "keep" {
			t.Errorf("groups after Unsubscribe = %v, want [keep]", g)
		}
	})

	t.Run("unsubscribing from inside the handler stops delivery and still removes the private group", func(t *testing.T) {
		cfg := testConfig(shared)
		b := started(t, cfg)
		ctx := testCtx(t)
		var calls atomic.Int32
		var sub bus.Subscription
		ready := make(chan struct{})
		s, err := b.Subscribe(ctx, "once", func(hctx context.Context, e bus.Event) error {
			<-ready
			calls.Add(1)
			return b.Unsubscribe(hctx, sub)
		})
		if err != nil {
			t.Fatal(err)
		}
		sub = s
		close(ready)
		for i := 0; i < 5; i++ {
			if err := b.Publish(ctx, bus.Event{Topic: "once", Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		c := rawClient(t, b)
		testutil.Eventually(t, 5*time.Second, "the group to be destroyed", func() bool {
			gs, err := c.XInfoGroups(ctx, cfg.KeyPrefix+"once").Result()
			return err == nil && len(gs) == 0
		})
		if n := calls.Load(); n != 1 {
			t.Errorf("handler called %d times after unsubscribing itself, want 1", n)
		}
		if b.SubscriberCount("once") != 0 {
			t.Errorf("still counted")
		}
	})

	t.Run("startFrom beginning delivers what was published before the subscription", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.StartFrom = redis.StartFromBeginning
		b := started(t, cfg)
		ctx := testCtx(t)
		for i := 0; i < 3; i++ {
			if err := b.Publish(ctx, bus.Event{Topic: "history", Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		var rec recorder
		if _, err := b.Subscribe(ctx, "history", rec.Handle); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "the 3 earlier events", func() bool { return rec.Count() >= 3 })
	})

	t.Run("a wildcard subscription picks up streams another process creates later", func(t *testing.T) {
		cfg := testConfig(shared)
		sub := started(t, cfg)
		pub := started(t, cfg) // another engine: its publishes do not wake sub's discovery
		ctx := testCtx(t)
		if err := pub.Publish(ctx, bus.Event{Topic: "orders.old", Payload: "before"}); err != nil {
			t.Fatal(err)
		}
		var rec recorder
		if _, err := sub.Subscribe(ctx, "orders.*", rec.Handle); err != nil {
			t.Fatal(err)
		}
		for i, topic := range []string{"orders.old", "orders.eu", "orders.us.west", "ordersx"} {
			if err := pub.Publish(ctx, bus.Event{Topic: topic, Payload: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for rec.Count() < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if rec.Count() < 3 {
			keys, _ := rawClient(t, sub).Keys(ctx, cfg.KeyPrefix+"*").Result()
			for _, k := range keys {
				g, _ := rawClient(t, sub).XInfoGroups(ctx, k).Result()
				t.Logf("%s: %+v", k, g)
			}
			t.Fatalf("got %v; errors %d", rec.Payloads(), sub.BackgroundErrors(""))
		}
		if err := sub.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		missing, dups := diff([]string{"0", "1", "2"}, rec.Payloads())
		if len(missing)+len(dups) > 0 || rec.Count() != 3 {
			t.Errorf("got %v (missing %v, dup %v); want 0 1 2 and not the event from before", rec.Payloads(), missing, dups)
		}
	})
}
