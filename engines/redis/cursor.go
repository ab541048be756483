package redis

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/switchyard-go/eventbus/bus"
)

// A poll cursor records, for every stream a poll of a topic pattern has
// looked at, where the poller stands on it:
//
//   - id: the stream id of the last entry consumed (returned or skipped by
//     the filter), or, before anything was consumed, an id every entry to
//     read next is greater than (XRANGE starts exclusively after it);
//   - off: the entry's ordinal in the stream, counted from the stream's
//     first XADD (Redis' entries-added), so that a poll can tell whether
//     entries between the cursor and the oldest retained entry were trimmed
//     (see gapAndBase in poll.go);
//   - entry: whether id is an entry that was read (so the next poll may
//     check with one XRANGE that it is still retained).
//
// Positions are Redis' own (stream ids and counts), so a cursor stays
// valid across restarts of the engine and of Redis (with persistence).
//
// Encoding (version 1): "rs1." followed by unpadded URL-safe base64 of
// uvarint(len(pattern)) pattern uvarint(n), then n times
// uvarint(len(topic)) topic uvarint(ms) uvarint(seq) uvarint(off) flags.
// Decoding is strict: anything else is bus.ErrInvalidCursor.
const cursorPrefix = "rs1."

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

// pred returns the greatest id below a (a must not be 0-0).
func (a streamID) pred() streamID {
	if a.seq > 0 {
		return streamID{a.ms, a.seq - 1}
	}
	if a.ms == 0 {
		return a
	}
	return streamID{a.ms - 1, ^uint64(0)}
}

// strictStreamID parses "ms-seq" as Redis returns it (parseStreamID in
// flush.go reads anything unparsable as 0-0; a poll must not).
func strictStreamID(s string) (streamID, error) {
	ms, seq, ok := strings.Cut(s, "-")
	if !ok {
		return streamID{}, fmt.Errorf("stream id %q: want ms-seq", s)
	}
	a, err1 := strconv.ParseUint(ms, 10, 64)
	b, err2 := strconv.ParseUint(seq, 10, 64)
	if err1 != nil || err2 != nil {
		return streamID{}, fmt.Errorf("stream id %q: want ms-seq", s)
	}
	return streamID{a, b}, nil
}

// position is where a poller stands on one stream (see above).
type position struct {
	id    streamID
	off   uint64
	entry bool
}

// cursorState is a decoded cursor: the pattern it was made for and the
// position on each stream, by topic.
type cursorState struct {
	pattern string
	pos     map[string]position
}

func (c cursorState) encode() string {
	topics := make([]string, 0, len(c.pos))
	for t := range c.pos {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	buf := make([]byte, 0, 16+len(c.pattern)+len(topics)*40)
	buf = appendString(buf, c.pattern)
	buf = binary.AppendUvarint(buf, uint64(len(topics)))
	for _, t := range topics {
		p := c.pos[t]
		buf = appendString(buf, t)
		buf = binary.AppendUvarint(buf, p.id.ms)
		buf = binary.AppendUvarint(buf, p.id.seq)
		buf = binary.AppendUvarint(buf, p.off)
		var flags byte
		if p.entry {
			flags = 1
		}
		buf = append(buf, flags)
	}
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// decodeCursor decodes a cursor a poll of pattern returned. The error
// wraps bus.ErrInvalidCursor and says what is wrong.
func decodeCursor(s, pattern string, matches func(pattern, topic string) bool) (cursorState, error) {
	invalid := func(why string) (cursorState, error) {
		return cursorState{}, fmt.Errorf("%w: %s", bus.ErrInvalidCursor, why)
	}
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	if !ok {
		return invalid(fmt.Sprintf("%.40q is not a cursor of the redis engine (want prefix %q)", s, cursorPrefix))
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return invalid("not base64: " + err.Error())
	}
	d := decoder{b: raw}
	c := cursorState{pattern: d.str(), pos: map[string]position{}}
	n := d.uvarint()
	if d.err == nil && n > uint64(len(raw)) {
		return invalid("truncated")
	}
	for i := uint64(0); i < n && d.err == nil; i++ {
		t := d.str()
		p := position{id: streamID{d.uvarint(), d.uvarint()}, off: d.uvarint()}
		switch d.byte() {
		case 0:
		case 1:
			p.entry = true
		default:
			d.fail()
		}
		if d.err == nil && !matches(pattern, t) {
			return invalid(fmt.Sprintf("stream of topic %q does not match %q", t, pattern))
		}
		c.pos[t] = p
	}
	if d.err != nil || len(d.b) != 0 {
		return invalid("truncated or corrupted")
	}
	if c.pattern != pattern {
		return invalid(fmt.Sprintf("made for topic %q, not %q", c.pattern, pattern))
	}
	return c, nil
}

// decoder reads the cursor's binary form; the first error sticks.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = bus.ErrInvalidCursor
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.fail()
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}
