package brokertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// The interop cases judge the broker engines' wire format with the
// CloudEvents Go SDK (github.com/cloudevents/sdk-go/v2), an implementation
// this project did not write: ForeignEvents are built with the SDK and
// written by the engines' tests the way the SDK's protocol bindings write
// them, for the engine to read; OwnEvents are published through the
// engine and read back with the SDK.

// binaryData is data that is not valid UTF-8 (nor JSON).
var binaryData = []byte{0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0xc3, 0x28, 0x0a, 0x22}

// largeText is a unicode string of about 900 KB.
var largeText = strings.Repeat("Größe ☕ 東京 ", 900*1000/len("Größe ☕ 東京 "))

// ForeignEvent is a CloudEvent another producer wrote, and what a handler
// must see of it.
type ForeignEvent struct {
	Name  string
	Event event.Event
	// Payload is the Event.Payload the handler must see.
	Payload any
	// Metadata is the Event.Metadata the handler must see (nil: none).
	Metadata map[string]any
}

// ForeignEvents returns the foreign events every broker engine must read,
// in binary and structured mode: with and without subject; JSON, no,
// unicode text, binary and large data.
func ForeignEvents() []ForeignEvent {
	at := time.Date(2026, 11, 30, 10, 20, 30, 123456000, time.UTC)
	mk := func(id, subject, ct string, data []byte) event.Event {
		ce := event.New()
		ce.SetID(id)
		ce.SetSource("https://shop.example.com/orders")
		ce.SetType("com.example.order.placed")
		if subject != "" {
			ce.SetSubject(subject)
		}
		ce.SetTime(at)
		ce.SetExtension("comexampletenant", "acme")
		if data != nil {
			ce.SetDataContentType(ct)
			ce.DataEncoded = data
			ce.DataBase64 = ct != event.ApplicationJSON
		}
		return ce
	}
	tenant := map[string]any{"comexampletenant": "acme"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{"comexampletenant": "acme"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	large, _ := json.Marshal(map[string]any{"text": largeText})
	return []ForeignEvent{
		{"json data with a subject", mk("f-1", "orders/44", event.ApplicationJSON, []byte(`{"order":44,"note":"naïve ☕ 東京"}`)),
			map[string]any{"order": float64(44), "note": "naïve ☕ 東京"}, tenant},
		{"json data without a subject", mk("f-2", "", event.ApplicationJSON, []byte(`[1,"two",null]`)),
			[]any{float64(1), "two", nil}, tenant},
		{"no data", mk("f-3", "orders/45", "", nil), nil, tenant},
		{"unicode text data", mk("f-4", "orders/46", "text/plain; charset=utf-8", []byte("héllo 世界 ☕")),
			[]byte("héllo 世界 ☕"), with(brokerkit.MetadataKeyContentType, "text/plain; charset=utf-8")},
		{"binary data", mk("f-5", "orders/47", "application/octet-stream", binaryData), binaryData, tenant},
		{"large json data", mk("f-6", "orders/48", event.ApplicationJSON, large),
			map[string]any{"text": largeText}, tenant},
	}
}

// CheckForeign compares what a handler saw of f (its event e and
// broker.EventAttributes ce) with f, on topic; it returns the differences.
func CheckForeign(f ForeignEvent, topic string, e bus.Event, ce broker.Attributes) []string {
	errs := CheckForeignEvent(f, topic, e)
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	want := broker.Attributes{SpecVersion: "1.0", ID: f.Event.ID(), Source: f.Event.Source(), Type: f.Event.Type(),
		Subject: f.Event.Subject(), Time: f.Event.Time(), DataContentType: f.Event.DataContentType()}
	if !ce.Time.Equal(want.Time) {
		bad("EventAttributes.Time = %v, want %v", ce.Time, want.Time)
	}
	ce.Time, want.Time = time.Time{}, time.Time{}
	if ce != want {
		bad("EventAttributes = %+v, want %+v", ce, want)
	}
	return errs
}

// CheckForeignEvent compares the bus.Event an engine made of f (read on
// topic, by a handler or by Poll) with f; it returns the differences.
func CheckForeignEvent(f ForeignEvent, topic string, e bus.Event) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if e.Topic != topic {
		bad("Topic = %q, want %q (the topic it was read from)", e.Topic, topic)
	}
	if !reflect.DeepEqual(e.Payload, f.Payload) {
		bad("Payload = %s, want %s", short(e.Payload), short(f.Payload))
	}
	if !reflect.DeepEqual(e.Metadata, f.Metadata) {
		bad("Metadata = %v, want %v", e.Metadata, f.Metadata)
	}
	if !e.CreatedAt.Equal(f.Event.Time()) {
		bad("CreatedAt = %v, want %v", e.CreatedAt, f.Event.Time())
	}
	return errs
}

func short(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// OwnEvent is an event published through an engine, and what a
// CloudEvents consumer must read of it.
type OwnEvent struct {
	Name  string
	Event bus.Event
	// ContentType and Data are the datacontenttype and data bytes the
	// SDK must read ("" and nil: no data); JSON data is compared as JSON.
	ContentType string
	Data        []byte
	// Extensions are extension attributes the SDK must read, by name.
	Extensions map[string]string
}

// OwnEvents returns events to publish on topic: JSON, unicode, no, binary,
// typed binary and large data, and readable extension names.
func OwnEvents(topic string) []OwnEvent {
	at := time.Date(2026, 11, 30, 10, 20, 30, 0, time.UTC)
	ev := func(p any, md map[string]any) bus.Event {
		return bus.Event{Topic: topic, Payload: p, Metadata: md, CreatedAt: at}
	}
	large := map[string]any{"text": largeText}
	largeJSON, _ := json.Marshal(large)
	return []OwnEvent{
		{"json data with metadata", ev(map[string]any{"id": 7, "name": "Zoë ☕"},
			map[string]any{"requestId": "r-1", "tenant": "acme", bus.MetadataKeyPartition: "k-7", "retries": 2}),
			"application/json", []byte(`{"id":7,"name":"Zoë ☕"}`),
			map[string]string{"swykrequest0id": "r-1", "tenant": "acme", "partitionkey": "k-7", "swyjretries": "2"}},
		{"no data", ev(nil, nil), "", nil, nil},
		{"binary data", ev(binaryData, nil), "application/octet-stream", binaryData, nil},
		{"binary data with its content type", ev([]byte("GIF89a\x00\x01\x80"), map[string]any{brokerkit.MetadataKeyContentType: "image/gif"}),
			"image/gif", []byte("GIF89a\x00\x01\x80"), nil},
		{"large unicode data", ev(large, nil), "application/json", largeJSON, nil},
	}
}

// CheckOwn compares a CloudEvent the SDK read (ce) with o, published
// with source; it returns the differences.
func CheckOwn(o OwnEvent, source string, ce event.Event) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if err := ce.Validate(); err != nil {
		bad("the SDK finds the event invalid: %v", err)
	}
	if ce.SpecVersion() != "1.0" || ce.Type() != o.Event.Topic || ce.Subject() != o.Event.Topic || ce.Source() != source || ce.ID() == "" {
		bad("attributes specversion %q type %q subject %q source %q id %q", ce.SpecVersion(), ce.Type(), ce.Subject(), ce.Source(), ce.ID())
	}
	if !ce.Time().Equal(o.Event.CreatedAt) {
		bad("time = %v, want %v", ce.Time(), o.Event.CreatedAt)
	}
	if ce.DataContentType() != o.ContentType {
		bad("datacontenttype = %q, want %q", ce.DataContentType(), o.ContentType)
	}
	switch got := ce.Data(); {
	case o.ContentType == "application/json":
		var a, b any
		if json.Unmarshal(got, &a) != nil || json.Unmarshal(o.Data, &b) != nil || !reflect.DeepEqual(a, b) {
			bad("data = %s, want the JSON %s", short(string(got)), short(string(o.Data)))
		}
	case !bytes.Equal(got, o.Data):
		bad("data = %q, want the bytes %q", short(got), short(o.Data))
	}
	ext := ce.Extensions()
	for name, want := range o.Extensions {
		if got, _ := ext[name].(string); got != want {
			bad("extension %s = %v, want %q (extensions: %v)", name, ext[name], want, ext)
		}
	}
	return errs
}

// CheckJSONDocument reports why doc is not a valid UTF-8 JSON document
// (strict readers such as Python's json.loads reject invalid UTF-8, which
// Go's encoding/json accepts); "" when it is.
func CheckJSONDocument(doc []byte) string {
	if !utf8.Valid(doc) {
		return "not valid UTF-8"
	}
	if !json.Valid(doc) {
		return "not valid JSON"
	}
	return ""
}

// The Redis engine's stream entries use the layout of the Kafka protocol
// binding without its "ce_" prefix: one field per attribute, the data in
// field "data" (see engines/redis/wire.go and docs/interop.md). The
// helpers below convert between entry fields and the SDK's Kafka binding,
// so that entries are written and read by the SDK's binding code rather
// than by the engine's codec.

// EntryFields returns ce as the fields of a Redis stream entry, written
// by the SDK's Kafka binding in binary or structured content mode. In
// structured mode the fields are "content-type" and "data".
func EntryFields(ce event.Event, structured bool) ([]any, error) {
	ctx := binding.WithForceBinary(context.Background())
	if structured {
		ctx = binding.WithForceStructured(context.Background())
	}
	var msg sarama.ProducerMessage
	if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(&ce), &msg); err != nil {
		return nil, err
	}
	var fields []any
	for _, h := range msg.Headers {
		switch k := string(h.Key); {
		case k == "content-type" && structured:
			fields = append(fields, "content-type", string(h.Value))
		case k == "content-type":
			fields = append(fields, "datacontenttype", string(h.Value))
		default:
			fields = append(fields, strings.TrimPrefix(k, "ce_"), string(h.Value))
		}
	}
	if msg.Value != nil {
		data, err := msg.Value.Encode()
		if err != nil {
			return nil, err
		}
		fields = append(fields, "data", string(data))
	}
	return fields, nil
}

// EventFromEntry reads a Redis stream entry's fields with the SDK's Kafka
// binding (binary mode).
func EventFromEntry(values map[string]any) (event.Event, error) {
	headers := map[string][]byte{}
	var data []byte
	var ct string
	for k, v := range values {
		s := fmt.Sprint(v)
		switch k {
		case "data":
			data = []byte(s)
		case "datacontenttype":
			ct = s
			headers["content-type"] = []byte(s)
		default:
			headers["ce_"+k] = []byte(s)
		}
	}
	ce, err := binding.ToEvent(context.Background(), kafka_sarama.NewMessage(data, ct, headers))
	if err != nil {
		return event.Event{}, err
	}
	return *ce, nil
}

// CheckForeignDeliveries waits (up to timeout) until rec holds as many
// events as want, then checks each against the ForeignEvent of its
// CloudEvents id with CheckForeign, topic(f) being the topic its handler
// must see, and reports unexpected events and foreign events not
// delivered.
func CheckForeignDeliveries(t *testing.T, rec *Recorder, want map[string]ForeignEvent, timeout time.Duration, topic func(ForeignEvent) string) {
	t.Helper()
	testutil.Eventually(t, timeout, "every foreign event", func() bool { return rec.Count() >= len(want) })
	evs, dels := rec.Events(), rec.Deliveries()
	for i, e := range evs {
		f, ok := want[dels[i].ID]
		if !ok {
			t.Errorf("unexpected event (attributes %+v, topic %q)", dels[i].CloudEvent, e.Topic)
			continue
		}
		delete(want, dels[i].ID)
		for _, problem := range CheckForeign(f, topic(f), e, dels[i].CloudEvent) {
			t.Errorf("%s: %s", f.Name, problem)
		}
	}
	for _, f := range want {
		t.Errorf("%s: not delivered", f.Name)
	}
}

// CheckForeignPolled checks that the events a Poll returned (got, in any
// order) are the foreign events want, each once: every event must match
// one of want (CheckForeignEvent, on the topic topic gives for it).
func CheckForeignPolled(t *testing.T, got []bus.Event, want []ForeignEvent, topic func(ForeignEvent) string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("Poll returned %d events, want the %d the SDK wrote", len(got), len(want))
	}
	used := make([]bool, len(got))
next:
	for _, f := range want {
		var first []string
		for i, e := range got {
			if used[i] {
				continue
			}
			diffs := CheckForeignEvent(f, topic(f), e)
			if len(diffs) == 0 {
				used[i] = true
				continue next
			}
			if first == nil {
				first = diffs
			}
		}
		t.Errorf("%s: no polled event matches; differences from the first candidate: %v", f.Name, first)
	}
}
