package redis_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

const nodeInstallHint = "run ./scripts/test-deps.sh (it runs `npm ci --prefix test/interop`; needs node and npm)"

// TestInteropNodeClient runs test/interop/redis-client.mjs, a client
// written with ioredis and the CloudEvents JavaScript SDK (the example of
// docs/interop.md): it must read and validate what the engine wrote,
// dead letters included, and write an event the engine delivers.
func TestInteropNodeClient(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed: %s", nodeInstallHint)
	}
	dir, err := filepath.Abs("../../test/interop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "cloudevents")); err != nil {
		t.Fatalf("test/interop has no node_modules: %s", nodeInstallHint)
	}
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
	cmd := exec.CommandContext(runCtx, node, filepath.Join(dir, "redis-client.mjs"), cfg.URL,
		cfg.KeyPrefix+"from.js", cfg.KeyPrefix+"to.js", cfg.KeyPrefix+"dlq.to.js.fail")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node redis-client.mjs: %v\n%s", err, stderr.String())
	}

	t.Run("the JavaScript SDK reads and validates the engine's entries and dead letters", func(t *testing.T) {
		var read []event.Event
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ce event.Event
			if err := json.Unmarshal(sc.Bytes(), &ce); err != nil {
				t.Fatalf("line %s: %v", sc.Bytes(), err)
			}
			read = append(read, ce)
		}
		if len(read) != 2 {
			t.Fatalf("the client read %d events, want 2:\n%s", len(read), out)
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
