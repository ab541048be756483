package brokerkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// These tests judge the codec with the CloudEvents Go SDK, which the
// project did not write.

func TestStructuredDataIsValidJSONForStrictReaders(t *testing.T) {
	codec := brokerkit.NewCodec(broker.Options{})
	raw := []byte{0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0xc3, 0x28, '"', '\\'}
	cases := []struct {
		name    string
		event   bus.Event
		base64  bool
		wantCT  string
		wantRaw []byte
	}{
		{"binary data is sent as data_base64", bus.Event{Topic: "t", Payload: raw}, true, "application/octet-stream", raw},
		{"binary data with its own content type is sent as data_base64", bus.Event{Topic: "t", Payload: raw,
			Metadata: map[string]any{brokerkit.MetadataKeyContentType: "image/png"}}, true, "image/png", raw},
		{"unicode text bytes are sent as data_base64 too", bus.Event{Topic: "t", Payload: []byte("Zoë ☕"),
			Metadata: map[string]any{brokerkit.MetadataKeyContentType: "text/plain"}}, true, "text/plain", []byte("Zoë ☕")},
		{"JSON data stays inline", bus.Event{Topic: "t", Payload: map[string]any{"name": "Zoë ☕ \x80"}}, false, "application/json", nil},
		{"metadata with invalid UTF-8 still makes a valid document", bus.Event{Topic: "t", Payload: 1,
			Metadata: map[string]any{"note": "a\xffb"}}, false, "application/json", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := codec.EncodeStructured(c.event)
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.Valid(doc) || !json.Valid(doc) {
				t.Fatalf("document is not valid UTF-8 JSON: %q", doc)
			}
			var members map[string]json.RawMessage
			if err := json.Unmarshal(doc, &members); err != nil {
				t.Fatal(err)
			}
			if _, ok := members["data_base64"]; ok != c.base64 {
				t.Errorf("data_base64 present = %v, want %v: %s", ok, c.base64, doc)
			}
			var ce event.Event
			if err := json.Unmarshal(doc, &ce); err != nil {
				t.Fatalf("the SDK cannot read %s: %v", doc, err)
			}
			if err := ce.Validate(); err != nil {
				t.Errorf("the SDK finds it invalid: %v", err)
			}
			if ce.DataContentType() != c.wantCT {
				t.Errorf("datacontenttype = %q, want %q", ce.DataContentType(), c.wantCT)
			}
			if c.wantRaw != nil && !bytes.Equal(ce.Data(), c.wantRaw) {
				t.Errorf("the SDK reads data %q, want %q", ce.Data(), c.wantRaw)
			}
		})
	}

	for _, bad := range []bus.Event{
		{Topic: "t", Payload: json.RawMessage(`{"a":`)},
		{Topic: "t", Payload: json.RawMessage("\"a\xffb\"")},
		{Topic: "t", Payload: []byte("not json"), Metadata: map[string]any{brokerkit.MetadataKeyContentType: "application/json"}},
		{Topic: "t", Payload: []byte("\"a\xffb\""), Metadata: map[string]any{brokerkit.MetadataKeyContentType: "application/vnd.x+json"}},
	} {
		t.Run(fmt.Sprintf("a %T payload %q with content type %v is not valid UTF-8 JSON and is refused with a clear error", bad.Payload, bad.Payload, bad.Metadata[brokerkit.MetadataKeyContentType]), func(t *testing.T) {
			if _, err := codec.EncodeStructured(bad); err == nil || !strings.Contains(err.Error(), "not valid UTF-8 JSON") {
				t.Errorf("EncodeStructured = %v, want an error saying the payload is not valid UTF-8 JSON", err)
			}
			if _, err := codec.EncodeBinary(bad); err == nil || !strings.Contains(err.Error(), "not valid UTF-8 JSON") {
				t.Errorf("EncodeBinary = %v, want an error saying the payload is not valid UTF-8 JSON", err)
			}
		})
	}
}

func TestContentModes(t *testing.T) {
	ce := event.New()
	ce.SetID("s-1")
	ce.SetSource("/shop")
	ce.SetType("com.example.order.placed")
	ce.SetSubject("orders/44")
	ce.SetExtension("comexampletenant", "acme")
	_ = ce.SetData("application/octet-stream", []byte{0, 1, 2})
	doc, err := json.Marshal(ce) // the SDK's JSON event format
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a structured message is told apart by its content type and decoded", func(t *testing.T) {
		for _, ct := range []string{"application/cloudevents+json", "application/cloudevents+json; charset=utf-8", "Application/CloudEvents+JSON"} {
			env, err := brokerkit.DecodeMessage(brokerkit.BinaryMessage{ContentType: ct, Data: doc})
			if err != nil {
				t.Fatalf("%s: %v", ct, err)
			}
			if env.ID != "s-1" || env.Type != "com.example.order.placed" || env.Subject != "orders/44" || env.Source != "/shop" ||
				!bytes.Equal(env.Event.Payload.([]byte), []byte{0, 1, 2}) || env.Event.Metadata["comexampletenant"] != "acme" {
				t.Errorf("%s: envelope %+v", ct, env)
			}
		}
	})

	t.Run("a batched message is malformed with a reason naming the batched mode", func(t *testing.T) {
		batch := append(append([]byte("["), doc...), ']')
		for _, m := range []brokerkit.BinaryMessage{{ContentType: brokerkit.ContentTypeBatch, Data: batch}, {ContentType: brokerkit.ContentTypeStructured, Data: batch}} {
			_, err := brokerkit.DecodeMessage(m)
			if !errors.Is(err, broker.ErrMalformed) || !errors.Is(err, broker.ErrBatchedMode) {
				t.Errorf("DecodeMessage(%s) = %v, want ErrMalformed and ErrBatchedMode", m.ContentType, err)
			}
		}
	})

	t.Run("a structured message in another event format is malformed with a reason naming it", func(t *testing.T) {
		_, err := brokerkit.DecodeMessage(brokerkit.BinaryMessage{ContentType: "application/cloudevents+avro", Data: []byte{1}})
		if !errors.Is(err, broker.ErrMalformed) || !strings.Contains(err.Error(), "application/cloudevents+avro") {
			t.Errorf("DecodeMessage = %v", err)
		}
	})

	t.Run("a binary message is decoded in binary mode", func(t *testing.T) {
		env, err := brokerkit.DecodeMessage(brokerkit.BinaryMessage{ContentType: "application/json", Data: []byte(`{"a":1}`),
			Attributes: []brokerkit.Attribute{{"specversion", "1.0"}, {"id", "b-1"}, {"source", "/s"}, {"type", "t"}}})
		if err != nil || env.ID != "b-1" {
			t.Errorf("DecodeMessage = %+v, %v", env, err)
		}
	})
}

func TestForeignAttributes(t *testing.T) {
	at := time.Date(2026, 11, 30, 1, 2, 3, 0, time.UTC)
	ce := event.New()
	ce.SetID("f-1")
	ce.SetSource("https://shop.example.com")
	ce.SetType("com.example.order.placed")
	ce.SetSubject("orders/44")
	ce.SetTime(at)
	ce.SetDataSchema("https://shop.example.com/schema/order")
	_ = ce.SetData(event.ApplicationJSON, map[string]any{"n": 1})
	doc, _ := json.Marshal(ce)
	env, err := brokerkit.DecodeStructured(doc)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("a handler sees a foreign event's type, source, subject, id, time and content type", func(t *testing.T) {
		d, _, _ := newDispatcher(fast)
		var got broker.Attributes
		var ok bool
		d.Dispatch(context.Background(), make(chan struct{}), "sub", func(ctx context.Context, e bus.Event) error {
			got, ok = broker.EventAttributes(ctx)
			return nil
		}, env, broker.NewDelivery("", nil))
		want := broker.Attributes{SpecVersion: "1.0", ID: "f-1", Source: "https://shop.example.com", Type: "com.example.order.placed",
			Subject: "orders/44", Time: at, DataContentType: "application/json", DataSchema: "https://shop.example.com/schema/order"}
		if !ok || got != want {
			t.Errorf("EventAttributes = %+v, %v; want %+v", got, ok, want)
		}
		if _, ok := broker.EventAttributes(context.Background()); ok {
			t.Errorf("EventAttributes outside a handler reports ok")
		}
	})

	t.Run("its dead letter keeps its type and source and records its subject", func(t *testing.T) {
		env := env
		env.Event.Topic = "interop.in" // the topic it was read from
		dl, ok := brokerkit.NewDeadLetter(broker.Options{}, env, "sub", errors.New("boom"), 2)
		if !ok {
			t.Fatal("no dead letter")
		}
		m, err := brokerkit.NewCodec(broker.Options{}).EncodeBinaryContext(dl.Context(context.Background()), dl.Event)
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.CloudEvent() // validated by the SDK
		if err != nil {
			t.Fatal(err)
		}
		if out.Type() != "com.example.order.placed" || out.Source() != "https://shop.example.com" || out.Subject() != "dlq.interop.in" || out.ID() == "f-1" {
			t.Errorf("dead letter type %q source %q subject %q id %q", out.Type(), out.Source(), out.Subject(), out.ID())
		}
		ext := out.Extensions()
		for name, want := range map[string]string{"deadletterreason": "boom", "deadletterattempts": "2", "deadlettertopic": "interop.in",
			"deadletterid": "f-1", "deadlettersub": "sub", "deadlettersubject": "orders/44"} {
			if ext[name] != want {
				t.Errorf("extension %s = %v, want %q (all: %v)", name, ext[name], want, ext)
			}
		}
		back, err := brokerkit.FromCloudEvent(out)
		if err != nil {
			t.Fatal(err)
		}
		if back.Event.Metadata[broker.MetadataKeyDeadLetterAttempts] != float64(2) || back.Event.Metadata[broker.MetadataKeyDeadLetterReason] != "boom" {
			t.Errorf("decoded dead-letter metadata %v", back.Event.Metadata)
		}
	})

	t.Run("another producer's plain-text value under one of our numeric names is kept as text", func(t *testing.T) {
		env, err := brokerkit.DecodeBinary(brokerkit.BinaryMessage{Attributes: []brokerkit.Attribute{{"specversion", "1.0"}, {"id", "x"},
			{"source", "/s"}, {"type", "t"}, {"deadletterattempts", "three"}}})
		if err != nil || env.Event.Metadata[broker.MetadataKeyDeadLetterAttempts] != "three" {
			t.Errorf("DecodeBinary = %v, %v", env.Event.Metadata, err)
		}
	})
}
