package brokerkit

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"

	"github.com/switchyard-go/eventbus/internal/jsonstr"
)

// Payload JSON fast path.
//
// encoding/json.Marshal reaches every value through reflection and, for a
// map, sorts reflected keys; on the broker engines' publish path that was
// the largest single CPU cost (payloads are mostly map[string]any of
// strings and numbers). appendJSON encodes the shapes that decoded JSON
// and typical payloads take (nil, bool, string, float64, the integer
// kinds, map[string]any, []any, map[string]string, []string) directly.
//
// Invariant: for every value it accepts, appendJSON produces exactly the
// bytes json.Marshal produces (sorted keys, HTML-safe escaping of <, > and
// &, U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD, floats
// formatted like encoding/json's float64 encoder). Any other value (a
// struct, a json.Marshaler, a NaN…) makes it report false, and the caller
// falls back to json.Marshal, which also produces the errors. The
// differential test in jsonenc_test.go checks the invariant.

// maxFastDepth bounds the recursion of the fast path; deeper values go
// to json.Marshal.
const maxFastDepth = 32

// marshalJSON is json.Marshal with the fast path for common shapes.
func marshalJSON(v any) ([]byte, error) {
	if b, ok := appendJSON(make([]byte, 0, 128), v, 0); ok {
		return b, nil
	}
	return json.Marshal(v)
}

func appendJSON(b []byte, v any, depth int) ([]byte, bool) {
	if depth > maxFastDepth {
		return b, false
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), true
	case string:
		return jsonstr.Append(b, x), true
	case bool:
		return strconv.AppendBool(b, x), true
	case float64:
		return appendJSONFloat(b, x, 64)
	case float32:
		return appendJSONFloat(b, float64(x), 32)
	case int:
		return strconv.AppendInt(b, int64(x), 10), true
	case int64:
		return strconv.AppendInt(b, x, 10), true
	case int32:
		return strconv.AppendInt(b, int64(x), 10), true
	case int16:
		return strconv.AppendInt(b, int64(x), 10), true
	case int8:
		return strconv.AppendInt(b, int64(x), 10), true
	case uint:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(b, x, 10), true
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10), true
	case map[string]any:
		if x == nil {
			return append(b, "null"...), true
		}
		return appendJSONObject(b, x, depth)
	case map[string]string:
		if x == nil {
			return append(b, "null"...), true
		}
		keys := sortedKeys(x)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, k)
			b = append(b, ':')
			b = jsonstr.Append(b, x[k])
		}
		return append(b, '}'), true
	case []any:
		if x == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var ok bool
			if b, ok = appendJSON(b, e, depth+1); !ok {
				return b, false
			}
		}
		return append(b, ']'), true
	case []string:
		if x == nil {
			return append(b, "null"...), true
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsonstr.Append(b, e)
		}
		return append(b, ']'), true
	}
	return b, false
}

func appendJSONObject(b []byte, m map[string]any, depth int) ([]byte, bool) {
	var small [8]string
	keys := small[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, k)
		b = append(b, ':')
		var ok bool
		if b, ok = appendJSON(b, m[k], depth+1); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendJSONFloat formats f the way encoding/json's floatEncoder does;
// NaN and infinities are not JSON and go to the slow path (for its
// error).
func appendJSONFloat(b []byte, f float64, bits int) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	abs := math.Abs(f)
	fmt := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			fmt = 'e'
		}
	}
	b = strconv.AppendFloat(b, f, fmt, -1, bits)
	if fmt == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}
