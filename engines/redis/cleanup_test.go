package redis_test

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// groupNames returns the consumer groups on stream.
func groupNames(t testing.TB, c *goredis.Client, stream string) []string {
	t.Helper()
	groups, err := c.XInfoGroups(context.Background(), stream).Result()
	if err != nil {
		t.Fatalf("XINFO GROUPS %s: %v", stream, err)
	}
	var out []string
	for _, g := range groups {
		out = append(out, g.Name)
	}
	return out
}

func stopBus(t testing.TB, b *redis.EventBus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestCleanStopLeavesNothingBehind(t *testing.T) {
	t.Run("a clean Stop removes a private group and the next Start resumes it where it stood", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.ClaimTimeout = bus.Duration(30 * time.Second)
		b := started(t, cfg)
		ctx := testCtx(t)
		pubCfg := testConfig(shared)
		pubCfg.KeyPrefix = cfg.KeyPrefix
		pub := started(t, pubCfg)
		raw := rawClient(t, b)
		stream := cfg.KeyPrefix + "kept"
		var rec recorder
		if _, err := b.Subscribe(ctx, "kept", slowRecorder(&rec, 5*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		want := publishN(t, pub, "kept", "a", 100)
		// Stop with part of the batch read and not handled.
		testutil.Eventually(t, 10*time.Second, "some events handled", func() bool { return rec.Count() >= 20 })
		stopBus(t, b)
		if g := groupNames(t, raw, stream); len(g) != 0 {
			t.Errorf("groups left on the stream after a clean Stop: %v", g)
		}
		// Published while stopped: delivered after Start.
		want = append(want, publishN(t, pub, "kept", "b", 50)...)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, "every event handled", func() bool {
			missing, _ := diff(want, rec.Payloads())
			return len(missing) == 0
		})
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if _, dups := diff(want, rec.Payloads()); len(dups) > 0 {
			t.Errorf("%d events handled twice across the restart: %v", len(dups), dups)
		}
		stopBus(t, b)
		if g := groupNames(t, raw, stream); len(g) != 0 {
			t.Errorf("groups left on the stream after the second Stop: %v", g)
		}
	})

	t.Run("a clean Stop keeps a shared group and removes only its idle consumer", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.Group = "durable"
		b := started(t, cfg)
		ctx := testCtx(t)
		raw := rawClient(t, b)
		var rec recorder
		if _, err := b.Subscribe(ctx, "orders", rec.Handle); err != nil {
			t.Fatal(err)
		}
		want := publishN(t, b, "orders", "o", 10)
		testutil.Eventually(t, 10*time.Second, "every event handled", func() bool { return rec.Count() >= len(want) })
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		stopBus(t, b)
		stream := cfg.KeyPrefix + "orders"
		if g := groupNames(t, raw, stream); len(g) != 1 || g[0] != "durable" {
			t.Fatalf("groups after Stop = %v, want [durable]", g)
		}
		consumers, err := raw.XInfoConsumers(ctx, stream, "durable").Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(consumers) != 0 {
			t.Errorf("consumers left in the shared group: %+v", consumers)
		}
	})
}

// A malformed entry (plain fields written by another program) is
// dead-lettered with every field it had, so it can be inspected and
// replayed.
func TestAMalformedEntrysDeadLetterKeepsItsFields(t *testing.T) {
	b := started(t, testConfig(shared))
	ctx := testCtx(t)
	var dead recorder
	if _, err := b.Subscribe(ctx, "foreign", func(context.Context, bus.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "dlq.foreign", dead.Handle); err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{"order": `{"id":7,"total":12.5}`, "kind": "plain", "note": "ünïcödé"}
	values := map[string]any{}
	for k, v := range fields {
		values[k] = v
	}
	raw := rawClient(t, b)
	if err := raw.XAdd(ctx, &goredis.XAddArgs{Stream: b.Config().KeyPrefix + "foreign", Values: values}).Err(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the dead letter", func() bool { return dead.Count() >= 1 })
	dl := dead.Events()[0]
	if r, _ := dl.Metadata["deadLetterReason"].(string); !strings.HasPrefix(r, "malformed") {
		t.Errorf("reason = %q", r)
	}
	data, ok := dl.Payload.([]byte)
	if !ok {
		t.Fatalf("dead letter payload is %T (%v), want the entry's bytes", dl.Payload, dl.Payload)
	}
	var got map[string]string
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("dead letter payload %q: %v", data, err)
	}
	if !maps.Equal(got, fields) {
		t.Errorf("dead letter keeps %v, want the entry's fields %v", got, fields)
	}
}
