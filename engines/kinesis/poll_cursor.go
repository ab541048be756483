package kinesis

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"strings"

	"github.com/switchyard-go/eventbus/bus"
)

// Poll cursors.
//
// A cursor is "kin1." followed by the unpadded base64url of a small JSON
// object: the stream name, the topic pattern polled, and per shard the
// position reached:
//
//	{"s":"orders","t":"orders.*","p":{"shardId-000000000000":"4960…","shardId-000000000001":"end"}}
//
// A position is the sequence number of the last record the poll consumed
// in that shard (returned, or skipped because its topic or the filter did
// not match): the next poll reads AFTER_SEQUENCE_NUMBER it. "end" marks a
// closed shard read to its end. A shard the cursor does not name has not
// been read yet: it is read from TRIM_HORIZON once it is readable (its
// parents, when still listed, are at "end"), except that a shard is taken
// as finished when one of its children is named (see prune), which keeps
// cursors small across many reshardings. Sequence numbers are the
// stream's, so a cursor stays valid across processes and restarts for as
// long as Kinesis retains the records.
const (
	cursorPrefix = "kin1."
	posEnd       = "end"
	// maxCursorLen bounds what decodeCursor reads: about 2,000 shard
	// positions.
	maxCursorLen = 1 << 18
)

// pollCursor is the decoded form of a cursor.
type pollCursor struct {
	Stream string            `json:"s"`
	Topic  string            `json:"t"`
	Pos    map[string]string `json:"p"`
}

// encode returns the cursor's text.
func (c *pollCursor) encode() string {
	data, err := json.Marshal(c)
	if err != nil {
		// Strings and a map of strings always marshal.
		panic(fmt.Sprintf("kinesis: encode cursor: %v", err))
	}
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(data)
}

// decodeCursor reads a cursor this engine produced for stream and topic.
// Any other text is an error wrapping bus.ErrInvalidCursor that says why.
func decodeCursor(text, stream, topic string) (*pollCursor, error) {
	bad := func(why string) error {
		return fmt.Errorf("kinesis: poll %q: %w: %s", topic, bus.ErrInvalidCursor, why)
	}
	rest, ok := strings.CutPrefix(text, cursorPrefix)
	if !ok {
		return nil, bad(fmt.Sprintf("does not start with %q (not a cursor of this engine, or of another version)", cursorPrefix))
	}
	if len(rest) > maxCursorLen {
		return nil, bad(fmt.Sprintf("%d bytes: too long", len(text)))
	}
	data, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return nil, bad("not base64url: " + err.Error())
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c pollCursor
	if err := dec.Decode(&c); err != nil || dec.More() {
		return nil, bad("damaged content")
	}
	if c.Stream != stream {
		return nil, bad(fmt.Sprintf("made for stream %q, not %q", c.Stream, stream))
	}
	if c.Topic != topic {
		return nil, bad(fmt.Sprintf("made for topic %q", c.Topic))
	}
	if c.Pos == nil {
		c.Pos = map[string]string{}
	}
	for id, p := range c.Pos {
		if id == "" || len(id) > 128 {
			return nil, bad(fmt.Sprintf("shard id %q", id))
		}
		if p != posEnd && !isSequenceNumber(p) {
			return nil, bad(fmt.Sprintf("position %q of shard %s", p, id))
		}
	}
	return &c, nil
}

// isSequenceNumber reports whether s has the form of a Kinesis sequence
// number: 1 to 128 decimal digits.
func isSequenceNumber(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clone returns a copy whose positions can be changed.
func (c *pollCursor) clone() *pollCursor {
	return &pollCursor{Stream: c.Stream, Topic: c.Topic, Pos: maps.Clone(c.Pos)}
}

// finished returns the shards of set that need no more reading: those
// at "end", and those not named that have a named descendant (prune drops
// the "end" of a shard once its children are named). Shard ids grow with
// creation, so set.list (sorted by id) holds children after their
// parents, and one pass from the end settles every descendant first.
func (c *pollCursor) finished(set *shardSet) map[string]bool {
	done := map[string]bool{}
	below := map[string]bool{} // a descendant is named
	for i := len(set.list) - 1; i >= 0; i-- {
		sh := set.list[i]
		p, named := c.Pos[sh.id]
		if p == posEnd || (!named && below[sh.id]) {
			done[sh.id] = true
		}
		if named || below[sh.id] {
			for _, parent := range sh.parents() {
				below[parent] = true
			}
		}
	}
	return done
}

// prune drops what the cursor no longer needs: shards no longer listed
// (trimmed: their children, if any, are readable without them), and
// "end" positions of shards whose listed children are all named or
// themselves finished (finished then holds without the entry).
func (c *pollCursor) prune(set *shardSet) {
	for id := range c.Pos {
		if set.get(id) == nil {
			delete(c.Pos, id)
		}
	}
	for _, sh := range set.list {
		if c.Pos[sh.id] != posEnd {
			continue
		}
		children, named := 0, 0
		for _, ch := range set.list {
			if ch.hasParent(sh.id) {
				children++
				if _, ok := c.Pos[ch.id]; ok {
					named++
				}
			}
		}
		if children > 0 && named == children {
			delete(c.Pos, sh.id)
		}
	}
}
