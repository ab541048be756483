package broker

import (
	"context"
	"time"
)

// Attributes are the CloudEvents context attributes of a received event,
// as its producer wrote them. bus.Event has room for the topic, the
// payload, the extensions (Metadata) and the time (CreatedAt) only; a
// handler reads the rest with EventAttributes. For events published by
// Switchyard, Type and Subject are the topic and Source is
// Options.Source; an event of another producer keeps its own.
type Attributes struct {
	// SpecVersion is the CloudEvents version ("1.0").
	SpecVersion string
	// ID is the CloudEvents id (unique per Publish).
	ID string
	// Source and Type are the source and type attributes.
	Source, Type string
	// Subject is the subject attribute ("" when absent).
	Subject string
	// Time is the time attribute (zero when absent).
	Time time.Time
	// DataContentType is the datacontenttype attribute ("" when absent).
	DataContentType string
	// DataSchema is the dataschema attribute ("" when absent).
	DataSchema string
}

// EventAttributes returns the CloudEvents attributes of the event whose
// handler context is ctx, on every broker engine (Redis, Kafka, Kinesis).
// ok is false when ctx is not a broker engine's handler context.
//
//	func handle(ctx context.Context, e eventbus.Event) error {
//		if ce, ok := broker.EventAttributes(ctx); ok && ce.Type == "com.example.order.placed" { … }
//	}
func EventAttributes(ctx context.Context) (Attributes, bool) {
	d, ok := DeliveryFrom(ctx)
	if !ok {
		return Attributes{}, false
	}
	return d.CloudEvent, true
}
