package brokerkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/binding/spec"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

func TestExtensionNames(t *testing.T) {
	cases := []struct {
		key, name string
	}{
		{"traceparent", "traceparent"},
		{"tenant", "tenant"},
		{"partitionKey", "partitionkey"},
		{"deadLetterReason", "deadletterreason"},
		{"deadLetterTopic", "deadlettertopic"},
		{"deadLetterId", "deadletterid"},
		{"deadLetterSubscription", "deadlettersub"},
		{"partitionkey", "swykpartitionkey"},
		{"deadletterreason", "swykdeadletterreason"},
		{"source", "swyksource"},
		{"id", "swykid"},
		{"requestId", "swykrequest0id"},
		{"userID", "swykuser0i0d"},
		{"trace_id", "swyktrace02id"},
		{"X-Request-Id", "swyk0x010request010id"},
		{"a.b:c/d e", "swyka03b04c05d06e"},
		{"v0", "v0"},
		{"region2", "region2"},
		{"v0.1", "swykv00031"},
		{"Id0", "swyk0id00"},
		{"x-trace", "swykx01trace"},
		{"swyfoo", "swykswyfoo"},
		{"", "swyk"},
		{"héllo", "swykh09c309a9llo"},
	}
	for _, c := range cases {
		t.Run("key "+c.key+" maps to a valid readable reversible name", func(t *testing.T) {
			got := brokerkit.ExtensionName(c.key)
			if got != c.name {
				t.Errorf("ExtensionName(%q) = %q, want %q", c.key, got, c.name)
			}
			for _, r := range got {
				if (r < 'a' || r > 'z') && (r < '0' || r > '9') {
					t.Errorf("name %q has %q: not lowercase alphanumeric", got, r)
				}
			}
			if back, isJSON := brokerkit.MetadataKey(got); back != c.key || isJSON {
				t.Errorf("MetadataKey(%q) = %q, %v; want %q, false", got, back, isJSON, c.key)
			}
		})
	}

	t.Run("common camelCase keys stay within the 20 characters the specification advises", func(t *testing.T) {
		for _, key := range []string{"requestId", "correlationId", "userId", "tenantId", "deadLetterReason",
			"deadLetterAttempts", "deadLetterSubscription", "deadLetterSubject", "traceId"} {
			if n := brokerkit.ExtensionName(key); len(n) > 20 {
				t.Errorf("ExtensionName(%q) = %q: %d characters", key, n, len(n))
			}
		}
	})

	t.Run("names written by the earlier hex mapping are still read", func(t *testing.T) {
		for _, key := range []string{"requestId", "deadLetterReason", "source", "héllo wörld", "partitionkey"} {
			if back, isJSON := brokerkit.MetadataKey("swyx" + hexOf(key)); back != key || isJSON {
				t.Errorf("MetadataKey(swyx+hex(%q)) = %q, %v", key, back, isJSON)
			}
			if back, isJSON := brokerkit.MetadataKey("swyjswyx" + hexOf(key)); back != key || !isJSON {
				t.Errorf("MetadataKey(swyjswyx+hex(%q)) = %q, %v; want JSON", key, back, isJSON)
			}
		}
		if back, isJSON := brokerkit.MetadataKey("swyjretries"); back != "retries" || !isJSON {
			t.Errorf("MetadataKey(swyjretries) = %q, %v", back, isJSON)
		}
	})

	t.Run("other producers' extension names map to themselves", func(t *testing.T) {
		for _, name := range []string{"traceparent", "comexampleext", "swykA", "swyk0", "swyk07", "swyk09zz", "swyxzz", "swy"} {
			if back, isJSON := brokerkit.MetadataKey(name); back != name || isJSON {
				t.Errorf("MetadataKey(%q) = %q, %v; want itself", name, back, isJSON)
			}
		}
	})
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

func TestBinaryRoundTrip(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	cases := []struct {
		name    string
		in      bus.Event
		payload any
		meta    map[string]any
		ct      string
	}{
		{"a map payload comes back as decoded JSON",
			bus.Event{Topic: "user.created", Payload: map[string]any{"id": "42", "n": 7}},
			map[string]any{"id": "42", "n": float64(7)}, nil, brokerkit.ContentTypeJSON},
		{"a struct payload comes back as a JSON object",
			bus.Event{Topic: "t", Payload: struct {
				A string `json:"a"`
			}{"x"}},
			map[string]any{"a": "x"}, nil, brokerkit.ContentTypeJSON},
		{"a string payload stays a string", bus.Event{Topic: "t", Payload: "hello"}, "hello", nil, brokerkit.ContentTypeJSON},
		{"a nil payload stays nil", bus.Event{Topic: "t"}, nil, nil, ""},
		{"raw bytes stay raw bytes", bus.Event{Topic: "t", Payload: []byte{0, 1, 2}}, []byte{0, 1, 2}, nil, brokerkit.ContentTypeOctetStream},
		{"raw bytes keep their declared content type",
			bus.Event{Topic: "t", Payload: []byte("<a/>"), Metadata: map[string]any{"contentType": "application/xml"}},
			[]byte("<a/>"), map[string]any{"contentType": "application/xml"}, "application/xml"},
		{"json.RawMessage is sent verbatim", bus.Event{Topic: "t", Payload: json.RawMessage(`[1,"a"]`)}, []any{float64(1), "a"}, nil, brokerkit.ContentTypeJSON},
		{"metadata of every kind round-trips",
			bus.Event{Topic: "t", Payload: 1, Metadata: map[string]any{
				"source": "svc", "partitionKey": "k1", "traceparent": "00-abc-def-01",
				"retries": 3, "flag": true, "nested": map[string]any{"a": "b"}, "nothing": nil, "swyjx": "tricky",
			}},
			float64(1), map[string]any{
				"source": "svc", "partitionKey": "k1", "traceparent": "00-abc-def-01",
				"retries": float64(3), "flag": true, "nested": map[string]any{"a": "b"}, "nothing": nil, "swyjx": "tricky",
			}, brokerkit.ContentTypeJSON},
	}
	codec := brokerkit.NewCodec(broker.Options{Source: "test"})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.in.CreatedAt = created
			m, err := codec.EncodeBinary(c.in)
			if err != nil {
				t.Fatalf("EncodeBinary: %v", err)
			}
			if m.ContentType != c.ct {
				t.Errorf("content type = %q, want %q", m.ContentType, c.ct)
			}
			env, err := brokerkit.DecodeBinary(m)
			if err != nil {
				t.Fatalf("DecodeBinary: %v", err)
			}
			if env.Event.Topic != c.in.Topic || env.Type != c.in.Topic || env.Source != "test" || env.ID == "" {
				t.Errorf("envelope = %+v", env)
			}
			if !env.Event.CreatedAt.Equal(created) {
				t.Errorf("CreatedAt = %v, want %v", env.Event.CreatedAt, created)
			}
			if !reflect.DeepEqual(env.Event.Payload, c.payload) {
				t.Errorf("payload = %#v, want %#v", env.Event.Payload, c.payload)
			}
			if len(c.meta) > 0 || len(env.Event.Metadata) > 0 {
				if !reflect.DeepEqual(env.Event.Metadata, c.meta) {
					t.Errorf("metadata = %#v, want %#v", env.Event.Metadata, c.meta)
				}
			}
			// Any CloudEvents consumer reads it: sdk-go's own binary binding.
			ce, err := binding.ToEvent(context.Background(), binaryReader{m})
			if err != nil {
				t.Fatalf("sdk-go cannot read the binary message: %v", err)
			}
			if err := ce.Validate(); err != nil {
				t.Fatalf("sdk-go says the event is invalid: %v", err)
			}
			if ce.Subject() != c.in.Topic || ce.ID() != env.ID || !bytes.Equal(ce.Data(), m.Data) {
				t.Errorf("sdk-go read subject=%q id=%q data=%q", ce.Subject(), ce.ID(), ce.Data())
			}
			back, err := brokerkit.FromCloudEvent(*ce)
			if err != nil {
				t.Fatalf("FromCloudEvent: %v", err)
			}
			if !reflect.DeepEqual(back.Event, env.Event) {
				t.Errorf("via sdk-go = %#v\nwant %#v", back.Event, env.Event)
			}
		})
	}
}

// binaryReader presents a BinaryMessage to sdk-go as a binary-mode
// binding message, the way a protocol binding would.
type binaryReader struct{ m brokerkit.BinaryMessage }

func (r binaryReader) ReadEncoding() binding.Encoding { return binding.EncodingBinary }
func (r binaryReader) ReadStructured(context.Context, binding.StructuredWriter) error {
	return binding.ErrNotStructured
}
func (r binaryReader) ReadBinary(ctx context.Context, w binding.BinaryWriter) error {
	v := spec.New().Version(brokerkit.SpecVersion)
	if err := w.Start(ctx); err != nil {
		return err
	}
	for _, a := range r.m.Attributes {
		if attr := v.Attribute(a.Name); attr != nil {
			if err := w.SetAttribute(attr, a.Value); err != nil {
				return err
			}
		} else if err := w.SetExtension(a.Name, a.Value); err != nil {
			return err
		}
	}
	if r.m.ContentType != "" {
		if err := w.SetAttribute(v.AttributeFromKind(spec.DataContentType), r.m.ContentType); err != nil {
			return err
		}
	}
	if r.m.Data != nil {
		if err := w.SetData(bytes.NewReader(r.m.Data)); err != nil {
			return err
		}
	}
	return w.End(ctx)
}
func (r binaryReader) Finish(error) error { return nil }

func (r binaryReader) GetAttribute(kind spec.Kind) (spec.Attribute, interface{}) {
	attr := spec.New().Version(brokerkit.SpecVersion).AttributeFromKind(kind)
	if attr == nil {
		return nil, nil
	}
	if kind == spec.DataContentType && r.m.ContentType != "" {
		return attr, r.m.ContentType
	}
	if v, ok := r.m.Attr(attr.Name()); ok {
		return attr, v
	}
	return attr, nil
}

func (r binaryReader) GetExtension(name string) interface{} {
	if v, ok := r.m.Attr(name); ok {
		return v
	}
	return nil
}

var _ io.Reader = (*bytes.Reader)(nil)

func TestStructuredRoundTrip(t *testing.T) {
	codec := brokerkit.NewCodec(broker.Options{})
	in := bus.Event{Topic: "order.placed", Payload: map[string]any{"total": 9.5}, Metadata: map[string]any{"source": "shop", "partitionKey": "o-1"}}
	b, err := codec.EncodeStructured(in)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"specversion": "1.0", "source": "switchyard", "type": "order.placed", "subject": "order.placed", "datacontenttype": "application/json", "partitionkey": "o-1"} {
		if doc[k] != want {
			t.Errorf("structured %s = %v, want %v (doc %s)", k, doc[k], want, b)
		}
	}
	if !reflect.DeepEqual(doc["data"], map[string]any{"total": 9.5}) {
		t.Errorf("data = %#v: want inline JSON", doc["data"])
	}
	env, err := brokerkit.DecodeStructured(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(env.Event.Payload, in.Payload) || !reflect.DeepEqual(env.Event.Metadata, in.Metadata) || env.Event.Topic != in.Topic {
		t.Errorf("decoded %#v", env.Event)
	}
}

func TestDecodeForeignEvents(t *testing.T) {
	t.Run("a structured event of another producer decodes with its extensions", func(t *testing.T) {
		doc := `{"specversion":"1.0","id":"A-1","source":"/other","type":"com.example.thing","time":"2026-01-01T00:00:00Z",
			"comexampleext":"v","datacontenttype":"text/plain","data_base64":"aGk="}`
		env, err := brokerkit.DecodeStructured([]byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		if env.Event.Topic != "com.example.thing" || env.ID != "A-1" || env.Source != "/other" {
			t.Errorf("envelope %+v", env)
		}
		if !bytes.Equal(env.Event.Payload.([]byte), []byte("hi")) {
			t.Errorf("payload %#v", env.Event.Payload)
		}
		if env.Event.Metadata["comexampleext"] != "v" || env.Event.Metadata["contentType"] != "text/plain" {
			t.Errorf("metadata %#v", env.Event.Metadata)
		}
	})
	t.Run("a binary event without content type is read as JSON", func(t *testing.T) {
		m := brokerkit.BinaryMessage{Attributes: []brokerkit.Attribute{{"specversion", "1.0"}, {"id", "1"}, {"source", "s"}, {"type", "t"}}, Data: []byte(`{"a":1}`)}
		env, err := brokerkit.DecodeBinary(m)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(env.Event.Payload, map[string]any{"a": float64(1)}) {
			t.Errorf("payload %#v", env.Event.Payload)
		}
	})
}

func TestMalformed(t *testing.T) {
	base := []brokerkit.Attribute{{"specversion", "1.0"}, {"id", "1"}, {"source", "s"}, {"type", "t"}}
	without := func(name string) []brokerkit.Attribute {
		var out []brokerkit.Attribute
		for _, a := range base {
			if a.Name != name {
				out = append(out, a)
			}
		}
		return out
	}
	cases := []struct {
		name string
		m    brokerkit.BinaryMessage
	}{
		{"missing specversion", brokerkit.BinaryMessage{Attributes: without("specversion")}},
		{"missing id", brokerkit.BinaryMessage{Attributes: without("id")}},
		{"missing source", brokerkit.BinaryMessage{Attributes: without("source")}},
		{"missing type", brokerkit.BinaryMessage{Attributes: without("type")}},
		{"bad time", brokerkit.BinaryMessage{Attributes: append(append([]brokerkit.Attribute{}, base...), brokerkit.Attribute{"time", "yesterday"})}},
		{"bad JSON data", brokerkit.BinaryMessage{Attributes: base, ContentType: "application/json", Data: []byte("{nope")}},
		{"bad JSON metadata", brokerkit.BinaryMessage{Attributes: append(append([]brokerkit.Attribute{}, base...), brokerkit.Attribute{"swyjx", "{"})}},
	}
	for _, c := range cases {
		t.Run(c.name+" is malformed", func(t *testing.T) {
			if _, err := brokerkit.DecodeBinary(c.m); !errors.Is(err, broker.ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
		})
	}
	t.Run("a structured document that is not JSON is malformed", func(t *testing.T) {
		if _, err := brokerkit.DecodeStructured([]byte("nope")); !errors.Is(err, broker.ErrMalformed) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPayloadLimit(t *testing.T) {
	codec := brokerkit.NewCodec(broker.Options{MaxPayloadBytes: 10})
	_, err := codec.EncodeBinary(bus.Event{Topic: "big", Payload: strings.Repeat("x", 20)})
	var pe *broker.PayloadSizeError
	if !errors.Is(err, bus.ErrPayloadTooLarge) || !errors.As(err, &pe) || pe.Size != 22 || pe.Limit != 10 || pe.Topic != "big" {
		t.Errorf("err = %v (%+v), want a PayloadSizeError 22 > 10", err, pe)
	}
	if _, err := codec.EncodeBinary(bus.Event{Topic: "ok", Payload: "abc"}); err != nil {
		t.Errorf("small payload refused: %v", err)
	}
	if _, err := brokerkit.NewCodec(broker.Options{MaxPayloadBytes: -1}).EncodeBinary(bus.Event{Topic: "big", Payload: strings.Repeat("x", 5<<20)}); err != nil {
		t.Errorf("-1 should disable the limit: %v", err)
	}
	if _, err := codec.EncodeBinary(bus.Event{Topic: "t", Payload: func() {}}); err == nil {
		t.Errorf("an unencodable payload was accepted")
	}
}

func TestDecodePayload(t *testing.T) {
	type order struct {
		ID    string  `json:"id"`
		Total float64 `json:"total"`
	}
	t.Run("decoded JSON becomes the caller's struct", func(t *testing.T) {
		o, err := broker.DecodePayload[order](bus.Event{Payload: map[string]any{"id": "o1", "total": 3.5}})
		if err != nil || o != (order{"o1", 3.5}) {
			t.Errorf("got %+v, %v", o, err)
		}
	})
	t.Run("a value of the right type is returned as is", func(t *testing.T) {
		o, err := broker.DecodePayload[order](bus.Event{Payload: order{"x", 1}})
		if err != nil || o.ID != "x" {
			t.Errorf("got %+v, %v", o, err)
		}
	})
	t.Run("raw JSON bytes are parsed", func(t *testing.T) {
		o, err := broker.DecodePayload[order](bus.Event{Payload: []byte(`{"id":"b"}`)})
		if err != nil || o.ID != "b" {
			t.Errorf("got %+v, %v", o, err)
		}
	})
	t.Run("a mismatched payload is an error", func(t *testing.T) {
		if _, err := broker.DecodePayload[order](bus.Event{Payload: "text"}); err == nil {
			t.Errorf("no error")
		}
	})
}
