package sharded

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/switchyard-go/eventbus/bus"
)

// Poll reads the retained events of topic (a pattern, as for Subscribe:
// see bus.MatchTopic) after req.Cursor, without waiting and without
// affecting subscriptions (bus.Poller). It needs Config.RetainEvents > 0;
// otherwise it returns an error wrapping bus.ErrPollUnsupported.
//
// What it reads: the last RetainEvents events of each shard, logged by the
// shard's worker when it takes them from the ring (so an event is
// visible shortly after Publish returns, and certainly once Flush has
// returned), plus the logs of the shards a resize or a restart replaced,
// until the next resize or restart. Events of several shards are merged
// by CreatedAt (ties by shard id); one shard's events, so one partition
// key's, come in publish order.
//
// The cursor holds the next ring position of each shard. It is valid for
// this engine value and topic pattern only (anything else is
// ErrInvalidCursor); it stays valid across Resize and Stop/Start: the
// replaced shards' logs are read to their end, then the new ones. Gap is
// set when a position the cursor points at was overwritten (more than
// RetainEvents newer events in that shard) or belongs to a log dropped
// since (two resizes or restarts later); the poll continues from the
// oldest event still retained there. req.Shards names shard ids (see
// Metrics().Shards, or the retained logs of replaced shards); an id whose
// log is not retained is an error wrapping bus.ErrInvalidConsumeRequest.
//
// Returned events share their Payload and Metadata with the handlers and
// with later polls: do not modify them. Safe for concurrent use, also on
// a stopped engine (it reads what was retained). A done ctx ends the poll
// with ctx's error.
func (b *EventBus) Poll(ctx context.Context, topic string, req bus.ConsumeRequest) (bus.ConsumeResponse, error) {
	if err := bus.ValidateConsumeRequest(topic, req); err != nil {
		return bus.ConsumeResponse{}, fmt.Errorf("sharded engine: poll %q: %w", topic, err)
	}
	if b.replay == nil {
		return bus.ConsumeResponse{}, fmt.Errorf("sharded engine: poll %q: retainEvents is 0 (no replay log): %w", topic, bus.ErrPollUnsupported)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return bus.ConsumeResponse{}, fmt.Errorf("sharded engine: poll %q: %w", topic, err)
	}
	p := poller{eng: b, topic: topic, req: req, logs: b.replay.logs()}
	if err := p.start(); err != nil {
		return bus.ConsumeResponse{}, err
	}
	defer p.release()
	if err := p.run(ctx); err != nil {
		return bus.ConsumeResponse{}, err
	}
	return p.resp, nil
}

// pollChunk bounds how many entries a poll copies from one log at a time
// (under the log's read lock, which the worker's append waits for).
const pollChunk = 512

// chunks recycles the per-log copy buffers of polls: a poll would
// otherwise allocate tens of kilobytes, and on a heap as large as the
// retained events that means frequent, long garbage collections.
var chunks = sync.Pool{New: func() any { b := make([]replayEntry, 0, pollChunk); return &b }}

// release clears the sources' buffers (they reference payloads) and
// returns them to the pool.
func (p *poller) release() {
	for _, s := range p.srcs {
		full := s.full
		clear(full[:cap(s.buf)])
		chunks.Put(&full)
		s.buf, s.full = nil, nil
	}
}

// source is one log being read by a poll.
type source struct {
	log  *replayLog
	pos  uint64        // next position to read
	buf  []replayEntry // a prefix of full, from the pool
	full []replayEntry
	i    int  // next entry of buf
	done bool // nothing more retained after pos
}

// poller is the state of one Poll call.
type poller struct {
	eng   *EventBus
	topic string
	req   bus.ConsumeRequest
	logs  []*replayLog
	srcs  []*source
	// keep holds cursor positions of shards this poll does not read
	// (outside req.Shards): the returned cursor carries them unchanged.
	keep map[int]uint64
	// oldest: the request's cursor is "": no gap is reported for
	// starting at the oldest retained event.
	oldest bool
	resp   bus.ConsumeResponse
}

// start decodes the cursor and sets each selected log's position.
func (p *poller) start() error {
	reg := p.eng.replay
	var pos map[int]uint64
	switch p.req.Cursor {
	case "":
		p.oldest = true
	case bus.CursorLatest:
		pos = make(map[int]uint64, len(p.logs))
		for _, l := range p.logs {
			t, _ := l.shard.finalTail()
			pos[l.id] = max(t, l.end())
		}
	default:
		c, err := decodeCursor(p.req.Cursor, reg.nonce, p.topic)
		if err != nil {
			return err
		}
		pos = c.pos
	}
	byID := make(map[int]*replayLog, len(p.logs))
	for _, l := range p.logs {
		byID[l.id] = l
	}
	for id, at := range pos {
		if byID[id] != nil {
			continue
		}
		end, ok, known := reg.dropped(id)
		switch {
		case !known:
			return fmt.Errorf("sharded engine: poll %q: cursor names shard %d, which this engine never had: %w", p.topic, id, bus.ErrInvalidCursor)
		case !ok || at < end:
			p.resp.Gap = true // the rest of that shard's log was dropped
		}
	}
	selected := p.logs
	if len(p.req.Shards) > 0 {
		selected = nil
		for _, id := range p.req.Shards {
			l := byID[id]
			if l == nil {
				ids := make([]int, 0, len(p.logs))
				for _, l := range p.logs {
					ids = append(ids, l.id)
				}
				return fmt.Errorf("sharded engine: poll %q: shard %d is not retained (retained shards: %v): %w", p.topic, id, ids, bus.ErrInvalidConsumeRequest)
			}
			if !slices.Contains(selected, l) {
				selected = append(selected, l)
			}
		}
		p.keep = map[int]uint64{}
		for id, at := range pos {
			if l := byID[id]; l != nil && !slices.Contains(selected, l) {
				p.keep[id] = at
			}
		}
	}
	// Each log gives about Limit/len(selected) events to a page; a
	// filter that rejects events makes the poll refill, a chunk at a time.
	chunk := min(max(p.req.Limit/max(len(selected), 1)+16, 32), pollChunk)
	for _, l := range selected {
		buf := *chunks.Get().(*[]replayEntry)
		p.srcs = append(p.srcs, &source{log: l, pos: pos[l.id], buf: buf[:0:chunk], full: buf[:0]})
	}
	return nil
}

// fill refills a source whose buffer is consumed; it reports whether the
// source has an entry to offer.
func (p *poller) fill(s *source) bool {
	if s.i < len(s.buf) {
		return true
	}
	if s.done {
		return false
	}
	buf, gap, from, _ := s.log.read(s.pos, s.buf[:0])
	if gap && !(p.oldest && s.pos == 0) {
		p.resp.Gap = true
	}
	s.buf, s.i, s.pos = buf, 0, from
	if len(buf) == 0 {
		s.done = true
		return false
	}
	return true
}

// run merges the selected logs by CreatedAt (then shard id), keeping the
// events the topic pattern and the filter select, until Limit events are
// kept or every log is read to its end.
func (p *poller) run(ctx context.Context) error {
	f := p.req.Filter
	if f != nil && f.Err() != nil {
		return fmt.Errorf("sharded engine: poll %q: %w", p.topic, f.Err())
	}
	for n := 0; len(p.resp.Events) < p.req.Limit; n++ {
		if n%4096 == 4095 && ctx.Err() != nil {
			return fmt.Errorf("sharded engine: poll %q: %w", p.topic, ctx.Err())
		}
		var next *source
		for _, s := range p.srcs {
			if !p.fill(s) {
				continue
			}
			if next == nil || earlier(&s.buf[s.i], s.log.id, &next.buf[next.i], next.log.id) {
				next = s
			}
		}
		if next == nil {
			break
		}
		e := &next.buf[next.i]
		next.i++
		next.pos = e.pos + 1
		if !bus.MatchTopic(p.topic, e.topic) {
			continue
		}
		if ev := e.event(); f == nil || f.Match(ev) {
			if p.resp.Events == nil {
				p.resp.Events = make([]bus.Event, 0, min(p.req.Limit, 1024))
			}
			p.resp.Events = append(p.resp.Events, ev)
		}
	}
	c := pollCursor{pos: make(map[int]uint64, len(p.srcs)+len(p.keep))}
	for id, at := range p.keep {
		c.pos[id] = at
	}
	for _, s := range p.srcs {
		c.pos[s.log.id] = s.pos
	}
	p.resp.Cursor = c.encode(p.eng.replay.nonce, p.topic)
	return nil
}

// earlier orders two entries of different shards: by CreatedAt, then by
// shard id (ids grow with each resize, so a key that moved shards keeps
// its order when the clock ties).
func earlier(a *replayEntry, aID int, b *replayEntry, bID int) bool {
	if a.created != b.created {
		return a.created < b.created
	}
	return aID < bID
}

var _ bus.Poller = (*EventBus)(nil)
