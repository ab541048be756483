package brokerkit_test

import (
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

var benchEvent = bus.Event{
	Topic:     "order.placed",
	Payload:   map[string]any{"id": "evt-0000000001", "body": strings.Repeat("x", 70)},
	Metadata:  map[string]any{"source": "bench"},
	CreatedAt: time.Now(),
}

func BenchmarkEncodeBinary(b *testing.B) {
	c := brokerkit.NewCodec(broker.Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.EncodeBinary(benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeBinary(b *testing.B) {
	c := brokerkit.NewCodec(broker.Options{})
	m, err := c.EncodeBinary(benchEvent)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := brokerkit.DecodeBinary(m); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeStructured(b *testing.B) {
	c := brokerkit.NewCodec(broker.Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.EncodeStructured(benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeStructured(b *testing.B) {
	doc, err := brokerkit.NewCodec(broker.Options{}).EncodeStructured(benchEvent)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := brokerkit.DecodeStructured(doc); err != nil {
			b.Fatal(err)
		}
	}
}
