package kafka

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/switchyard-go/eventbus/bus"
)

// A poll cursor is the next offset to read of every partition the poll
// knows, per topic: exactly the state a group-less Kafka consumer keeps.
// It is encoded as
//
//	"k1." + base64url(uvarint topics; per topic: uvarint len, name,
//	                  uvarint partitions; per partition: uvarint id,
//	                  uvarint next offset)
//
// with topics sorted by name and partitions by id, so that equal
// positions give equal cursors. The "k1." prefix versions the format: a
// later format gets another prefix, and decodeCursor keeps reading this
// one. Offsets are the broker's, so a cursor survives a restart of the
// process and of the engine.
const cursorPrefix = "k1."

// positions maps topic -> partition -> next offset to read.
type positions map[string]map[int32]int64

// set records the next offset of one partition.
func (p positions) set(topic string, part int32, next int64) {
	m := p[topic]
	if m == nil {
		m = map[int32]int64{}
		p[topic] = m
	}
	m[part] = next
}

// get returns the next offset of one partition and whether it is known.
func (p positions) get(topic string, part int32) (int64, bool) {
	off, ok := p[topic][part]
	return off, ok
}

// encodeCursor returns the opaque cursor of p.
func encodeCursor(p positions) string {
	topics := make([]string, 0, len(p))
	for t := range p {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	buf := make([]byte, 0, 16+len(p)*48)
	buf = binary.AppendUvarint(buf, uint64(len(topics)))
	for _, t := range topics {
		buf = binary.AppendUvarint(buf, uint64(len(t)))
		buf = append(buf, t...)
		parts := make([]int32, 0, len(p[t]))
		for id := range p[t] {
			parts = append(parts, id)
		}
		slices.Sort(parts)
		buf = binary.AppendUvarint(buf, uint64(len(parts)))
		for _, id := range parts {
			buf = binary.AppendUvarint(buf, uint64(id))
			buf = binary.AppendUvarint(buf, uint64(p[t][id]))
		}
	}
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

// errCursorTruncated reports a cursor whose bytes end early.
var errCursorTruncated = errors.New("truncated")

// decodeCursor reads a cursor made by encodeCursor for a poll of pattern.
// Every topic it names must match pattern (a cursor of "orders.a" may
// continue as a poll of "orders.*", not the other way round). Errors wrap
// bus.ErrInvalidCursor and say what is wrong.
func decodeCursor(pattern, cursor string, matches func(pattern, topic string) bool) (positions, error) {
	bad := func(why any) error {
		return fmt.Errorf("kafka engine: poll %q: %w: %v", pattern, bus.ErrInvalidCursor, why)
	}
	rest, ok := strings.CutPrefix(cursor, cursorPrefix)
	if !ok {
		return nil, bad(fmt.Sprintf("does not start with %q (not a cursor of the Kafka engine)", cursorPrefix))
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, bad(err)
	}
	next := func(limit uint64) (uint64, error) {
		v, n := binary.Uvarint(raw)
		if n <= 0 {
			return 0, errCursorTruncated
		}
		if v > limit {
			return 0, fmt.Errorf("value %d out of range", v)
		}
		raw = raw[n:]
		return v, nil
	}
	nt, err := next(uint64(len(raw)))
	if err != nil {
		return nil, bad(err)
	}
	p := make(positions, nt)
	for range nt {
		n, err := next(uint64(len(raw)))
		if err != nil {
			return nil, bad(err)
		}
		if n == 0 || uint64(len(raw)) < n {
			return nil, bad("bad topic name length")
		}
		topic := string(raw[:n])
		raw = raw[n:]
		if _, dup := p[topic]; dup {
			return nil, bad(fmt.Sprintf("topic %q twice", topic))
		}
		if !matches(pattern, topic) {
			return nil, bad(fmt.Sprintf("topic %q does not match the polled topic %q", topic, pattern))
		}
		np, err := next(uint64(len(raw)))
		if err != nil {
			return nil, bad(err)
		}
		m := make(map[int32]int64, np)
		for range np {
			id, err := next(math.MaxInt32)
			if err != nil {
				return nil, bad(err)
			}
			off, err := next(math.MaxInt64)
			if err != nil {
				return nil, bad(err)
			}
			if _, dup := m[int32(id)]; dup {
				return nil, bad(fmt.Sprintf("partition %d of %q twice", id, topic))
			}
			m[int32(id)] = int64(off)
		}
		p[topic] = m
	}
	if len(raw) != 0 {
		return nil, bad(fmt.Sprintf("%d trailing bytes", len(raw)))
	}
	return p, nil
}
