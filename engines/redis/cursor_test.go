package redis

import (
	"errors"
	"reflect"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

func TestCursorEncoding(t *testing.T) {
	t.Run("a cursor decodes to the positions it was encoded from", func(t *testing.T) {
		c := cursorState{pattern: "orders.*", pos: map[string]position{
			"orders.eu": {id: streamID{1796282606065, 3}, off: 42, entry: true},
			"orders.us": {id: streamID{^uint64(0), ^uint64(0)}, off: 0},
			"orders.x":  {},
		}}
		got, err := decodeCursor(c.encode(), "orders.*", bus.MatchTopic)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("decoded %+v, want %+v", got, c)
		}
	})

	t.Run("every truncation and a changed byte of a cursor are refused", func(t *testing.T) {
		s := cursorState{pattern: "a", pos: map[string]position{"a": {id: streamID{5, 1}, off: 7, entry: true}}}.encode()
		for n := 0; n < len(s); n++ {
			if _, err := decodeCursor(s[:n], "a", bus.MatchTopic); !errors.Is(err, bus.ErrInvalidCursor) {
				t.Errorf("cursor cut to %d characters: %v", n, err)
			}
		}
		if _, err := decodeCursor(s[:len(s)-1]+"_", "a", bus.MatchTopic); !errors.Is(err, bus.ErrInvalidCursor) {
			t.Errorf("cursor with its last flags byte changed: %v", err)
		}
	})

	t.Run("pred steps below an id across a millisecond", func(t *testing.T) {
		if got := (streamID{5, 0}).pred(); got != (streamID{4, ^uint64(0)}) {
			t.Errorf("pred(5-0) = %v", got)
		}
		if got := (streamID{5, 2}).pred(); got != (streamID{5, 1}) {
			t.Errorf("pred(5-2) = %v", got)
		}
	})
}

// FuzzDecodeCursor: no input panics, and whatever decodes encodes back to
// a cursor that decodes to the same state.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(cursorState{pattern: "a.*", pos: map[string]position{"a.b": {id: streamID{1, 2}, off: 3, entry: true}}}.encode())
	f.Add("rs1.")
	f.Add("rs1.AAAA")
	f.Add("latest")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s, "a.*", bus.MatchTopic)
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidCursor) {
				t.Fatalf("error %v does not wrap ErrInvalidCursor", err)
			}
			return
		}
		again, err := decodeCursor(c.encode(), "a.*", bus.MatchTopic)
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("re-encoded cursor decodes to %+v, %v; want %+v", again, err, c)
		}
	})
}
