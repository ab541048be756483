package redis_test

import (
	"context"
	"encoding/json"
	"reflect"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestWireFormat(t *testing.T) {
	t.Run("a stream entry is a binary-mode CloudEvent any client can read", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		created := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
		if err := b.Publish(ctx, bus.Event{Topic: "user.created", Payload: map[string]any{"id": 7}, CreatedAt: created,
			Metadata: map[string]any{"partitionKey": "u-7", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "source": "signup"}}); err != nil {
			t.Fatal(err)
		}
		c := rawClient(t, b)
		entries, err := c.XRange(ctx, b.Config().KeyPrefix+"user.created", "-", "+").Result()
		if err != nil || len(entries) != 1 {
			t.Fatalf("XRANGE = %v, %v", entries, err)
		}
		v := entries[0].Values
		for k, want := range map[string]string{
			"specversion": "1.0", "source": "switchyard", "type": "user.created", "subject": "user.created",
			"time": "2026-03-04T05:06:07Z", "datacontenttype": "application/json", "data": `{"id":7}`,
			"partitionkey": "u-7", "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
			brokerkit.ExtensionName("source"): "signup",
		} {
			if v[k] != want {
				t.Errorf("field %s = %v, want %q", k, v[k], want)
			}
		}
		if id, _ := v["id"].(string); len(id) != 32 {
			t.Errorf("id = %v", v["id"])
		}
	})

	t.Run("an event written by another CloudEvents producer is delivered", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		var rec recorder
		if _, err := b.Subscribe(ctx, "foreign", rec.Handle); err != nil {
			t.Fatal(err)
		}
		c := rawClient(t, b)
		if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: b.Config().KeyPrefix + "foreign", Values: []any{
			"specversion", "1.0", "id", "ext-1", "source", "/billing", "type", "com.example.invoice",
			"datacontenttype", "application/json", "data", `{"total":12.5}`, "comexampletenant", "acme",
		}}).Err(); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "the foreign event", func() bool { return rec.Count() >= 1 })
		e := rec.Events()[0]
		if e.Topic != "foreign" || !reflect.DeepEqual(e.Payload, map[string]any{"total": 12.5}) || e.Metadata["comexampletenant"] != "acme" {
			t.Errorf("event %#v", e)
		}
		if rec.Deliveries()[0].ID != "ext-1" {
			t.Errorf("delivery id = %q, want the CloudEvents id", rec.Deliveries()[0].ID)
		}
		type invoice struct {
			Total float64 `json:"total"`
		}
		if inv, err := broker.DecodePayload[invoice](e); err != nil || inv.Total != 12.5 {
			t.Errorf("DecodePayload = %+v, %v", inv, err)
		}
	})

	t.Run("raw bytes keep their content type end to end", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		var rec recorder
		if _, err := b.Subscribe(ctx, "bin", rec.Handle); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: "bin", Payload: []byte{0xff, 0, 1}, Metadata: map[string]any{"contentType": "application/x-protobuf"}}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 5*time.Second, "the binary event", func() bool { return rec.Count() >= 1 })
		e := rec.Events()[0]
		if !reflect.DeepEqual(e.Payload, []byte{0xff, 0, 1}) || e.Metadata["contentType"] != "application/x-protobuf" {
			t.Errorf("event %#v", e)
		}
	})
}

func TestPublishing(t *testing.T) {
	t.Run("async publishing is flushed by Flush and by Stop", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.PublishAsync = true
		b := newBus(t, cfg)
		ctx := testCtx(t)
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		var rec recorder
		if _, err := b.SubscribeAsync(ctx, "fast", rec.Handle); err != nil {
			t.Fatal(err)
		}
		want := seqN("a%04d", 1000)
		for _, p := range want[:500] {
			if err := b.Publish(ctx, bus.Event{Topic: "fast", Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if n := rec.Count(); n != 500 {
			t.Errorf("after Flush: %d of 500 delivered", n)
		}
		for _, p := range want[500:] {
			if err := b.Publish(ctx, bus.Event{Topic: "fast", Payload: p}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer b.Stop(context.Background())
		testutil.Eventually(t, 10*time.Second, "all 1000 after the restart", func() bool { return rec.Count() >= 1000 })
		if missing, dups := diff(want, rec.Payloads()); len(missing)+len(dups) > 0 {
			t.Errorf("missing %v, duplicated %v", missing, dups)
		}
	})

	t.Run("maxLen trims streams approximately", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.MaxLen = 100
		b := started(t, cfg)
		ctx := testCtx(t)
		for i := 0; i < 1000; i++ {
			if err := b.Publish(ctx, bus.Event{Topic: "capped", Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		n, err := rawClient(t, b).XLen(ctx, cfg.KeyPrefix+"capped").Result()
		if err != nil || n >= 1000 || n < 100 {
			t.Errorf("XLEN = %d, %v; want about 100", n, err)
		}
	})

	t.Run("pending entries show as QueueDepth", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.ClaimInterval = bus.Duration(50 * time.Millisecond)
		b := started(t, cfg)
		ctx := testCtx(t)
		release := make(chan struct{})
		var once sync.Once
		t.Cleanup(func() { once.Do(func() { close(release) }) })
		if _, err := b.Subscribe(ctx, "stuck", func(ctx context.Context, e bus.Event) error { <-release; return nil }); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := b.Publish(ctx, bus.Event{Topic: "stuck", Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 5*time.Second, "QueueDepth 5", func() bool { return b.EngineStats().QueueDepth == 5 })
		once.Do(func() { close(release) })
		testutil.Eventually(t, 5*time.Second, "QueueDepth 0", func() bool { return b.EngineStats().QueueDepth == 0 })
		s := b.EngineStats()
		if s.Published != 5 || s.Delivered != 5 {
			b, _ := json.Marshal(s)
			t.Errorf("stats %s", b)
		}
	})
}
