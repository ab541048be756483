package core

import (
	"context"
	"fmt"

	"github.com/switchyard-go/eventbus/broker"
)

// ErrPayloadDecode is wrapped by PayloadAs and by the handlers
// PayloadHandler builds when an event's payload cannot be turned into the
// requested type. It is broker.ErrPayloadDecode (errors.Is works with
// either name).
var ErrPayloadDecode = broker.ErrPayloadDecode

// PayloadAs returns the event's payload as a T, and gives the same T
// whichever engine delivered the event, so a topic can move between
// engines in the configuration without touching its handlers.
//
// The in-process engines (sharded, memory, custom) hand handlers the
// value that was published; the broker engines (redis, kafka, kinesis)
// carry it as JSON and hand over the decoded JSON (map[string]any, []any,
// float64, string, bool or nil), or the raw bytes of a []byte payload.
// PayloadAs bridges the two:
//
//   - a payload that already is a T is returned as is: no copy, no
//     allocation, no JSON (the in-process fast path);
//   - a payload that is a *T is dereferenced (a nil *T gives the zero T);
//     with T = *U, a payload that is a U is returned as a pointer to a
//     copy. Both are what the JSON round trip gives on a broker engine.
//     A *T payload asked for as *T is the publisher's own pointer, shared
//     by every in-process subscriber: treat it as read-only;
//   - []byte and json.RawMessage payloads are parsed as JSON into T;
//   - anything else is encoded to JSON and decoded into T (encoding/json,
//     so struct tags apply).
//
// The results are equal on every engine for types that survive an
// encoding/json round trip: exported fields only, no `json:"-"` field the
// handler relies on, time.Time compared with Equal. Numbers cross broker
// engines as float64, so integers beyond ±2^53 lose precision there: tag
// such fields `json:",string"`. Asking for an interface type (any) returns
// the payload as delivered, which differs between engines.
//
// The error, when the payload cannot become a T, wraps ErrPayloadDecode
// and the encoding/json error, and names the topic, the payload's type
// and T.
//
//	bus.Subscribe(ctx, "order.placed", func(ctx context.Context, e eventbus.Event) error {
//		order, err := eventbus.PayloadAs[Order](e)
//		if err != nil {
//			return err
//		}
//		...
//	})
func PayloadAs[T any](e Event) (T, error) { return broker.DecodePayload[T](e) }

// PayloadHandler returns an EventHandler that decodes each event's payload
// with PayloadAs[T] and calls h with it. When the payload does not decode,
// h is not called and the handler returns the error (wrapping
// ErrPayloadDecode): the engine counts a failed call, and broker engines
// retry it and then dead-letter the event, as for any handler error.
//
//	bus.Subscribe(ctx, "order.placed", eventbus.PayloadHandler(
//		func(ctx context.Context, e eventbus.Event, o Order) error { ... }))
//
// A nil h gives a nil EventHandler, which Subscribe refuses with
// ErrEventHandlerNil.
func PayloadHandler[T any](h func(ctx context.Context, e Event, payload T) error) EventHandler {
	if h == nil {
		return nil
	}
	return func(ctx context.Context, e Event) error {
		v, err := PayloadAs[T](e)
		if err != nil {
			return fmt.Errorf("eventbus: handler of %q: %w", e.Topic, err)
		}
		return h(ctx, e, v)
	}
}
