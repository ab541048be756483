package broker

import (
	"context"
	"sync"
)

// Delivery describes one received event while its handler runs. Engines
// put it in the handler's context (WithDelivery); handlers read it with
// DeliveryFrom, and in AckManual mode acknowledge through it.
type Delivery struct {
	// ID is the CloudEvents id: the same on every redelivery of one
	// published event, so handlers can de-duplicate with it.
	ID string
	// EntryID is the broker's id of the entry (Redis stream entry id,
	// Kafka "partition/offset", Kinesis sequence number).
	EntryID string
	// Topic is the event's topic; Subscription the subscription id.
	Topic, Subscription string
	// Attempt is the handler call number for this event in this process,
	// from 1 (retries count up; a broker redelivery starts again at 1).
	Attempt int
	// Redelivered is set when the broker handed the event over again
	// (claimed from a crashed consumer, or re-read after a restart).
	Redelivered bool
	// CloudEvent holds the event's CloudEvents attributes as its producer
	// wrote them (type, source, subject…; see EventAttributes). Set by
	// the engine before the handler runs.
	CloudEvent Attributes

	mode    AckMode
	ackOnce sync.Once
	ackFn   func() error
	ackErr  error
}

// NewDelivery returns a Delivery whose Ack runs ack (at most once). The
// engine's ack must be safe to call from any goroutine, at any time,
// including after the handler returned.
func NewDelivery(mode AckMode, ack func() error) *Delivery {
	return &Delivery{mode: mode, ackFn: ack}
}

// Ack acknowledges the event to the broker, in AckManual mode; it returns
// ErrNotManual in the other modes (the engine acks then). Calling it again
// returns the first call's result. Safe for concurrent use; may be called
// after the handler returned, from any goroutine.
func (d *Delivery) Ack() error {
	if d.mode != AckManual {
		return ErrNotManual
	}
	return d.settle()
}

// SetAckMode sets the ack mode the handler's Ack honours. Engines (their
// dispatcher) call it before the handler runs; handlers never need it.
func (d *Delivery) SetAckMode(m AckMode) { d.mode = m }

// settle runs the engine's ack once.
func (d *Delivery) settle() error {
	d.ackOnce.Do(func() {
		if d.ackFn != nil {
			d.ackErr = d.ackFn()
		}
	})
	return d.ackErr
}

// Settle is Ack for the engine: it acks regardless of the mode, at most
// once (a manual Ack and an engine Settle never both reach the broker).
func (d *Delivery) Settle() error { return d.settle() }

type deliveryKey struct{}

// WithDelivery returns ctx carrying d.
func WithDelivery(ctx context.Context, d *Delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

// DeliveryFrom returns the Delivery of a broker engine's handler context.
func DeliveryFrom(ctx context.Context) (*Delivery, bool) {
	d, ok := ctx.Value(deliveryKey{}).(*Delivery)
	return d, ok && d != nil
}

// Ack acknowledges the event whose handler context is ctx (AckManual mode).
// It returns ErrNoDelivery when ctx is not such a context and ErrNotManual
// when the subscription's ack mode is not manual.
func Ack(ctx context.Context) error {
	d, ok := DeliveryFrom(ctx)
	if !ok {
		return ErrNoDelivery
	}
	return d.Ack()
}
