package bus

import (
	"context"
	"errors"
)

// ErrEventFiltered is returned by a FilteredHandler for an event its
// filter rejects. Every engine treats that result as neither a delivery
// nor a failure: it counts the event in EngineStats.Filtered, does not
// retry or dead-letter it, and acknowledges it on broker engines. A
// handler may return it itself (bare or wrapped) to skip an event the same
// way.
var ErrEventFiltered = errors.New("event rejected by the subscription's filter")

// FilteredHandler returns a handler that calls h for the events f matches
// and returns ErrEventFiltered for the others, without calling h. It is
// the way to give a subscription a filter on the module, the router and
// every engine:
//
//	bus.Subscribe(ctx, "orders.*", eventbus.FilteredHandler(filter, handle))
//
// A nil h gives a nil handler, so Subscribe reports ErrEventHandlerNil.
func FilteredHandler(f Filter, h EventHandler) EventHandler {
	if h == nil {
		return nil
	}
	return func(ctx context.Context, event Event) error {
		if !f.Match(event) {
			return ErrEventFiltered
		}
		return h(ctx, event)
	}
}

// IsFiltered reports whether a handler's result means the event was
// filtered out (ErrEventFiltered, bare or wrapped) rather than handled or
// failed. Engines call it where they count a handler call's outcome.
func IsFiltered(err error) bool {
	return err != nil && (err == ErrEventFiltered || errors.Is(err, ErrEventFiltered))
}
