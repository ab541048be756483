package brokerkit

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// checkDecode fails t when the fast path accepts data but json.Unmarshal
// rejects it or decodes another value, and when unmarshalJSON's result or
// error differs from json.Unmarshal's.
func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	var want any
	wantErr := json.Unmarshal(data, &want)
	p := jsonParser{data: data}
	if v, ok := p.value(0); ok {
		p.skipSpace()
		if p.pos == len(data) {
			if wantErr != nil {
				t.Fatalf("fast path accepted %q, json.Unmarshal rejects it: %v", data, wantErr)
			}
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("fast path decoded %q as %#v, json.Unmarshal as %#v", data, v, want)
			}
		}
	}
	got, err := unmarshalJSON(data)
	if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("unmarshalJSON(%q) = %#v, %v; json.Unmarshal = %#v, %v", data, got, err, want, wantErr)
	}
}

func TestDecodeJSONMatchesEncodingJSON(t *testing.T) {
	for _, s := range []string{
		`null`, `true`, `false`, `0`, `-0`, `1`, `-1.5`, `1e3`, `1E+3`, `1e-3`, `123456789012345678901234567890`, `1e400`, `-1e400`,
		`""`, `"abc"`, `"é日🚀"`, `"a\"b"`, `"\u00e9"`, `"\ud83d\ude80"`, `"\ud800"`, "\"\xff\"", "\"\xed\xa0\x80\"", "\"a\x01\"",
		`{}`, `[]`, ` { "a" : 1 , "b" : [ true , null , "x" ] } `, `{"a":1,"a":2}`, `{"id":"evt-1","body":"xxxx"}`,
		`[1,2,]`, `{"a":1,}`, `{"a"}`, `[01]`, `[1.]`, `[.5]`, `[1e]`, `[-]`, `[+1]`, `tru`, `nul`, `{"a":1}x`, `[1] [2]`,
		`{"a":{"b":{"c":[[[]]]}}}`, "\ufeff{}", `[NaN]`, `"`, `{`, `[`, ``, ` `, `{"a":1 "b":2}`, `["a" "b"]`,
		strings.Repeat("[", 40) + strings.Repeat("]", 40),
	} {
		checkDecode(t, []byte(s))
	}
}

func TestDecodeJSONRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "Z", "é", "日", "🚀", "\"", "\\", "<", "\n", "\x01", "\xff", " ", "/", "0", "-"}
	str := func() string {
		var sb strings.Builder
		for n := r.IntN(6); n > 0; n-- {
			sb.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		return sb.String()
	}
	var gen func(depth int) any
	gen = func(depth int) any {
		k := r.IntN(8)
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
			for n := r.IntN(4); n > 0; n-- {
				m[str()] = gen(depth + 1)
			}
			return m
		default:
			s := []any{}
			for n := r.IntN(4); n > 0; n-- {
				s = append(s, gen(depth+1))
			}
			return s
		}
	}
	mutate := "{}[],:\"\\ 0-.eE+tfn\xff"
	for i := 0; i < 20000; i++ {
		data, err := json.Marshal(gen(0))
		if err != nil {
			t.Fatal(err)
		}
		checkDecode(t, data)
		// A mutated copy: the fast path must never accept what
		// json.Unmarshal rejects or read it differently.
		if len(data) > 0 {
			m := []byte(string(data))
			for n := 1 + r.IntN(2); n > 0; n-- {
				m[r.IntN(len(m))] = mutate[r.IntN(len(mutate))]
			}
			checkDecode(t, m)
		}
	}
}

func BenchmarkUnmarshalPayload(b *testing.B) {
	data := []byte(`{"body":"` + strings.Repeat("x", 70) + `","id":"evt-0000000001"}`)
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var v any
			_ = json.Unmarshal(data, &v)
		}
	})
	b.Run("fast path", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = unmarshalJSON(data)
		}
	})
}
