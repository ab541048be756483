package redis_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// The interop tests judge stream entries with the CloudEvents Go SDK:
// entries another program writes (binary and structured mode, fields
// produced by the SDK's binding code) are read by the engine, and the
// entries the engine writes are read with the SDK (see
// brokertest.EntryFields and EventFromEntry).

// xaddFields appends an entry with fields to topic's stream.
func xaddFields(t *testing.T, b *redis.EventBus, topic string, fields []any) {
	t.Helper()
	if err := rawClient(t, b).XAdd(testCtx(t), &goredis.XAddArgs{Stream: b.Config().KeyPrefix + topic, Values: fields}).Err(); err != nil {
		t.Fatal(err)
	}
}

// onlyEntry returns the single entry of topic's stream, once there is one.
func onlyEntry(t *testing.T, b *redis.EventBus, topic string) map[string]any {
	t.Helper()
	var entries []goredis.XMessage
	testutil.Eventually(t, 10*time.Second, "an entry on "+topic, func() bool {
		entries, _ = rawClient(t, b).XRange(testCtx(t), b.Config().KeyPrefix+topic, "-", "+").Result()
		return len(entries) > 0
	})
	if len(entries) != 1 {
		t.Fatalf("%d entries on %s, want 1", len(entries), topic)
	}
	return entries[0].Values
}

func failingConfig() redis.Config {
	cfg := testConfig(shared)
	cfg.Options.MaxRetries = -1
	return cfg
}

func TestInteropForeignEntries(t *testing.T) {
	b := started(t, failingConfig())
	b.SetErrorObserver(broker.ErrorObserverFunc(func(broker.Scope, error) {})) // the batch is reported; keep the log quiet

	for _, mode := range []string{"binary", "structured"} {
		t.Run("entries the SDK writes in "+mode+" mode reach the handler with the stream's topic and the event's own attributes", func(t *testing.T) {
			topic := "interop.in." + mode
			var rec recorder
			if _, err := b.Subscribe(testCtx(t), topic, rec.Handle); err != nil {
				t.Fatal(err)
			}
			want := map[string]brokertest.ForeignEvent{}
			for _, f := range brokertest.ForeignEvents() {
				f.Event = f.Event.Clone()
				f.Event.SetID(f.Event.ID() + "-" + mode)
				f.Name = mode + ": " + f.Name
				want[f.Event.ID()] = f
				fields, err := brokertest.EntryFields(f.Event, mode == "structured")
				if err != nil {
					t.Fatal(err)
				}
				xaddFields(t, b, topic, fields)
			}
			brokertest.CheckForeignDeliveries(t, &rec, want, 10*time.Second, func(brokertest.ForeignEvent) string { return topic })
		})
	}

	t.Run("a failing foreign event's dead letter keeps its type and source and has readable reasons", func(t *testing.T) {
		const topic = "interop.fail"
		if _, err := b.Subscribe(testCtx(t), topic, func(context.Context, bus.Event) error { return errors.New("cannot ship to the moon") }); err != nil {
			t.Fatal(err)
		}
		ce := event.New()
		ce.SetID("f-dl")
		ce.SetSource("https://shop.example.com/orders")
		ce.SetType("com.example.order.failed")
		ce.SetSubject("orders/49")
		_ = ce.SetData(event.ApplicationJSON, map[string]any{"order": 49})
		fields, err := brokertest.EntryFields(ce, false)
		if err != nil {
			t.Fatal(err)
		}
		xaddFields(t, b, topic, fields)
		dl, err := brokertest.EventFromEntry(onlyEntry(t, b, "dlq."+topic))
		if err != nil {
			t.Fatalf("the SDK cannot read the dead letter: %v", err)
		}
		if dl.Type() != "com.example.order.failed" || dl.Source() != "https://shop.example.com/orders" || dl.Subject() != "dlq."+topic {
			t.Errorf("dead letter type %q source %q subject %q; want the original type and source, subject the dead-letter topic", dl.Type(), dl.Source(), dl.Subject())
		}
		ext := dl.Extensions()
		for name, want := range map[string]string{
			"deadletterreason": "cannot ship to the moon", "deadlettertopic": topic, "deadletterattempts": "1",
			"deadletterid": "f-dl", "deadlettersubject": "orders/49",
		} {
			if got, _ := ext[name].(string); got != want {
				t.Errorf("dead letter extension %s = %v, want %q (extensions %v)", name, ext[name], want, ext)
			}
		}
	})

	t.Run("a batched-mode entry is dead-lettered with a reason that says so", func(t *testing.T) {
		const topic = "interop.batch"
		var calls atomic.Int64
		if _, err := b.Subscribe(testCtx(t), topic, func(context.Context, bus.Event) error { calls.Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		batch := `[{"specversion":"1.0","id":"b-1","source":"/s","type":"t"}]`
		xaddFields(t, b, topic, []any{"content-type", "application/cloudevents-batch+json", "data", batch})
		dl, err := brokertest.EventFromEntry(onlyEntry(t, b, "dlq."+topic))
		if err != nil {
			t.Fatalf("the SDK cannot read the dead letter: %v", err)
		}
		if r, _ := dl.Extensions()["deadletterreason"].(string); !strings.Contains(r, "batched content mode") {
			t.Errorf("reason = %q, want it to name the batched content mode", r)
		}
		if string(dl.Data()) != batch {
			t.Errorf("dead letter data = %s, want the batch", dl.Data())
		}
		if calls.Load() != 0 {
			t.Errorf("the handler was called for a batch")
		}
	})
}

func TestInteropOwnEntries(t *testing.T) {
	b := started(t, testConfig(shared))
	for _, o := range brokertest.OwnEvents("interop.out") {
		t.Run("the SDK reads an entry with "+o.Name, func(t *testing.T) {
			o.Event.Topic = "interop.out." + strings.ReplaceAll(o.Name, " ", "-")
			if err := b.Publish(testCtx(t), o.Event); err != nil {
				t.Fatal(err)
			}
			ce, err := brokertest.EventFromEntry(onlyEntry(t, b, o.Event.Topic))
			if err != nil {
				t.Fatalf("the SDK cannot read the entry: %v", err)
			}
			for _, problem := range brokertest.CheckOwn(o, "switchyard", ce) {
				t.Error(problem)
			}
		})
	}
}

func TestInteropForeignEntriesPoll(t *testing.T) {
	b := started(t, testConfig(shared))
	for _, mode := range []string{"binary", "structured"} {
		t.Run("Poll reads the entries the SDK writes in "+mode+" mode as a subscriber receives them", func(t *testing.T) {
			topic := "interop.poll." + mode
			var want []brokertest.ForeignEvent
			for _, f := range brokertest.ForeignEvents() {
				f.Event = f.Event.Clone()
				f.Event.SetID(f.Event.ID() + "-poll-" + mode)
				fields, err := brokertest.EntryFields(f.Event, mode == "structured")
				if err != nil {
					t.Fatal(err)
				}
				xaddFields(t, b, topic, fields)
				want = append(want, f)
			}
			resp, err := b.Poll(testCtx(t), topic, bus.ConsumeRequest{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Events) != len(want) {
				t.Fatalf("Poll returned %d events, want the %d the SDK wrote", len(resp.Events), len(want))
			}
			for i, f := range want {
				for _, d := range brokertest.CheckForeignEvent(f, topic, resp.Events[i]) {
					t.Errorf("%s: %s", f.Name, d)
				}
			}
		})
	}
}
