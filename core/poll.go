package core

import (
	"context"
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// ConsumeRequest asks Poll for the next events of a topic; see
// bus.ConsumeRequest.
type ConsumeRequest = bus.ConsumeRequest

// ConsumeResponse is what one Poll returns; see bus.ConsumeResponse.
type ConsumeResponse = bus.ConsumeResponse

// Poller is implemented by engines that read topics on demand; see
// bus.Poller.
type Poller = bus.Poller

// Filter selects events by their payload; see bus.Filter.
type Filter = bus.Filter

// CursorLatest starts a poll at the end of the topic; see
// bus.CursorLatest.
const CursorLatest = bus.CursorLatest

// Poll and filter errors, identical to the bus package's values.
var (
	ErrPollUnsupported       = bus.ErrPollUnsupported
	ErrInvalidCursor         = bus.ErrInvalidCursor
	ErrInvalidConsumeRequest = bus.ErrInvalidConsumeRequest
	ErrInvalidFilter         = bus.ErrInvalidFilter
	ErrEventFiltered         = bus.ErrEventFiltered
)

// Eq matches events whose payload has value at path; see bus.Eq.
func Eq(path string, value any) Filter { return bus.Eq(path, value) }

// And matches events every filter matches; see bus.And.
func And(filters ...Filter) Filter { return bus.And(filters...) }

// Or matches events at least one filter matches; see bus.Or.
func Or(filters ...Filter) Filter { return bus.Or(filters...) }

// Not matches events f does not match; see bus.Not.
func Not(f Filter) Filter { return bus.Not(f) }

// ParseFilter reads a filter's JSON form; see bus.ParseFilter.
func ParseFilter(data []byte) (Filter, error) { return bus.ParseFilter(data) }

// FilteredHandler calls handler only for the events f matches; see
// bus.FilteredHandler.
func FilteredHandler(f Filter, handler EventHandler) EventHandler {
	return bus.FilteredHandler(f, handler)
}

// Poll reads the events of topic (a pattern, as for Subscribe) after
// req.Cursor from the engine the pattern routes to, without waiting and
// without joining a consumer group; see bus.Poller. An engine that cannot
// poll gives an error wrapping ErrPollUnsupported and naming the engine.
func (r *EngineRouter) Poll(ctx context.Context, topic string, req ConsumeRequest) (ConsumeResponse, error) {
	ctx = orBackground(ctx)
	if err := enginekit.ValidateConsumeRequest(topic, req); err != nil {
		return ConsumeResponse{}, err
	}
	e := r.route(topic)
	p, ok := e.bus.(bus.Poller)
	if !ok {
		return ConsumeResponse{}, fmt.Errorf("engine %q (%s): %w", e.name, e.typ, ErrPollUnsupported)
	}
	resp, err := p.Poll(ctx, topic, req)
	if err != nil {
		if isBareSentinel(err) {
			return resp, err
		}
		return resp, fmt.Errorf("engine %q: %w", e.name, err)
	}
	return resp, nil
}

// Poll reads the events of topic after req.Cursor from the engine the
// topic routes to; see EngineRouter.Poll and docs/poll.md.
func (m *EventBusModule) Poll(ctx context.Context, topic string, req ConsumeRequest) (ConsumeResponse, error) {
	if m.router == nil {
		return ConsumeResponse{}, ErrNotInitialized
	}
	return m.router.Poll(ctx, topic, req)
}
