package broker

import (
	"errors"
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
)

// Sentinel errors of the toolkit. Test with errors.Is.
var (
	// ErrInvalidOption is wrapped by Options.Validate (and by engines'
	// config validation) for a value out of range; the message names the
	// field and the value.
	ErrInvalidOption = errors.New("invalid option")

	// ErrMalformed is wrapped by DecodeBinary and DecodeStructured when a
	// received entry is not a CloudEvent this codec can read (missing
	// required attribute, undecodable JSON data). Engines dead-letter such
	// entries at once and ack them: no poison loop.
	ErrMalformed = errors.New("malformed event")

	// ErrBatchedMode is wrapped (with ErrMalformed) by DecodeStructured
	// and DecodeMessage for a message in the CloudEvents batched content
	// mode (application/cloudevents-batch+json), which the engines do not
	// read: such an entry is dead-lettered with this reason.
	ErrBatchedMode = errors.New("batched content mode (application/cloudevents-batch+json) is not supported: send one event per message")

	// ErrPayloadTooLarge is bus.ErrPayloadTooLarge, re-exported: Publish
	// returns an error wrapping it (a *PayloadSizeError) when the encoded
	// data exceeds Options.MaxPayloadBytes.
	ErrPayloadTooLarge = bus.ErrPayloadTooLarge

	// ErrNotManual is returned by Delivery.Ack when the subscription is
	// not in AckManual mode: the engine acknowledges on its own then.
	ErrNotManual = errors.New("ack mode is not manual")

	// ErrNoDelivery is returned by Ack when ctx is not a handler context
	// of a broker engine.
	ErrNoDelivery = errors.New("context carries no broker delivery")

	// ErrPayloadDecode is wrapped by DecodePayload (and eventbus.PayloadAs)
	// when an event's payload cannot be turned into the requested type.
	ErrPayloadDecode = errors.New("payload does not decode into the requested type")
)

// PayloadSizeError reports an event whose encoded data exceeds the limit.
// It wraps ErrPayloadTooLarge (bus.ErrPayloadTooLarge).
type PayloadSizeError struct {
	Topic string // the event's topic
	Size  int    // encoded data size in bytes
	Limit int    // Options.MaxPayloadBytes
}

func (e *PayloadSizeError) Error() string {
	return fmt.Sprintf("topic %q: payload of %d bytes exceeds maxPayloadBytes %d: %v", e.Topic, e.Size, e.Limit, ErrPayloadTooLarge)
}

// Unwrap lets errors.Is(err, bus.ErrPayloadTooLarge) match.
func (e *PayloadSizeError) Unwrap() error { return ErrPayloadTooLarge }

// invalid returns an error wrapping ErrInvalidOption that names the field
// and the value.
func invalid(field string, value any, why string) error {
	return fmt.Errorf("%w: %s: %v: %s", ErrInvalidOption, field, value, why)
}
