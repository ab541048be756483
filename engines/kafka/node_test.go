package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestInteropNodeClient runs test/interop/kafka-client.mjs, a client
// written with kafkajs and the CloudEvents JavaScript SDK's Kafka binding:
// the engine must deliver the events it writes in structured and binary
// mode, and it must read and validate what the engine wrote, dead letters
// included.
func TestInteropNodeClient(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"maxRetries": -1}))
	var rec brokertest.Recorder
	if _, err := b.Subscribe(ctxT(t), "from.js", rec.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctxT(t), "to.js.fail", func(context.Context, bus.Event) error { return errors.New("cannot ship to the moon") }); err != nil {
		t.Fatal(err)
	}
	md := map[string]any{"requestId": "r-1", "tenant": "acme", bus.MetadataKeyPartition: "k-7"}
	if err := b.Publish(ctxT(t), bus.Event{Topic: "to.js", Payload: map[string]any{"id": 7, "name": "Zoë ☕"}, Metadata: md}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctxT(t), bus.Event{Topic: "to.js.fail", Payload: map[string]any{"id": 8}, Metadata: md}); err != nil {
		t.Fatal(err)
	}
	readRecords(t, k, "dlq.to.js.fail", 1) // the dead letter exists

	runCtx, cancel := context.WithTimeout(ctxT(t), 60*time.Second)
	defer cancel()
	read := brokertest.RunNodeClient(t, runCtx, "kafkajs", "kafka-client.mjs", strings.Join(k.Addrs(), ","),
		"from.js", "to.js", "dlq.to.js.fail")

	t.Run("the JavaScript SDK's Kafka binding reads and validates the engine's records and dead letters", func(t *testing.T) {
		bySubject := map[string]event.Event{}
		for _, ce := range read {
			bySubject[ce.Subject()] = ce
		}
		ev, ok := bySubject["to.js"]
		var data any
		_ = json.Unmarshal(ev.Data(), &data)
		if !ok || ev.Type() != "to.js" || ev.Source() != "switchyard" || !reflect.DeepEqual(data, map[string]any{"id": float64(7), "name": "Zoë ☕"}) {
			t.Errorf("event read: %s\n(all read: %v)", ev, read)
		}
		if ext := ev.Extensions(); ext["swykrequest0id"] != "r-1" || ext["tenant"] != "acme" || ext["partitionkey"] != "k-7" {
			t.Errorf("extensions read: %v", ext)
		}
		dl, ok := bySubject["dlq.to.js.fail"]
		if ext := dl.Extensions(); !ok || dl.Type() != "to.js.fail" || ext["deadletterreason"] != "cannot ship to the moon" || ext["deadlettertopic"] != "to.js.fail" {
			t.Errorf("dead letter read: type %q extensions %v", dl.Type(), ext)
		}
	})

	t.Run("events the JavaScript SDK wrote in structured and binary mode reach the handler", func(t *testing.T) {
		testutil.Eventually(t, 20*time.Second, "both events from JavaScript", func() bool { return rec.Count() >= 2 })
		for i, e := range rec.Events() {
			ce := rec.Deliveries()[i].CloudEvent
			mode := strings.TrimPrefix(ce.Subject, "orders/")
			if e.Topic != "from.js" || !reflect.DeepEqual(e.Payload, map[string]any{"order": float64(44), "mode": mode}) ||
				!reflect.DeepEqual(e.Metadata, map[string]any{"comexampletenant": "acme"}) {
				t.Errorf("%s mode: event %#v", mode, e)
			}
			if ce.Type != "com.example.order.placed" || ce.Source != "/js-shop" || (ce.ID != "js-1" && ce.ID != "js-2") || ce.Time.IsZero() {
				t.Errorf("%s mode: attributes %+v", mode, ce)
			}
		}
	})
}
