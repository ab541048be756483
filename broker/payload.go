package broker

import (
	"encoding/json"
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
)

// DecodePayload returns e.Payload as a T. A Payload that already is a T is
// returned as is (in-process engines hand over the published value);
// []byte and json.RawMessage payloads are parsed as JSON into T (unless T
// is []byte); any other value (the decoded JSON a broker engine hands
// over) is re-encoded to JSON and decoded into T, so struct tags apply.
//
//	order, err := broker.DecodePayload[Order](event)
func DecodePayload[T any](e bus.Event) (T, error) {
	var zero T
	if v, ok := e.Payload.(T); ok {
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
			return zero, fmt.Errorf("topic %q: payload %T: %w", e.Topic, e.Payload, err)
		}
		raw = b
	}
	var out T
	if err := json.Unmarshal(raw, &out); err != nil {
		return zero, fmt.Errorf("topic %q: decode payload into %T: %w", e.Topic, out, err)
	}
	return out, nil
}
