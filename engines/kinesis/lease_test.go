package kinesis

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// crash stops every subscription's readers the way a killed process
// would: no final checkpoint, no lease release, no goodbye heartbeat.
// The producer and shard syncer keep running until the test's cleanup
// Stops the bus (which then has nothing left to release).
func (b *EventBus) crash() {
	b.mu.Lock()
	subs := make([]*subscription, 0, len(b.subs))
	for _, s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.stop(true)
	}
}

// heldShards returns the shards this bus's subscriptions are reading.
func (b *EventBus) heldShards() int {
	n := 0
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		s.mu.Lock()
		if c := s.run; c != nil {
			c.mu.Lock()
			n += len(c.readers)
			c.mu.Unlock()
		}
		s.mu.Unlock()
	}
	return n
}

// publishN publishes n events on topic with keys spread over the shards.
func publishN(t *testing.T, b *EventBus, topic, prefix string, n int) []string {
	t.Helper()
	out := seq(prefix, n)
	for i, p := range out {
		e := bus.Event{Topic: topic, Payload: p, Metadata: map[string]any{bus.MetadataKeyPartition: fmt.Sprintf("key-%d", i%16)}}
		if err := b.Publish(testCtx(t), e); err != nil {
			t.Fatalf("publish %s: %v", p, err)
		}
	}
	return out
}

func TestRestartFromCheckpoint(t *testing.T) {
	t.Run("stop and start handles nothing twice and misses nothing", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		consumer := started(t, cfg)
		publisher := started(t, cfg)
		var rec recorder
		if _, err := consumer.Subscribe(testCtx(t), "ledger", rec.Handle); err != nil {
			t.Fatal(err)
		}
		first := publishN(t, publisher, "ledger", "a", 100)
		testutil.Eventually(t, 10*time.Second, "the first 100", func() bool { return rec.Count() >= 100 })
		if err := consumer.Stop(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		second := publishN(t, publisher, "ledger", "b", 100) // while the consumer is down
		if err := consumer.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the 100 published while stopped", func() bool { return rec.Count() >= 200 })
		counts := rec.Counts()
		for _, p := range append(first, second...) {
			if counts[p] != 1 {
				t.Errorf("%s handled %d times, want 1", p, counts[p])
			}
		}
		if n := rec.Count(); n != 200 {
			t.Errorf("handled %d events, want 200", n)
		}
	})
	t.Run("a new engine of the same application resumes from the redis checkpoint", func(t *testing.T) {
		redisSrv := testinfra.StartRedis(t)
		cfg := testConfig(kinesalite.Endpoint())
		cfg.ApplicationName = "billing"
		cfg.CheckpointStore = StoreRedis
		cfg.CheckpointRedis = RedisOptions{URL: redisSrv.URL(), KeyPrefix: "t" + enginekit.NewID()[:6] + ":"}
		publisher := started(t, testConfigFor(cfg))
		one := started(t, cfg)
		var rec recorder
		if _, err := one.Subscribe(testCtx(t), "invoices.*", rec.Handle); err != nil {
			t.Fatal(err)
		}
		first := publishN(t, publisher, "invoices.issued", "a", 80)
		testutil.Eventually(t, 10*time.Second, "the first 80", func() bool { return rec.Count() >= 80 })
		if err := one.Close(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		second := publishN(t, publisher, "invoices.issued", "b", 80)
		two := started(t, cfg)
		if _, err := two.Subscribe(testCtx(t), "invoices.*", rec.Handle); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the 80 published between the engines", func() bool { return rec.Count() >= 160 })
		counts := rec.Counts()
		for _, p := range append(first, second...) {
			if counts[p] != 1 {
				t.Errorf("%s handled %d times, want 1", p, counts[p])
			}
		}
	})
}

// testConfigFor returns a plain (memory store, no application) config on
// the same stream as cfg, for a publisher.
func testConfigFor(cfg Config) Config {
	p := testConfig(cfg.Endpoint)
	p.StreamName = cfg.StreamName
	p.ShardCount = cfg.ShardCount
	return p
}

func TestLeases(t *testing.T) {
	redisSrv := testinfra.StartRedis(t)
	cfg := testConfig(kinesalite.Endpoint())
	cfg.ShardCount = 4
	cfg.ApplicationName = "shipping"
	cfg.CheckpointStore = StoreRedis
	cfg.CheckpointRedis = RedisOptions{URL: redisSrv.URL(), KeyPrefix: "t" + enginekit.NewID()[:6] + ":"}
	publisher := started(t, testConfigFor(cfg))

	var mu sync.Mutex
	seen := map[string]int{}
	by := map[string]map[string]bool{"a": {}, "b": {}}
	handler := func(name string) bus.EventHandler {
		return func(_ context.Context, e bus.Event) error {
			mu.Lock()
			defer mu.Unlock()
			p := fmt.Sprint(e.Payload)
			seen[p]++
			by[name][p] = true
			return nil
		}
	}
	a, b := started(t, cfg), started(t, cfg)
	if _, err := a.Subscribe(testCtx(t), "parcels", handler("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(testCtx(t), "parcels", handler("b")); err != nil {
		t.Fatal(err)
	}
	t.Run("the shards are split between the two engines", func(t *testing.T) {
		testutil.Eventually(t, 15*time.Second, "2 shards each", func() bool { return a.heldShards() == 2 && b.heldShards() == 2 })
		published := publishN(t, publisher, "parcels", "p", 200)
		testutil.Eventually(t, 15*time.Second, "every event", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) >= len(published)
		})
		mu.Lock()
		defer mu.Unlock()
		if len(by["a"]) == 0 || len(by["b"]) == 0 {
			t.Errorf("one engine handled everything: a %d, b %d", len(by["a"]), len(by["b"]))
		}
		for _, p := range published {
			if seen[p] != 1 {
				t.Errorf("%s handled %d times, want once (each shard has one owner)", p, seen[p])
			}
		}
	})
	t.Run("a crashed engine's shards are taken over after lease expiry with no event lost", func(t *testing.T) {
		a.crash()
		crashedAt := time.Now()
		published := publishN(t, publisher, "parcels", "q", 200)
		testutil.Eventually(t, 20*time.Second, "the survivor to hold all 4 shards", func() bool { return b.heldShards() == 4 })
		if waited := time.Since(crashedAt); waited < cfg.LeaseDuration.Std()/2 {
			t.Errorf("shards taken over after %v, before the lease (%v) could expire", waited, cfg.LeaseDuration.Std())
		}
		testutil.Eventually(t, 20*time.Second, "every event published after the crash", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, p := range published {
				if seen[p] == 0 {
					return false
				}
			}
			return true
		})
	})
	t.Run("leases and checkpoints are in redis", func(t *testing.T) {
		store := b.checkpoints().(*checkpoint.Redis)
		leases, err := store.Leases(testCtx(t), checkpoint.Key{Stream: cfg.StreamName, Consumer: "shipping/parcels#0"})
		if err != nil || len(leases) != 4 {
			t.Fatalf("leases = %v, %v; want 4 shards", leases, err)
		}
	})
}
