package eventbus

import "github.com/switchyard-go/eventbus/core"

// ConsumeRequest asks Poll for the next events of a topic: Limit, an
// opaque Cursor ("" = oldest retained, CursorLatest = only later events),
// an optional Filter and an optional subset of Shards. See docs/poll.md.
type ConsumeRequest = core.ConsumeRequest

// ConsumeResponse is what one Poll returns: the Events, the Cursor to
// continue from, and Gap when the request's cursor pointed at events no
// longer retained.
type ConsumeResponse = core.ConsumeResponse

// Poller is implemented by engines that read topics on demand.
type Poller = core.Poller

// Filter selects events by their payload's JSON form; build it with Eq,
// And, Or and Not or read it with ParseFilter. The zero Filter matches
// every event.
type Filter = core.Filter

// CursorLatest is the cursor that makes Poll return only events
// published after the call.
const CursorLatest = core.CursorLatest

// Poll and filter errors, identical to the bus package's values.
var (
	// ErrPollUnsupported: the engine the topic routes to cannot poll.
	ErrPollUnsupported = core.ErrPollUnsupported
	// ErrInvalidCursor: a cursor this engine did not produce for this
	// topic.
	ErrInvalidCursor = core.ErrInvalidCursor
	// ErrInvalidConsumeRequest: a Limit below 1 or a shard that does not
	// exist.
	ErrInvalidConsumeRequest = core.ErrInvalidConsumeRequest
	// ErrInvalidFilter: filter JSON that cannot be read, or a filter
	// value without a JSON form.
	ErrInvalidFilter = core.ErrInvalidFilter
	// ErrEventFiltered: returned by a FilteredHandler for an event its
	// filter rejects; engines count such events as filtered.
	ErrEventFiltered = core.ErrEventFiltered
)

// Eq matches events whose payload has value at path (dot-separated;
// numeric segments index arrays), comparing JSON forms structurally.
func Eq(path string, value any) Filter { return core.Eq(path, value) }

// And matches events every filter matches.
func And(filters ...Filter) Filter { return core.And(filters...) }

// Or matches events at least one filter matches.
func Or(filters ...Filter) Filter { return core.Or(filters...) }

// Not matches events f does not match.
func Not(f Filter) Filter { return core.Not(f) }

// ParseFilter reads a filter's JSON form ({"path": value}, "$and",
// "$or", "$not"); errors say where.
func ParseFilter(data []byte) (Filter, error) { return core.ParseFilter(data) }

// FilteredHandler calls handler only for the events f matches; the others
// are counted as filtered by the engine. It gives a subscription a
// filter on the module, the router and every engine.
func FilteredHandler(f Filter, handler EventHandler) EventHandler {
	return core.FilteredHandler(f, handler)
}
