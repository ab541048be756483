package sharded

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"

	"github.com/switchyard-go/eventbus/bus"
)

// A poll cursor is "s1." followed by the unpadded base64url encoding of:
//
//	engine  uint64   the engine value's random nonce (cursors are in-process)
//	pattern uint32   FNV-1a of the topic pattern polled
//	n       uvarint  number of shards
//	n × (id uvarint, pos uvarint)  shard id and the ring position to read next, ids increasing
//
// "s1" is the version: a later format gets another prefix, and this one
// stays readable. A shard the cursor does not name is read from its
// first position. Everything about a cursor is checked before it is used:
// a cursor of another engine value (another process included, since the
// retained events do not survive it), another pattern, or not produced by
// this code is ErrInvalidCursor.

const cursorPrefix = "s1."

// pollCursor is a decoded cursor: the next position of each shard named.
type pollCursor struct {
	pos map[int]uint64
}

func patternHash(pattern string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(pattern))
	return h.Sum32()
}

// encode writes c for the engine nonce and pattern.
func (c pollCursor) encode(nonce uint64, pattern string) string {
	ids := make([]int, 0, len(c.pos))
	for id := range c.pos {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	buf := make([]byte, 12, 12+len(ids)*8)
	binary.BigEndian.PutUint64(buf, nonce)
	binary.BigEndian.PutUint32(buf[8:], patternHash(pattern))
	buf = binary.AppendUvarint(buf, uint64(len(ids)))
	for _, id := range ids {
		buf = binary.AppendUvarint(buf, uint64(id))
		buf = binary.AppendUvarint(buf, c.pos[id])
	}
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(buf)
}

// decodeCursor reads a cursor produced by encode for this engine and
// pattern; any other value is an error wrapping bus.ErrInvalidCursor.
func decodeCursor(s string, nonce uint64, pattern string) (pollCursor, error) {
	bad := func(why string) (pollCursor, error) {
		return pollCursor{}, fmt.Errorf("sharded engine: poll %q: cursor %.40q: %s: %w", pattern, s, why, bus.ErrInvalidCursor)
	}
	if !strings.HasPrefix(s, cursorPrefix) {
		return bad("not a cursor of the sharded engine (format s1)")
	}
	buf, err := base64.RawURLEncoding.DecodeString(s[len(cursorPrefix):])
	if err != nil || len(buf) < 12 {
		return bad("malformed")
	}
	if binary.BigEndian.Uint64(buf) != nonce {
		return bad("produced by another engine value (retained events do not outlive the engine)")
	}
	if binary.BigEndian.Uint32(buf[8:]) != patternHash(pattern) {
		return bad("produced for another topic pattern")
	}
	buf = buf[12:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(buf)
		if n <= 0 {
			return 0, false
		}
		buf = buf[n:]
		return v, true
	}
	n, ok := next()
	if !ok || n > uint64(len(buf)) {
		return bad("malformed")
	}
	c := pollCursor{pos: make(map[int]uint64, n)}
	last := -1
	for range n {
		id, ok1 := next()
		pos, ok2 := next()
		if !ok1 || !ok2 || id > 1<<31 || int(id) <= last {
			return bad("malformed")
		}
		last = int(id)
		c.pos[last] = pos
	}
	if len(buf) != 0 || c.encode(nonce, pattern) != s {
		return bad("malformed") // trailing bytes, or not the canonical encoding
	}
	return c, nil
}
