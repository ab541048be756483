package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// maxJSONDepth bounds the nesting a filter follows in a payload, so a
// self-referencing map is an unmatched event instead of a stack overflow.
const maxJSONDepth = 512

var errTooDeep = errors.New("nested deeper than 512 levels (or refers to itself)")

// jsonForm returns the canonical JSON form of v: nil, bool, string,
// json.Number, []any or map[string]any, with numbers as json.Number. JSON
// shaped values are converted directly; anything else goes through
// json.Marshal (so structs follow their json tags). A panicking
// MarshalJSON or String method is an error, not a panic.
func jsonForm(v any) (out any, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("encoding the value panicked: %v", r)
		}
	}()
	return toJSON(v, 0)
}

func toJSON(v any, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errTooDeep
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool, string:
		return x, nil
	case json.Number:
		if !validNumber(string(x)) {
			return nil, fmt.Errorf("invalid number %q", string(x))
		}
		return x, nil
	case float64:
		return floatNumber(x, 64)
	case float32:
		return floatNumber(float64(x), 32)
	case int:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int8:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int16:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int32:
		return json.Number(strconv.FormatInt(int64(x), 10)), nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case uint:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint8:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint16:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint32:
		return json.Number(strconv.FormatUint(uint64(x), 10)), nil
	case uint64:
		return json.Number(strconv.FormatUint(x, 10)), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			c, err := toJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			c, err := toJSON(e, depth+1)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case json.RawMessage:
		return decodeJSON(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSON(b)
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

func floatNumber(f float64, bits int) (any, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("%v has no JSON form", f)
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, bits)), nil
}

func validNumber(s string) bool {
	// json.Valid accepts exactly the JSON number grammar for a lone number.
	return s != "" && json.Valid([]byte(s)) && (s[0] == '-' || (s[0] >= '0' && s[0] <= '9'))
}

// lookup follows segs into payload, converting to the JSON form only the
// parts it steps through that are not JSON shaped already, and returns the
// JSON form of what it found.
func lookup(payload any, segs []string) (found any, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			found, ok = nil, false
		}
	}()
	cur := payload
	for _, seg := range segs {
		switch c := cur.(type) {
		case map[string]any:
			cur, ok = c[seg]
			if !ok {
				return nil, false
			}
			continue
		case []any:
			i, ok := arrayIndex(seg, len(c))
			if !ok {
				return nil, false
			}
			cur = c[i]
			continue
		case nil, bool, string, json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
			return nil, false
		}
		conv, err := toJSON(cur, 0)
		if err != nil {
			return nil, false
		}
		switch c := conv.(type) {
		case map[string]any:
			cur, ok = c[seg]
			if !ok {
				return nil, false
			}
		case []any:
			i, ok := arrayIndex(seg, len(c))
			if !ok {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	v, err := toJSON(cur, 0)
	if err != nil {
		return nil, false
	}
	return v, true
}

func arrayIndex(seg string, n int) (int, bool) {
	if seg == "" || (len(seg) > 1 && seg[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(seg); i++ {
		if seg[i] < '0' || seg[i] > '9' {
			return 0, false
		}
	}
	i, err := strconv.Atoi(seg)
	if err != nil || i >= n {
		return 0, false
	}
	return i, true
}

// jsonEqual compares two canonical JSON forms structurally.
func jsonEqual(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return ok && numbersEqual(x, y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv) {
				return false
			}
		}
		return true
	}
	return false
}

// numbersEqual compares JSON numbers by value: integers exactly, others
// at 512 bits of precision (far beyond float64).
func numbersEqual(x, y json.Number) bool {
	if x == y {
		return true
	}
	if a, err := strconv.ParseInt(string(x), 10, 64); err == nil {
		if b, err := strconv.ParseInt(string(y), 10, 64); err == nil {
			return a == b
		}
	}
	a, _, errA := big.ParseFloat(string(x), 10, 512, big.ToNearestEven)
	b, _, errB := big.ParseFloat(string(y), 10, 512, big.ToNearestEven)
	if errA != nil || errB != nil {
		return false
	}
	return a.Cmp(b) == 0
}
