package redis

import (
	"context"
	"fmt"
	"slices"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

const (
	// pollPage is the most entries one XRANGE of a poll asks for (its
	// COUNT): min(Limit, pollPage).
	pollPage = 1024
	// pollMaxExamined bounds the entries one Poll examines (returned plus
	// rejected by the filter or undecodable), so that a poll with a
	// selective filter over a long stream still returns promptly: it then
	// returns fewer than Limit events, with a cursor past everything it
	// examined. It is also the effective cap on Limit.
	pollMaxExamined = 16384
)

var _ bus.Poller = (*EventBus)(nil)

// Poll reads the events retained in the stream of topic (or, for a
// pattern such as "orders.*", of every matching stream) after
// req.Cursor, without a consumer group: it acknowledges nothing and
// several pollers each read every event. It implements bus.Poller.
//
//   - Positions are Redis stream ids (XRANGE with an exclusive start), so
//     a cursor stays valid after a restart of the engine, and of Redis
//     when it persists its data. "" starts at the oldest retained entry,
//     bus.CursorLatest after the last entry of each stream (the streams a
//     pattern matches later are read from their start).
//   - One topic's events come in stream (publish) order. A pattern's
//     streams are merged by event time (the CloudEvents time attribute,
//     Event.CreatedAt; Redis' millisecond insertion time for an entry
//     without one), then stream id. A pattern's streams are listed with
//     SCAN at every poll.
//   - Events are decoded like a subscription decodes them; entries a
//     subscription would not get either (undecodable, over MaxPayloadBytes)
//     are skipped and reported to the error observer (scope decode).
//     Entries req.Filter rejects are skipped too; the cursor moves past
//     skipped entries.
//   - Gap is set when entries after the cursor were trimmed (retention,
//     maxLen, XTRIM) before this poll read them: the poll continues at the
//     oldest retained entry. Entries removed one by one with XDEL are not
//     detected.
//   - Poll needs Redis 7.0 or later (XINFO STREAM entries-added).
//   - Redis streams have no shards: a non-empty req.Shards is an error
//     wrapping bus.ErrInvalidConsumeRequest.
//   - A poll examines at most 16,384 entries (pages of min(Limit, 1024)
//     entries), so Limit is capped there, and with a selective filter a
//     poll may return fewer events than Limit before the end of the
//     streams: poll again with the returned cursor.
//
// Poll never waits for new entries. A malformed cursor, or one made for
// another topic, gives an error wrapping bus.ErrInvalidCursor. Before
// Start and after Stop it returns bus.ErrEventBusNotStarted; ctx bounds
// the Redis round trips (nil means context.Background()). Safe for
// concurrent use.
func (b *EventBus) Poll(ctx context.Context, topic string, req bus.ConsumeRequest) (bus.ConsumeResponse, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := enginekit.ValidateConsumeRequest(topic, req); err != nil {
		return bus.ConsumeResponse{}, fmt.Errorf("redis engine: poll %q: %w", topic, err)
	}
	if len(req.Shards) > 0 {
		return bus.ConsumeResponse{}, fmt.Errorf("redis engine: poll %q: %w: shards %v: Redis streams have no shards; poll a topic or a topic pattern",
			topic, bus.ErrInvalidConsumeRequest, req.Shards)
	}
	cur := cursorState{pattern: topic, pos: map[string]position{}}
	switch req.Cursor {
	case "", bus.CursorLatest:
	default:
		var err error
		if cur, err = decodeCursor(req.Cursor, topic, b.cfg.Options.SubscriptionMatches); err != nil {
			return bus.ConsumeResponse{}, fmt.Errorf("redis engine: poll %q: %w", topic, err)
		}
	}
	rs := b.run.Load()
	if rs == nil {
		return bus.ConsumeResponse{}, errNotRunning("poll")
	}
	resp, err := b.poll(ctx, rs, topic, req, cur)
	if err != nil {
		if b.run.Load() != rs {
			return bus.ConsumeResponse{}, errNotRunning("poll") // stopped meanwhile: the client is closed
		}
		return bus.ConsumeResponse{}, fmt.Errorf("redis engine: poll %q: %w", topic, err)
	}
	return resp, nil
}

// pollStream is one stream during one Poll.
type pollStream struct {
	key, topic string
	pos        position
	oldest     bool        // read from the oldest retained entry (cursor "")
	merged     bool        // one of several streams: entries need their event time
	buf        []pollEntry // fetched, not consumed yet
	done       bool        // the last fetch came back short: nothing more for now
	gap        bool
}

type pollEntry struct {
	id  streamID
	at  int64 // merge key: event time, Unix ns (see entryTime)
	off uint64
	msg rawEntry
}

// before orders entries of different streams: by event time, then id.
func (e *pollEntry) before(o *pollEntry) bool {
	return e.at < o.at || (e.at == o.at && e.id.less(o.id))
}

// entryTime is an entry's event time (its CloudEvents time attribute) in
// Unix ns, or its stream id's millisecond time when it has none.
func entryTime(m rawEntry, id streamID) int64 {
	if s, ok := m.fields[brokerkit.AttrTime].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixNano()
		}
	}
	return int64(id.ms) * int64(time.Millisecond)
}

// poll runs one Poll. Rounds: fetch a page of every stream whose buffer
// is empty and that may have more, then merge the buffers by event time
// until Limit events are taken, the examination budget is spent, or a
// stream that may have more ran dry (its next page could hold entries
// older than the other streams' buffered ones, so it is fetched first).
func (b *EventBus) poll(ctx context.Context, rs *runState, topic string, req bus.ConsumeRequest, cur cursorState) (bus.ConsumeResponse, error) {
	topics, err := b.pollTopics(ctx, rs, topic)
	if err != nil {
		return bus.ConsumeResponse{}, err
	}
	if req.Cursor == bus.CursorLatest {
		return b.pollLatest(ctx, rs, topics, cur)
	}
	ps := make([]*pollStream, len(topics))
	for i, t := range topics {
		p, known := cur.pos[t]
		ps[i] = &pollStream{key: b.streamKey(t), topic: t, pos: p, oldest: req.Cursor == "" && !known, merged: len(topics) > 1}
	}
	page := min(req.Limit, pollPage)
	var resp bus.ConsumeResponse
	var attrs []brokerkit.Attribute // reused by every entry's decoding
	examined := 0
	for {
		var need []*pollStream
		for _, s := range ps {
			if len(s.buf) == 0 && !s.done {
				need = append(need, s)
			}
		}
		if len(need) > 0 {
			if err := b.pollFetch(ctx, rs, need, page); err != nil {
				return bus.ConsumeResponse{}, err
			}
		}
		stalled := false
		for len(resp.Events) < req.Limit && examined < pollMaxExamined && !stalled {
			var next *pollStream
			for _, s := range ps {
				if len(s.buf) == 0 {
					stalled = stalled || !s.done
					continue
				}
				if next == nil || s.buf[0].before(&next.buf[0]) {
					next = s
				}
			}
			if stalled || next == nil {
				break
			}
			e := next.buf[0]
			next.buf = next.buf[1:]
			next.pos = position{id: e.id, off: e.off, entry: true}
			examined++
			ev, ok := b.pollEvent(next, e.msg, req.Filter, &attrs)
			if ok {
				if resp.Events == nil {
					resp.Events = make([]bus.Event, 0, min(req.Limit, page))
				}
				resp.Events = append(resp.Events, ev)
			}
		}
		if !stalled || len(resp.Events) >= req.Limit || examined >= pollMaxExamined {
			break
		}
	}
	for _, s := range ps {
		cur.pos[s.topic] = s.pos
		resp.Gap = resp.Gap || s.gap
	}
	resp.Cursor = cur.encode()
	return resp, nil
}

// pollTopics returns the topics whose streams a poll of topic reads: the
// topic itself, or a pattern's existing matching streams (SCAN), sorted.
func (b *EventBus) pollTopics(ctx context.Context, rs *runState, topic string) ([]string, error) {
	if !bus.IsPattern(topic) {
		return []string{topic}, nil
	}
	keys, err := b.scanStreams(ctx, rs, topic)
	if err != nil {
		return nil, err
	}
	var topics []string
	for _, k := range keys {
		if t := b.topicOf(k); b.cfg.Options.SubscriptionMatches(topic, t) {
			topics = append(topics, t)
		}
	}
	slices.Sort(topics)
	return slices.Compact(topics), nil // SCAN may return a key twice
}

// pollLatest returns no events and a cursor after the last entry of each
// stream (XINFO STREAM last-generated-id and entries-added).
func (b *EventBus) pollLatest(ctx context.Context, rs *runState, topics []string, cur cursorState) (bus.ConsumeResponse, error) {
	pipe := rs.client.Pipeline()
	cmds := make([]*goredis.XInfoStreamCmd, len(topics))
	for i, t := range topics {
		cmds[i] = pipe.XInfoStream(ctx, b.streamKey(t))
	}
	_, _ = pipe.Exec(ctx) // each command's error is checked below
	for i, t := range topics {
		info, err := cmds[i].Result()
		if isNoSuchKey(err) {
			cur.pos[t] = position{} // created later: read from its start
			continue
		}
		if err != nil {
			return bus.ConsumeResponse{}, fmt.Errorf("XINFO STREAM %s: %w", b.streamKey(t), err)
		}
		last, err := strictStreamID(info.LastGeneratedID)
		if err != nil {
			return bus.ConsumeResponse{}, fmt.Errorf("XINFO STREAM %s: %w", b.streamKey(t), err)
		}
		cur.pos[t] = position{id: last, off: uint64(info.EntriesAdded), entry: info.Length > 0 && info.LastEntry.ID == info.LastGeneratedID}
	}
	return bus.ConsumeResponse{Cursor: cur.encode()}, nil
}

// pollEvent decodes a consumed entry like a subscription does and applies
// the filter; false when the entry is skipped. Entries are decoded on the
// caller's goroutine as they are consumed: decoding a page on two
// goroutines was measured slower on a loaded 2-core machine (BenchmarkPoll).
//
// attrs is scratch space for the entry's attributes, kept for the next
// entry: nothing decoded refers to it.
func (b *EventBus) pollEvent(s *pollStream, m rawEntry, f *bus.Filter, attrs *[]brokerkit.Attribute) (bus.Event, bool) {
	if m.fields == nil {
		return bus.Event{}, false
	}
	bm := borrowedMessage(m.fields, *attrs)
	*attrs = bm.Attributes
	if err := b.cfg.Options.CheckPayload(s.topic, len(bm.Data)); err != nil {
		b.errs.Report(broker.ScopeDecode, fmt.Errorf("poll: entry %s of %s skipped: %w", m.id, s.key, err))
		return bus.Event{}, false
	}
	env, err := decodeBorrowed(bm)
	if err != nil {
		b.errs.Report(broker.ScopeDecode, fmt.Errorf("poll: entry %s of %s skipped: %w", m.id, s.key, err))
		return bus.Event{}, false
	}
	env.Event.Topic = s.topic
	if f != nil && !f.Match(env.Event) {
		return bus.Event{}, false
	}
	return env.Event, true
}
