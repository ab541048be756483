package redis

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Reading a stream for Poll, and telling trimmed entries apart.
//
// Stream ids are not contiguous, so "the oldest retained entry is newer
// than the cursor" does not say whether entries were lost in between.
// Counts do: Redis numbers every XADD (XINFO STREAM entries-added, A) and
// trims only from the head (MAXLEN, MINID, XTRIM), so the retained entries
// are the ones numbered A-L+1 … A, L being the stream's length. A cursor
// keeps the number (off) of the last entry it consumed; entries were
// trimmed before the poller read them exactly when the oldest retained
// entry's number A-L+1 is above off+1.
//
// Fast path, the common case of a poller paging through a stream: when
// the cursor's own entry is still retained, nothing after it was trimmed,
// and one XRANGE starting at that entry (inclusive) answers; the numbers
// of the entries after it follow from off. Otherwise (first poll, the
// cursor's entry trimmed, a stream new to the cursor) XINFO STREAM and an
// exclusive XRANGE run in one MULTI, so that the counts and the entries
// describe the same state of the stream.

// pollFetch fetches up to page entries of each stream in need, after its
// position: the fast path for all that may take it in one pipeline, then
// the others in one MULTI … EXEC.
func (b *EventBus) pollFetch(ctx context.Context, rs *runState, need []*pollStream, page int) error {
	var slow []*pollStream
	var fast []*pollStream
	for _, s := range need {
		if s.pos.entry && !s.oldest {
			fast = append(fast, s)
		} else {
			slow = append(slow, s)
		}
	}
	if len(fast) > 0 {
		cmds := make([]*goredis.XMessageSliceCmd, len(fast))
		if len(fast) == 1 {
			cmds[0] = xrange(ctx, rs.client, fast[0].key, fast[0].pos.id.String(), page+1)
		} else {
			pipe := rs.client.Pipeline()
			for i, s := range fast {
				cmds[i] = xrange(ctx, pipe, s.key, s.pos.id.String(), page+1)
			}
			_, _ = pipe.Exec(ctx) // each command's error is checked below
		}
		for i, s := range fast {
			msgs, err := xrangeResult(cmds[i])
			if err != nil {
				return fmt.Errorf("XRANGE %s: %w", s.key, err)
			}
			if len(msgs) == 0 || msgs[0].id != s.pos.id.String() {
				slow = append(slow, s) // the cursor's entry is gone: count
				continue
			}
			if err := s.fill(msgs[1:], s.pos.off+1, page); err != nil {
				return err
			}
		}
	}
	if len(slow) == 0 {
		return nil
	}
	pipe := rs.client.TxPipeline()
	infos := make([]*goredis.XInfoStreamCmd, len(slow))
	ranges := make([]*goredis.XMessageSliceCmd, len(slow))
	for i, s := range slow {
		infos[i] = pipe.XInfoStream(ctx, s.key)
		start := "-"
		if !s.oldest {
			start = "(" + s.pos.id.String()
		}
		ranges[i] = xrange(ctx, pipe, s.key, start, page)
	}
	_, _ = pipe.Exec(ctx) // each command's error is checked below
	for i, s := range slow {
		msgs, err := xrangeResult(ranges[i])
		if err != nil {
			return fmt.Errorf("XRANGE %s: %w", s.key, err)
		}
		info, err := infos[i].Result()
		if isNoSuchKey(err) {
			s.done = true // no stream (yet): nothing to read, nothing lost
			continue
		}
		if err != nil {
			return fmt.Errorf("XINFO STREAM %s: %w", s.key, err)
		}
		if err := s.counted(info, msgs, page); err != nil {
			return fmt.Errorf("XINFO STREAM %s: %w", s.key, err)
		}
	}
	return nil
}

// counted takes a slow-path answer: the stream's counts and the entries
// after the position (or from the start, for a stream read from the
// oldest), deciding Gap and numbering the entries.
func (s *pollStream) counted(info *goredis.XInfoStream, msgs []rawEntry, page int) error {
	last, err := strictStreamID(info.LastGeneratedID)
	if err != nil {
		return err
	}
	added, length := uint64(info.EntriesAdded), uint64(info.Length)
	if length > added {
		// Redis before 7.0 does not count entries (no entries-added).
		return fmt.Errorf("length %d above entries-added %d: Poll needs Redis 7.0 or later", length, added)
	}
	first := added - length + 1 // number of the oldest retained entry
	if s.oldest {
		s.oldest = false
		if length == 0 {
			s.pos = position{id: last, off: added}
			s.done = true
			return nil
		}
		f, err := strictStreamID(info.FirstEntry.ID)
		if err != nil {
			return err
		}
		s.pos = position{id: f.pred(), off: first - 1}
		return s.fill(msgs, first, page)
	}
	if added < s.pos.off || last.less(s.pos.id) {
		// The stream was deleted and created again (or Redis lost its
		// data): the cursor's position means nothing on it any more.
		// Start over from its oldest entry, reporting the loss.
		s.gap, s.oldest, s.pos = true, true, position{}
		return nil
	}
	if length == 0 {
		s.gap = s.gap || added > s.pos.off
		s.pos = position{id: last, off: added}
		s.done = true
		return nil
	}
	base := s.pos.off + 1
	if first > base {
		s.gap, base = true, first
	}
	return s.fill(msgs, base, page)
}

// fill buffers msgs, numbered from base; a full page means more may
// follow.
func (s *pollStream) fill(msgs []rawEntry, base uint64, page int) error {
	s.buf = s.buf[:0]
	for i, m := range msgs {
		id, err := strictStreamID(m.id)
		if err != nil {
			return err
		}
		e := pollEntry{id: id, off: base + uint64(i), msg: m}
		if s.merged {
			e.at = entryTime(m, id)
		}
		s.buf = append(s.buf, e)
	}
	s.done = len(msgs) < page
	return nil
}

// rawEntry is a stream entry as XRANGE returns it, read like a
// subscription reads entries (go-redis' XMessage: the fields as a map).
// Measured against reading the reply as generic nested lists
// (BenchmarkPoll), the map is cheaper: the generic reply boxes every
// field name and allocates two lists per entry.
type rawEntry struct {
	id     string
	fields map[string]any
}

// xrange queues or runs XRANGE key start + COUNT count on c (a client or
// a pipeline).
func xrange(ctx context.Context, c interface {
	Process(context.Context, goredis.Cmder) error
}, key, start string, count int) *goredis.XMessageSliceCmd {
	cmd := goredis.NewXMessageSliceCmd(ctx, "xrange", key, start, "+", "count", count)
	_ = c.Process(ctx, cmd) // the error is the command's, checked by xrangeResult
	return cmd
}

// xrangeResult reads an XRANGE reply.
func xrangeResult(cmd *goredis.XMessageSliceCmd) ([]rawEntry, error) {
	v, err := cmd.Result()
	if err != nil {
		return nil, err
	}
	out := make([]rawEntry, len(v))
	for i, m := range v {
		out[i] = rawEntry{id: m.ID, fields: m.Values}
	}
	return out, nil
}

// borrowedMessage turns a read entry's fields into a BinaryMessage
// without copying: the attributes are appended to attrs[:0] (a poll reuses
// one slice for a whole page; decoding copies nothing out of it but the
// strings), and Data is a view of the reply's data string. Such a message
// must only be decoded with decodeBorrowed, which never writes Data nor
// keeps it; entryMessage (wire.go) copies Data for every other use.
func borrowedMessage(fields map[string]any, attrs []brokerkit.Attribute) brokerkit.BinaryMessage {
	m := brokerkit.BinaryMessage{Attributes: attrs[:0]}
	// The fields every entry of ours has are looked up; the map is walked
	// only for the others (extensions, another producer's fields), which
	// costs less than walking it whole for every entry.
	known := 0
	for _, k := range entryAttrs {
		if raw, ok := fields[k]; ok {
			m.Attributes = append(m.Attributes, brokerkit.Attribute{Name: k, Value: fieldString(raw)})
			known++
		}
	}
	if raw, ok := fields[fieldData]; ok {
		m.Data = stringBytes(fieldString(raw))
		known++
	}
	if raw, ok := fields[brokerkit.AttrDataContentType]; ok {
		m.ContentType = fieldString(raw)
		known++
	}
	if known == len(fields) {
		return m
	}
	for k, raw := range fields {
		switch k {
		case fieldData, brokerkit.AttrDataContentType:
		case fieldContentType:
			if _, ok := fields[brokerkit.AttrDataContentType]; !ok {
				m.ContentType = fieldString(raw)
			}
		default:
			if !slices.Contains(entryAttrs[:], k) {
				m.Attributes = append(m.Attributes, brokerkit.Attribute{Name: k, Value: fieldString(raw)})
			}
		}
	}
	return m
}

// entryAttrs are the attribute fields every entry the engine writes has,
// but datacontenttype (see xaddCmd).
var entryAttrs = [...]string{brokerkit.AttrSpecVersion, brokerkit.AttrID, brokerkit.AttrSource,
	brokerkit.AttrType, brokerkit.AttrSubject, brokerkit.AttrTime}

// fieldString is a field's value as a string (go-redis reads them as
// strings).
func fieldString(raw any) string {
	if v, ok := raw.(string); ok {
		return v
	}
	return fmt.Sprint(raw)
}

// stringBytes returns the bytes of s without copying them, non-nil even
// when s is empty (an entry's empty data field is data, not its absence).
// The result must never be written: it is the string's memory.
func stringBytes(s string) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// decodeBorrowed is decodeEntry for a message from borrowedMessage: binary
// mode decodes straight from the borrowed data (brokerkit copies what it
// keeps); any other mode gets its own copy of the data first.
func decodeBorrowed(m brokerkit.BinaryMessage) (brokerkit.Envelope, error) {
	if _, ok := m.Attr(brokerkit.AttrSpecVersion); ok {
		return brokerkit.DecodeBinaryBorrowed(m)
	}
	m.Data = bytes.Clone(m.Data)
	return brokerkit.DecodeMessage(m)
}
