package bus

import (
	"context"
	"errors"
)

// CursorLatest is the cursor that starts a poll at the end of the topic:
// the first Poll with it returns no events (whatever was published before
// the call is skipped) and a cursor positioned after the last retained
// event, so the next Poll returns only events published after the first.
const CursorLatest = "latest"

// ConsumeRequest asks Poll for the next events of a topic.
type ConsumeRequest struct {
	// Limit is the most events one Poll returns; it must be > 0. Engines
	// may cap it (each engine documents its cap).
	Limit int

	// Cursor says where to continue: "" reads from the oldest event still
	// retained, CursorLatest from the end, and any other value must be a
	// Cursor returned by an earlier Poll of the same engine and topic
	// pattern, handed back unchanged.
	Cursor string

	// Filter, when not nil, selects the events returned: events it
	// rejects are skipped (the returned cursor moves past them, and they
	// do not count against Limit).
	Filter *Filter

	// Shards, when not empty, restricts the poll to these shards: shard
	// ids for the sharded engine, partitions for Kafka, shard indexes
	// (position in the stream's shard list, in the order ListShards
	// returns them) for Kinesis. An id that does not exist is an error.
	Shards []int
}

// ConsumeResponse is what one Poll returns.
type ConsumeResponse struct {
	// Events are the events read, at most Limit of them: one partition
	// key's events in publish order; events of different shards or
	// partitions merged by creation time.
	Events []Event

	// Cursor continues exactly after the last event returned (or, when
	// no event was returned, where this poll stopped looking). Persist it
	// and hand it back unchanged: it is the only state at-least-once
	// resumption needs.
	Cursor string

	// Gap reports that the request's cursor pointed at events the engine
	// no longer retains (trimmed, expired or evicted): the poll skipped
	// ahead to the oldest event still retained.
	Gap bool
}

// Poller is implemented by engines that can read a topic on demand
// (cursored consumption) rather than only push events to handlers.
//
// Poll never waits for events: it returns what is retained after the
// cursor, possibly none, with a cursor to continue from. It does not join
// a consumer group and does not acknowledge anything: several pollers
// with their own cursors each read every event. topic may be a pattern
// (see MatchTopic); a pattern polls every matching topic the engine
// retains. A nil ctx is treated as context.Background().
type Poller interface {
	Poll(ctx context.Context, topic string, req ConsumeRequest) (ConsumeResponse, error)
}

var (
	// ErrPollUnsupported is wrapped by the error Poll returns on an engine
	// (or an engine configuration) that cannot read topics on demand, for
	// example the memory engine or the sharded engine with retainEvents
	// set to 0.
	ErrPollUnsupported = errors.New("poll not supported")

	// ErrInvalidCursor is wrapped by the error Poll returns for a cursor
	// that this engine did not produce for this topic (malformed,
	// truncated, or from another engine or topic).
	ErrInvalidCursor = errors.New("invalid cursor")

	// ErrInvalidConsumeRequest is wrapped by the error Poll returns for a
	// request it cannot serve: a Limit below 1, or a shard id that does
	// not exist.
	ErrInvalidConsumeRequest = errors.New("invalid consume request")
)
