package sharded

import (
	"errors"
	"maps"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

func TestCursorRoundTrips(t *testing.T) {
	for _, pos := range []map[int]uint64{{}, {0: 0}, {0: 17, 3: 1 << 40, 1023: 5}} {
		c := pollCursor{pos: pos}
		s := c.encode(42, "orders.*")
		got, err := decodeCursor(s, 42, "orders.*")
		if err != nil || !maps.Equal(got.pos, pos) {
			t.Errorf("decode(encode(%v)) = %v, %v", pos, got.pos, err)
		}
	}
}

// FuzzDecodeCursor: any string decodes to a cursor that encodes back to
// itself, or is refused with ErrInvalidCursor; nothing panics.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(pollCursor{pos: map[int]uint64{0: 3, 2: 9}}.encode(7, "a.*"))
	f.Add("s1.")
	f.Add("latest")
	f.Add("s1.AAAAAAAAAAcAAAAA_w")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s, 7, "a.*")
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidCursor) {
				t.Fatalf("decodeCursor(%q) = %v, want ErrInvalidCursor", s, err)
			}
			return
		}
		if back := c.encode(7, "a.*"); back != s {
			t.Fatalf("decodeCursor(%q) accepted a cursor that encodes as %q", s, back)
		}
	})
}
