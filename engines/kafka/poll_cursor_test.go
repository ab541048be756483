package kafka

import (
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

func TestPollCursor(t *testing.T) {
	t.Run("a cursor decodes to the positions it was made from", func(t *testing.T) {
		for _, p := range []positions{
			{},
			{"orders": {0: 0}},
			{"orders.a": {0: 17, 3: 1 << 40, 2147483647: 5}, "orders.b": {1: 0}},
		} {
			c := encodeCursor(p)
			got, err := decodeCursor("orders*", c, func(pattern, topic string) bool { return bus.MatchTopic(pattern, topic) })
			if err != nil {
				t.Fatalf("%v: %v", p, err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("decoded %v, want %v", got, p)
			}
			if encodeCursor(got) != c {
				t.Errorf("re-encoding %v changed the cursor", p)
			}
		}
	})

	t.Run("malformed cursors and cursors of other topics wrap ErrInvalidCursor and say why", func(t *testing.T) {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(encodeCursor(positions{"orders": {0: 5}}), cursorPrefix))
		if err != nil {
			t.Fatal(err)
		}
		bytesCursor := func(b []byte) string { return cursorPrefix + base64.RawURLEncoding.EncodeToString(b) }
		for _, tc := range []struct{ cursor, why string }{
			{"latest2", "does not start"},
			{"k1.@@", "illegal base64"},
			{bytesCursor(raw[:len(raw)-1]), "truncated"},
			{bytesCursor(append(raw, 0)), "trailing"},
			{cursorPrefix + "AQ", "truncated"},
			{encodeCursor(positions{"payments": {0: 1}}), "does not match"},
		} {
			_, err := decodeCursor("orders", tc.cursor, func(pattern, topic string) bool { return pattern == topic })
			if !errors.Is(err, bus.ErrInvalidCursor) || !strings.Contains(err.Error(), tc.why) {
				t.Errorf("cursor %q: err %v, want ErrInvalidCursor saying %q", tc.cursor, err, tc.why)
			}
		}
	})
}

// FuzzDecodeCursor: no input makes decodeCursor panic, and whatever it
// accepts encodes back to a cursor that decodes to the same positions.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(positions{"t": {0: 1, 1: 99}}))
	f.Add(cursorPrefix)
	f.Add("k1.AAAA")
	any := func(string, string) bool { return true }
	f.Fuzz(func(t *testing.T, cursor string) {
		p, err := decodeCursor("t*", cursor, any)
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidCursor) {
				t.Fatalf("err %v does not wrap ErrInvalidCursor", err)
			}
			return
		}
		again, err := decodeCursor("t*", encodeCursor(p), any)
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("round trip of %v: %v, %v", p, again, err)
		}
	})
}
