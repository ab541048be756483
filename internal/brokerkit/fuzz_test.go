package brokerkit

import (
	"errors"
	"testing"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// The codec reads whatever a broker holds, written by anyone: it must turn
// every input into an Envelope or an error wrapping ErrMalformed, never
// panic. `go test` runs the seeds below; `go test -fuzz FuzzX ./broker`
// explores further.

func FuzzUnmarshalJSONMatchesEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5,"x",null,true]}`, `"\ud83d\ude80"`, `1e400`, `[01]`, "\"\xff\"", `{"a":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecode(t, data) })
}

func FuzzDecodeStructured(f *testing.F) {
	c := NewCodec(broker.Options{})
	ours, err := c.EncodeStructured(bus.Event{Topic: "order.placed", Payload: map[string]any{"id": 7}, Metadata: map[string]any{"tenant": "t1", "n": 3}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ours)
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","datacontenttype":"text/plain","data":"hi"}`))
	f.Add([]byte(`{"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":"AAE="}`))
	f.Add([]byte(`{"specversion":"0.3"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		env, err := DecodeStructured(doc)
		if err != nil {
			if !errors.Is(err, broker.ErrMalformed) {
				t.Fatalf("DecodeStructured(%q) = %v, want an error wrapping ErrMalformed", doc, err)
			}
			return
		}
		if env.Event.Topic == "" {
			t.Fatalf("DecodeStructured(%q) accepted an event without a topic", doc)
		}
	})
}

func FuzzDecodeBinary(f *testing.F) {
	c := NewCodec(broker.Options{})
	m, err := c.EncodeBinary(bus.Event{Topic: "order.placed", Payload: []any{1.5, "x"}, Metadata: map[string]any{"tenant": "t1"}})
	if err != nil {
		f.Fatal(err)
	}
	attr := func(name string) string { v, _ := m.Attr(name); return v }
	f.Add(attr(AttrID), attr(AttrSource), attr(AttrType), attr(AttrSubject), attr(AttrTime), "tenant", `"t1"`, m.ContentType, m.Data)
	f.Add("1", "s", "t", "", "not a time", "n", "{", "application/json", []byte("{"))
	f.Add("", "", "", "", "", "", "", "", []byte(nil))
	f.Fuzz(func(t *testing.T, id, source, typ, subject, tm, extName, extValue, ct string, data []byte) {
		msg := BinaryMessage{
			Attributes: []Attribute{
				{Name: AttrSpecVersion, Value: "1.0"}, {Name: AttrID, Value: id}, {Name: AttrSource, Value: source},
				{Name: AttrType, Value: typ}, {Name: AttrSubject, Value: subject}, {Name: AttrTime, Value: tm},
				{Name: extName, Value: extValue},
			},
			ContentType: ct,
			Data:        data,
		}
		env, err := DecodeBinary(msg)
		if err != nil {
			if !errors.Is(err, broker.ErrMalformed) {
				t.Fatalf("DecodeBinary(%+v) = %v, want an error wrapping ErrMalformed", msg, err)
			}
			return
		}
		if env.Event.Topic == "" {
			t.Fatalf("DecodeBinary(%+v) accepted an event without a topic", msg)
		}
	})
}
