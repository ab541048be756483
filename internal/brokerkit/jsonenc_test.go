package brokerkit

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	cases := []any{
		nil, true, false, "", "plain", `quote " backslash \ slash /`, "<html> & co",
		"ctl \x00\x01\x1f\b\f\n\r\t", "unicode é ü 日本 🚀", "bad utf8 \xff\xfe end", "\u2028\u2029",
		0.0, math.Copysign(0, -1), 1.0, -1.5, 3.14159, 1e-6, 1e-7, 123456789e12, 1e21, 1e20, 5e-324, math.MaxFloat64,
		float32(1.1), float32(1e-7), float32(3e21),
		int(-7), int64(math.MinInt64), int32(5), int16(-3), int8(8), uint(9), uint64(math.MaxUint64), uint32(1), uint16(2),
		map[string]any{}, map[string]any(nil), []any{}, []any(nil), []string(nil), map[string]string(nil),
		map[string]any{"id": "evt-1", "body": strings.Repeat("x", 70), "n": 42.0, "ok": true, "nil": nil,
			"nested": map[string]any{"z": 1.0, "a": []any{"x", 2.0, map[string]any{"<": ">"}}}},
		map[string]string{"b": "2", "a": "1"}, []string{"a", "<b>"},
		map[string]any{"k\xff": "v", "é": "e", "B": 1.0, "a": 2.0},
	}
	for _, v := range cases {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		got, ok := appendJSON(nil, v, 0)
		if !ok {
			t.Errorf("fast path refused %#v", v)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("appendJSON(%#v)\n got %s\nwant %s", v, got, want)
		}
	}
}

func TestAppendJSONRefusesWhatItDoesNotKnow(t *testing.T) {
	type custom struct{ A int }
	for _, v := range []any{custom{1}, map[string]any{"t": time.Now()}, math.NaN(), math.Inf(1), []any{json.RawMessage(`1`)}, map[string]int{"a": 1}} {
		if _, ok := appendJSON(nil, v, 0); ok {
			t.Errorf("fast path accepted %#v; it must fall back to json.Marshal", v)
		}
	}
	if _, err := marshalJSON(math.NaN()); err == nil {
		t.Error("marshalJSON(NaN) did not fail like json.Marshal")
	}
}

// TestAppendJSONRandom compares the fast path with json.Marshal on random
// values of the shapes it handles.
func TestAppendJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", "Z", "é", "日", "🚀", "\"", "\\", "<", ">", "&", "\n", "\x01", "\x7f", "\xff", "\u2028", " ", "/"}
	str := func() string {
		var sb strings.Builder
		for n := r.IntN(8); n > 0; n-- {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return sb.String()
	}
	var gen func(depth int) any
	gen = func(depth int) any {
		k := r.IntN(9)
		if depth > 3 {
			k = r.IntN(5)
		}
		switch k {
		case 0:
			return nil
		case 1:
			return r.IntN(2) == 0
		case 2:
			return str()
		case 3:
			return math.Float64frombits(r.Uint64()&^(0x7ff<<52) | uint64(r.IntN(0x7fe))<<52)
		case 4:
			return float64(r.IntN(2000) - 1000)
		case 5, 6:
			m := map[string]any{}
			for n := r.IntN(5); n > 0; n-- {
				m[str()] = gen(depth + 1)
			}
			return m
		default:
			s := []any{}
			for n := r.IntN(5); n > 0; n-- {
				s = append(s, gen(depth+1))
			}
			return s
		}
	}
	for i := 0; i < 20000; i++ {
		v := gen(0)
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendJSON(nil, v, 0)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("appendJSON(%#v) = %s, %v; json.Marshal = %s", v, got, ok, want)
		}
	}
}

func BenchmarkMarshalPayload(b *testing.B) {
	p := map[string]any{"id": "evt-0000000001", "body": strings.Repeat("x", 70)}
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(p)
		}
	})
	b.Run("fast path", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = marshalJSON(p)
		}
	})
}
