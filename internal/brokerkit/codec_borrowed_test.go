package brokerkit_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

func TestDecodeBinaryBorrowed(t *testing.T) {
	codec := brokerkit.NewCodec(broker.Options{Source: "test"})
	events := map[string]bus.Event{
		"JSON payload with metadata": {Topic: "orders", Payload: map[string]any{"id": "o-1", "n": 3.0, "tags": []any{"a", "é"}},
			Metadata: map[string]any{"tenant": "t1", "attempt": 2.0}, CreatedAt: time.Unix(1700000000, 5).UTC()},
		"bytes payload":                 {Topic: "blobs", Payload: []byte{1, 2, 3}},
		"bytes payload of content type": {Topic: "blobs", Payload: []byte("a,b"), Metadata: map[string]any{brokerkit.MetadataKeyContentType: "text/csv"}},
		"empty bytes payload":           {Topic: "blobs", Payload: []byte{}},
		"no payload":                    {Topic: "ticks"},
		"JSON string with escapes":      {Topic: "notes", Payload: "line\n\"quoted\""},
	}
	for name, e := range events {
		t.Run(name+" decodes as DecodeBinary does, sharing no memory with the data", func(t *testing.T) {
			m, err := codec.EncodeBinary(e)
			if err != nil {
				t.Fatal(err)
			}
			want, err := brokerkit.DecodeBinary(m)
			if err != nil {
				t.Fatal(err)
			}
			lent := m
			if m.Data != nil {
				lent.Data = append([]byte{}, m.Data...)
			}
			got, err := brokerkit.DecodeBinaryBorrowed(lent)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("borrowed decode gave\n%#v\nwant\n%#v", got, want)
			}
			for i := range lent.Data {
				lent.Data[i] ^= 0xff // the caller reuses its memory
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("the decoded event changed with the lent data: %#v, want %#v", got.Event, want.Event)
			}
		})
	}
	t.Run("malformed JSON data is the same error", func(t *testing.T) {
		m := brokerkit.BinaryMessage{Attributes: []brokerkit.Attribute{{Name: "specversion", Value: "1.0"}, {Name: "id", Value: "1"},
			{Name: "source", Value: "s"}, {Name: "type", Value: "t"}}, ContentType: brokerkit.ContentTypeJSON, Data: []byte(`{"a":`)}
		_, want := brokerkit.DecodeBinary(m)
		_, got := brokerkit.DecodeBinaryBorrowed(m)
		if want == nil || got == nil || got.Error() != want.Error() {
			t.Fatalf("got error %v, want %v", got, want)
		}
	})
}
