package bus_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

type order struct {
	ID     string            `json:"id"`
	Amount float64           `json:"amount"`
	Items  []item            `json:"items"`
	Tags   map[string]string `json:"tags,omitempty"`
	secret string
}

type item struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

func TestFilterMatchesThePayloadsJSONForm(t *testing.T) {
	structPayload := order{ID: "o1", Amount: 12.5, Items: []item{{"a", 1}, {"b", 2}}, Tags: map[string]string{"tier": "gold"}, secret: "x"}
	// The same order as a broker engine's handler sees it: decoded JSON.
	var decoded any
	b, _ := json.Marshal(structPayload)
	_ = json.Unmarshal(b, &decoded)

	tests := []struct {
		name   string
		filter bus.Filter
		want   bool
	}{
		{"the zero filter matches everything", bus.Filter{}, true},
		{"a top-level string", bus.Eq("id", "o1"), true},
		{"a different string", bus.Eq("id", "o2"), false},
		{"a number compared as a JSON number", bus.Eq("amount", 12.5), true},
		{"an int against a whole float", bus.Eq("items.1.qty", 2.0), true},
		{"an array index into a struct slice", bus.Eq("items.0.sku", "a"), true},
		{"an index out of range is no match", bus.Eq("items.2.sku", "a"), false},
		{"a missing key is no match", bus.Eq("nope", nil), false},
		{"stepping into a string is no match", bus.Eq("id.0", "o"), false},
		{"an object compared structurally", bus.Eq("items.1", map[string]any{"qty": 2, "sku": "b"}), true},
		{"an object with a different key set", bus.Eq("items.1", map[string]any{"sku": "b"}), false},
		{"an array compared element by element", bus.Eq("items", []item{{"a", 1}, {"b", 2}}), true},
		{"a map of strings", bus.Eq("tags.tier", "gold"), true},
		{"an unexported field is not in the JSON form", bus.Eq("secret", "x"), false},
		{"and: both", bus.And(bus.Eq("id", "o1"), bus.Eq("tags.tier", "gold")), true},
		{"and: one fails", bus.And(bus.Eq("id", "o1"), bus.Eq("tags.tier", "silver")), false},
		{"or: one matches", bus.Or(bus.Eq("id", "o9"), bus.Eq("items.0.qty", 1)), true},
		{"or of nothing matches nothing", bus.Or(), false},
		{"and of nothing matches everything", bus.And(), true},
		{"not of a missing path matches", bus.Not(bus.Eq("nope", 1)), true},
		{"not of a match", bus.Not(bus.Eq("id", "o1")), false},
		{"the empty path is the whole payload", bus.Eq("", map[string]any{"id": "o1"}), false},
		{"a NaN value matches nothing", bus.Eq("amount", math.NaN()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range []struct {
				kind    string
				payload any
			}{{"struct", structPayload}, {"decoded JSON", decoded}, {"pointer", &structPayload}} {
				if got := tt.filter.Match(bus.Event{Topic: "t", Payload: p.payload}); got != tt.want {
					t.Errorf("%s payload: Match = %v, want %v (filter %s)", p.kind, got, tt.want, tt.filter)
				}
			}
		})
	}
}

func TestFilterNumbersCompareExactlyBeyondFloat64(t *testing.T) {
	big1 := json.Number("9007199254740993") // 2^53+1: float64 cannot tell it from 2^53
	if bus.Eq("n", json.Number("9007199254740992")).MatchPayload(map[string]any{"n": big1}) {
		t.Fatal("2^53 matched 2^53+1")
	}
	if !bus.Eq("n", json.Number("1e2")).MatchPayload(map[string]any{"n": 100}) {
		t.Fatal("1e2 did not match 100")
	}
}

func TestFilterJSONRoundTrips(t *testing.T) {
	filters := []bus.Filter{
		{},
		bus.Eq("a.b.0", "x"),
		bus.Eq("$odd", 1),
		bus.And(bus.Eq("a", 1), bus.Or(bus.Eq("b", true), bus.Not(bus.Eq("c", nil)))),
		bus.Or(),
		bus.Eq("obj", map[string]any{"k": []any{1, "two", nil}}),
	}
	payloads := []any{
		map[string]any{"a": 1, "b": true, "c": nil, "$odd": 1, "obj": map[string]any{"k": []any{1, "two", nil}}},
		map[string]any{"a": map[string]any{"b": []any{"x"}}},
		map[string]any{"a": 1, "b": false},
		"scalar",
		nil,
	}
	for _, f := range filters {
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatalf("marshal %v: %v", f, err)
		}
		g, err := bus.ParseFilter(data)
		if err != nil {
			t.Fatalf("ParseFilter(%s): %v", data, err)
		}
		again, _ := json.Marshal(g)
		if string(again) != string(data) {
			t.Errorf("round trip changed the form: %s -> %s", data, again)
		}
		for _, p := range payloads {
			if f.MatchPayload(p) != g.MatchPayload(p) {
				t.Errorf("filter %s and its parsed form disagree on %v", data, p)
			}
		}
	}
}

func TestParseFilterReadsImplicitAndAndOperators(t *testing.T) {
	f, err := bus.ParseFilter([]byte(`{"level":"error","service":"api","$not":{"$or":[{"env":"dev"},{"tags.0":"noisy"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	match := map[string]any{"level": "error", "service": "api", "env": "prod", "tags": []any{"ok"}}
	if !f.MatchPayload(match) {
		t.Fatal("did not match")
	}
	match["tags"] = []any{"noisy"}
	if f.MatchPayload(match) {
		t.Fatal("$not $or did not exclude tags.0 = noisy")
	}
}

func TestParseFilterErrorsSayWhere(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"a": 1`, "at byte"},
		{`[1]`, "at the top level: want an object, got an array"},
		{`{"$and": {"a": 1}}`, "at $and: want an array of filters, got an object"},
		{`{"$and": [{"a": 1}, {"$not": [1]}]}`, "at $and[1].$not: want an object, got an array"},
		{`{"$gt": 1}`, `unknown operator "$gt"`},
		{`{"a..b": 1}`, `path "a..b": segment 2 is empty`},
		{`{"$eq": {"path": "a"}}`, `at $eq: want exactly`},
		{`{} {}`, "data after the filter object"},
		{`{}}`, "data after the filter object"},
	}
	for _, tt := range tests {
		_, err := bus.ParseFilter([]byte(tt.in))
		if err == nil || !errors.Is(err, bus.ErrInvalidFilter) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseFilter(%s) = %v, want ErrInvalidFilter saying %q", tt.in, err, tt.want)
		}
	}
}

func TestAnInvalidFilterReportsWhyAndMatchesNothing(t *testing.T) {
	f := bus.And(bus.Eq("a", make(chan int)))
	if err := f.Err(); !errors.Is(err, bus.ErrInvalidFilter) {
		t.Fatalf("Err = %v", err)
	}
	if _, err := json.Marshal(f); err == nil {
		t.Fatal("an invalid filter marshalled")
	}
	if f.MatchPayload(map[string]any{"a": nil}) {
		t.Fatal("an invalid filter matched")
	}
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

func TestFilterNeverPanicsOnHostilePayloads(t *testing.T) {
	self := map[string]any{}
	self["me"] = self
	payloads := []any{panicky{}, map[string]any{"a": panicky{}}, self, make(chan int), func() {}, math.Inf(1), []any{math.NaN()}}
	filters := []bus.Filter{bus.Eq("a", 1), bus.Eq("", nil), bus.Eq("me.me.me", 1), bus.Not(bus.Eq("a.0", "x"))}
	for _, p := range payloads {
		for _, f := range filters {
			_ = f.MatchPayload(p)
		}
	}
}

func FuzzParseFilterAndMatch(f *testing.F) {
	f.Add([]byte(`{"a.0.b": 1, "$or": [{"c": "x"}, {"$not": {"d": null}}]}`), []byte(`{"a":[{"b":1}],"c":"x"}`))
	f.Add([]byte(`{"$and": []}`), []byte(`[1,2,{"a":1e400}]`))
	f.Add([]byte(`{"n": 1e999999999}`), []byte(`{"n": 1e999999999}`))
	f.Fuzz(func(t *testing.T, filterJSON, payloadJSON []byte) {
		flt, err := bus.ParseFilter(filterJSON)
		if err != nil {
			if !errors.Is(err, bus.ErrInvalidFilter) {
				t.Fatalf("error does not wrap ErrInvalidFilter: %v", err)
			}
			return
		}
		var payload any
		_ = json.Unmarshal(payloadJSON, &payload)
		got := flt.MatchPayload(payload)
		got2 := flt.MatchPayload(json.RawMessage(payloadJSON))
		data, err := json.Marshal(flt)
		if err != nil {
			t.Fatalf("a parsed filter did not marshal: %v", err)
		}
		again, err := bus.ParseFilter(data)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", data, err)
		}
		if again.MatchPayload(payload) != got {
			t.Fatalf("re-parsed filter %s disagrees", data)
		}
		if json.Valid(payloadJSON) && got != got2 {
			// json.Unmarshal into any loses number precision that RawMessage keeps,
			// so only compare when the decoded form is exact.
			if !strings.ContainsAny(string(payloadJSON), ".eE") && len(payloadJSON) < 16 {
				t.Fatalf("decoded %v and raw %s disagree", payload, payloadJSON)
			}
		}
	})
}
