package broker

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/switchyard-go/eventbus/bus"
)

// DecodePayload returns e.Payload as a T, the same T whichever engine
// delivered e (eventbus.PayloadAs is the same function under the root
// package's name):
//
//   - a Payload that already is a T is returned as is, with no copy and
//     no allocation (in-process engines hand over the published value);
//   - a Payload that is a *T is dereferenced (a nil *T gives the zero T),
//     and when T is a pointer *U, a Payload that is a U is returned as a
//     pointer to a copy — what a broker engine's JSON round trip gives;
//   - []byte and json.RawMessage payloads are parsed as JSON into T
//     (unless T is []byte or json.RawMessage: then the first rule applies);
//   - any other value (the decoded JSON a broker engine hands over:
//     map[string]any, []any, float64, string, bool, nil) is re-encoded to
//     JSON and decoded into T, so struct tags apply.
//
// An error wraps ErrPayloadDecode and, where there is one, the
// encoding/json error (errors.As with *json.UnmarshalTypeError works); it
// names the topic, the payload's type and T.
//
//	order, err := broker.DecodePayload[Order](event)
func DecodePayload[T any](e bus.Event) (T, error) {
	var zero T
	if v, ok := e.Payload.(T); ok {
		return v, nil
	}
	if p, ok := e.Payload.(*T); ok {
		if p == nil {
			return zero, nil
		}
		return *p, nil
	}
	if v, ok := pointerTo[T](e.Payload); ok {
		return v, nil
	}
	var raw []byte
	switch p := e.Payload.(type) {
	case json.RawMessage:
		raw = p
	case []byte:
		raw = p
	default:
		b, err := json.Marshal(p)
		if err != nil {
			return zero, fmt.Errorf("%w: topic %q: encode payload %T: %w", ErrPayloadDecode, e.Topic, e.Payload, err)
		}
		raw = b
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return zero, fmt.Errorf("%w: topic %q: payload %T into %T: %w", ErrPayloadDecode, e.Topic, e.Payload, out, err)
	}
	return out, nil
}

// pointerTo returns a pointer to a copy of payload when T is *U and
// payload is a U.
func pointerTo[T any](payload any) (T, bool) {
	var zero T
	t := reflect.TypeFor[T]()
	if payload == nil || t.Kind() != reflect.Pointer || reflect.TypeOf(payload) != t.Elem() {
		return zero, false
	}
	p := reflect.New(t.Elem())
	p.Elem().Set(reflect.ValueOf(payload))
	return p.Interface().(T), true
}
