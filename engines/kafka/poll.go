package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// Poll reads the events of topic after req.Cursor without joining a
// consumer group and without committing anything (bus.Poller): several
// pollers, each with its own cursor, each read every event, and
// subscriptions are not affected.
//
// Positions are Kafka offsets, per partition. The cursor Poll returns
// holds the next offset of every partition it knows (an opaque, versioned
// string that stays valid across restarts of the process and the
// engine): "" starts at the oldest retained record of every partition,
// bus.CursorLatest at the current end of every partition (the poll returns
// no events), and a partition the cursor does not name (created since)
// starts at its oldest record. When the cursor's offset of a partition is
// no longer in the log (deleted by retention or DeleteRecords, or the
// topic was recreated), the poll continues at the oldest retained offset
// and sets Gap.
//
// topic may be a pattern ("orders.*"): the poll reads every matching
// topic (the rules of wildcard subscriptions: dead-letter topics only
// when the pattern names their prefix, internal "__" topics never),
// re-reading the topic list at most every topicRefreshInterval. A
// cursor may continue as a poll of a pattern that matches all its topics;
// otherwise, or when malformed, the error wraps bus.ErrInvalidCursor.
// req.Shards are partition ids (of every matched topic); one that no
// matched topic has gives an error wrapping bus.ErrInvalidConsumeRequest.
// The other partitions keep their positions in the returned cursor.
//
// Records are decoded as subscribers receive them; undecodable and
// oversized ones are skipped (and reported under ScopeDecode), as are
// those req.Filter rejects: the cursor moves past them. Events of one
// partition (so of one partition key) come in offset order; the
// partitions' events are merged by creation time. At most req.Limit events
// are returned, from one fetch per partition leader: fewer when fewer are
// there, possibly none.
//
// Poll does not wait for events: each leader is asked once for what it
// has, with a wait of at most a few milliseconds when it has nothing (a
// gap or a leadership change costs another round). ctx is checked between
// requests; a request in flight is bounded by the client's network
// timeouts. It is safe for concurrent use; a nil ctx is
// context.Background(). Before Start or after Stop it returns
// bus.ErrEventBusNotStarted; Stop waits for the polls in flight and closes
// the connection they share.
func (b *EventBus) Poll(ctx context.Context, topic string, req bus.ConsumeRequest) (bus.ConsumeResponse, error) {
	if err := enginekit.ValidateConsumeRequest(topic, req); err != nil {
		return bus.ConsumeResponse{}, fmt.Errorf("kafka engine: poll %q: %w", topic, err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	b.gate.RLock() // Stop waits for polls in flight before closing the client
	defer b.gate.RUnlock()
	r, err := b.running()
	if err != nil {
		return bus.ConsumeResponse{}, err
	}
	pos := positions{}
	if req.Cursor != "" && req.Cursor != bus.CursorLatest {
		if pos, err = decodeCursor(topic, req.Cursor, b.opts.SubscriptionMatches); err != nil {
			return bus.ConsumeResponse{}, err
		}
	}
	pc, err := r.poller()
	if err != nil {
		return bus.ConsumeResponse{}, err
	}
	layout, err := pc.layout(topic)
	if err != nil {
		return bus.ConsumeResponse{}, fmt.Errorf("kafka engine: poll %q: %w", topic, err)
	}
	parts, err := selectParts(topic, layout, req.Shards)
	if err != nil {
		return bus.ConsumeResponse{}, err
	}

	if req.Cursor == bus.CursorLatest {
		// Every partition, selected or not: the cursor is "now" for
		// the whole pattern.
		all, _ := selectParts(topic, layout, nil)
		newest, err := pc.offsets(all, sarama.OffsetNewest)
		if err != nil {
			return bus.ConsumeResponse{}, fmt.Errorf("kafka engine: poll %q: %w", topic, err)
		}
		for i, p := range all {
			pos.set(p.topic, p.id, newest[i])
		}
		return bus.ConsumeResponse{Cursor: encodeCursor(pos)}, nil
	}

	var unknown []*pollPart
	for _, p := range parts {
		if off, ok := pos.get(p.topic, p.id); ok {
			p.start, p.next = off, off
		} else {
			unknown = append(unknown, p)
		}
	}
	if len(unknown) > 0 {
		oldest, err := pc.offsets(unknown, sarama.OffsetOldest)
		if err != nil {
			return bus.ConsumeResponse{}, fmt.Errorf("kafka engine: poll %q: %w", topic, err)
		}
		for i, p := range unknown {
			p.start, p.next = oldest[i], oldest[i]
		}
	}
	gap, err := pc.fetch(ctx, topic, parts, req.Limit)
	if err != nil {
		return bus.ConsumeResponse{}, err
	}
	events := pc.merge(topic, parts, req.Filter, req.Limit)
	for _, p := range parts {
		pos.set(p.topic, p.id, p.next)
	}
	return bus.ConsumeResponse{Events: events, Cursor: encodeCursor(pos), Gap: gap}, nil
}

// layout returns the partitions of every topic topic names (itself, or
// the topics a pattern matches), sorted; a topic that does not exist has
// none. The client's topic list is re-read when older than
// topicRefreshInterval.
func (pc *pollClient) layout(topic string) (topicList, error) {
	every := pc.b.set.cfg.TopicRefreshInterval.Std()
	out := topicList{}
	if !bus.IsPattern(topic) {
		last, _ := pc.topicRefreshed.Load(topic)
		if t, _ := last.(time.Time); time.Since(t) >= every {
			err := pc.c.RefreshMetadata(topic)
			if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
				return out, nil
			}
			if err != nil {
				return nil, err
			}
			pc.topicRefreshed.Store(topic, time.Now())
		}
		ps, err := pc.c.Partitions(topic)
		switch {
		case errors.Is(err, sarama.ErrUnknownTopicOrPartition):
			return out, nil
		case err != nil:
			return nil, err
		}
		out[topic] = slices.Sorted(slices.Values(ps))
		return out, nil
	}
	if time.Since(time.Unix(0, pc.refreshed.Load())) >= every {
		if err := pc.c.RefreshMetadata(); err != nil {
			return nil, err
		}
		pc.refreshed.Store(time.Now().UnixNano())
	}
	names, err := pc.c.Topics()
	if err != nil {
		return nil, err
	}
	for _, t := range names {
		if strings.HasPrefix(t, "__") || !pc.b.opts.SubscriptionMatches(topic, t) {
			continue
		}
		ps, err := pc.c.Partitions(t)
		if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			continue // deleted since the list was read
		}
		if err != nil {
			return nil, err
		}
		out[t] = slices.Sorted(slices.Values(ps))
	}
	return out, nil
}

// selectParts returns the partitions of layout that shards selects (all
// of them when shards is empty), topics sorted by name. A shard that no
// topic has is an error wrapping bus.ErrInvalidConsumeRequest.
func selectParts(topic string, layout topicList, shards []int) ([]*pollPart, error) {
	for _, s := range shards {
		found := false
		for _, ps := range layout {
			if slices.Contains(ps, int32(s)) {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("kafka engine: poll %q: %w: partition %d does not exist (partitions: %v)", topic, bus.ErrInvalidConsumeRequest, s, partitionSummary(layout))
		}
	}
	names := make([]string, 0, len(layout))
	for t := range layout {
		names = append(names, t)
	}
	slices.Sort(names)
	var out []*pollPart
	for _, t := range names {
		for _, id := range layout[t] {
			if len(shards) == 0 || slices.Contains(shards, int(id)) {
				out = append(out, &pollPart{topic: t, id: id})
			}
		}
	}
	return out, nil
}

// partitionSummary describes layout for an error message.
func partitionSummary(layout topicList) string {
	if len(layout) == 0 {
		return "none: no such topic"
	}
	var b strings.Builder
	for i, t := range slices.Sorted(maps.Keys(layout)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q %v", t, layout[t])
	}
	return b.String()
}

// merge takes at most limit events from parts, oldest creation time
// first among the partitions' next records (ties in topic, partition
// order), so that each partition's records stay in offset order. Records
// a poll skips (see decode) at the head of a partition are consumed as
// they come, also once limit is reached, so the cursor moves past them.
// Each part's next ends after the last record consumed.
func (pc *pollClient) merge(pattern string, parts []*pollPart, f *bus.Filter, limit int) []bus.Event {
	var out []bus.Event
	for {
		var best *pollPart
		for _, p := range parts {
			for p.head < len(p.recs) && pc.decode(pattern, &p.recs[p.head], f) {
				p.next = p.recs[p.head].msg.Offset + 1
				p.head++
			}
			if p.head < len(p.recs) && (best == nil || p.recs[p.head].at.Before(best.recs[best.head].at)) {
				best = p
			}
		}
		if best == nil || len(out) >= limit {
			return out
		}
		e := &best.recs[best.head]
		best.head++
		best.next = e.msg.Offset + 1
		if out == nil {
			out = make([]bus.Event, 0, min(limit, 256))
		}
		out = append(out, e.ev)
	}
}

var _ bus.Poller = (*EventBus)(nil)
