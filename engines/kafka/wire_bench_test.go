package kafka

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
)

type benchOrder struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
	Note   string `json:"note"`
}

func benchBus(b *testing.B) *EventBus {
	eb, err := NewEventBus(Config{Brokers: []string{"127.0.0.1:9092"}})
	if err != nil {
		b.Fatal(err)
	}
	return eb
}

// BenchmarkEncodeRecord measures the adapter's publish-side work per event
// (CloudEvent attributes, JSON payload, headers, pooled record) beyond
// what sarama does with the record.
func BenchmarkEncodeRecord(b *testing.B) {
	eb := benchBus(b)
	ctx := context.Background()
	e := bus.Event{Topic: "orders", Payload: benchOrder{ID: "ord-0000000001", Amount: 4200, Note: strings.Repeat("x", 54)},
		Metadata: map[string]any{bus.MetadataKeyPartition: "k001"}, CreatedAt: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		m, err := eb.newRecord(ctx, e)
		if err != nil {
			b.Fatal(err)
		}
		releaseMessage(m)
	}
}

// BenchmarkDecodeRecord measures the adapter's consume-side decoding per
// record (headers to CloudEvent attributes, JSON payload to map).
func BenchmarkDecodeRecord(b *testing.B) {
	eb := benchBus(b)
	e := bus.Event{Topic: "orders", Payload: benchOrder{ID: "ord-0000000001", Amount: 4200, Note: strings.Repeat("x", 54)},
		Metadata: map[string]any{bus.MetadataKeyPartition: "k001"}, CreatedAt: time.Now()}
	pm, err := eb.newRecord(context.Background(), e)
	if err != nil {
		b.Fatal(err)
	}
	cm := &sarama.ConsumerMessage{Topic: "orders", Partition: 3, Offset: 12345, Value: pm.Value.(*byteValue).b}
	for _, h := range pm.Headers {
		h := h
		cm.Headers = append(cm.Headers, &sarama.RecordHeader{Key: append([]byte(nil), h.Key...), Value: append([]byte(nil), h.Value...)})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eb.decodeRecord(cm); err != nil {
			b.Fatal(err)
		}
		_ = entryID(cm)
	}
}
