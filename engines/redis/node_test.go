package redis_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestInteropNodeClient runs test/interop/redis-client.mjs, a client
// written with ioredis and the CloudEvents JavaScript SDK (the example of
// docs/interop.md): it must read and validate what the engine wrote,
// dead letters included, and write an event the engine delivers.
func TestInteropNodeClient(t *testing.T) {
	cfg := failingConfig()
	b := started(t, cfg)
	ctx := testCtx(t)
	var rec recorder
	if _, err := b.Subscribe(ctx, "from.js", rec.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "to.js.fail", func(context.Context, bus.Event) error { return errors.New("cannot ship to the moon") }); err != nil {
		t.Fatal(err)
	}
	md := map[string]any{"requestId": "r-1", "tenant": "acme", bus.MetadataKeyPartition: "k-7"}
	if err := b.Publish(ctx, bus.Event{Topic: "to.js", Payload: map[string]any{"id": 7, "name": "Zoë ☕"}, Metadata: md}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Topic: "to.js.fail", Payload: map[string]any{"id": 8}, Metadata: md}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the dead letter", func() bool {
		n, _ := rawClient(t, b).XLen(ctx, cfg.KeyPrefix+"dlq.to.js.fail").Result()
		return n == 1
	})

	runCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	read := brokertest.RunNodeClient(t, runCtx, "cloudevents", "redis-client.mjs", cfg.URL,
		cfg.KeyPrefix+"from.js", cfg.KeyPrefix+"to.js", cfg.KeyPrefix+"dlq.to.js.fail")

	t.Run("the JavaScript SDK reads and validates the engine's entries and dead letters", func(t *testing.T) {
		if len(read) != 2 {
			t.Fatalf("the client read %d events, want 2: %v", len(read), read)
		}
		ev, dl := read[0], read[1]
		var data any
		_ = json.Unmarshal(ev.Data(), &data)
		if ev.Type() != "to.js" || ev.Source() != "switchyard" || !reflect.DeepEqual(data, map[string]any{"id": float64(7), "name": "Zoë ☕"}) {
			t.Errorf("event read: %s", ev)
		}
		ext := ev.Extensions()
		if ext["swykrequest0id"] != "r-1" || ext["tenant"] != "acme" || ext["partitionkey"] != "k-7" {
			t.Errorf("extensions read: %v", ext)
		}
		ext = dl.Extensions()
		if dl.Subject() != "dlq.to.js.fail" || ext["deadletterreason"] != "cannot ship to the moon" || ext["deadlettertopic"] != "to.js.fail" {
			t.Errorf("dead letter read: subject %q extensions %v", dl.Subject(), ext)
		}
	})

	t.Run("an event the JavaScript SDK wrote reaches the handler", func(t *testing.T) {
		testutil.Eventually(t, 10*time.Second, "the event from JavaScript", func() bool { return rec.Count() >= 1 })
		e, d := rec.Events()[0], rec.Deliveries()[0]
		if e.Topic != "from.js" || !reflect.DeepEqual(e.Payload, map[string]any{"order": float64(44), "note": "naïve ☕"}) ||
			!reflect.DeepEqual(e.Metadata, map[string]any{"comexampletenant": "acme"}) {
			t.Errorf("event %#v", e)
		}
		if ce := d.CloudEvent; ce.Type != "com.example.order.placed" || ce.Source != "/js-shop" || ce.Subject != "orders/44" || ce.ID == "" || ce.Time.IsZero() {
			t.Errorf("attributes %+v", ce)
		}
	})
}
