package bus

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// ErrInvalidFilter is wrapped by the error ParseFilter returns for filter
// JSON it cannot read, and by the error of a Filter built from a value
// that has no JSON form (Filter.Err). The message says where.
var ErrInvalidFilter = errors.New("invalid filter")

// Filter selects events by their payload. Build one with Eq, And, Or and
// Not, or read its JSON form with ParseFilter; the zero Filter matches
// every event.
//
// The payload is matched as its JSON form: a struct by its json tags, a
// map as is, a broker event's payload as decoded. A path is a
// dot-separated list of object keys; a segment of digits indexes an array
// ("items.0.sku"); the empty path is the whole payload. A path that leads
// nowhere (missing key, index out of range, or stepping into a string,
// number, bool or null) makes Eq false, so Not(Eq(…)) matches it. Values
// compare by structural equality of their JSON forms: objects key by key
// regardless of order, arrays element by element, numbers as JSON numbers
// (1, 1.0 and 1e0 are equal; integers compare exactly, beyond float64
// precision).
//
// A Filter is immutable and safe for concurrent use. Match never panics,
// whatever the payload.
type Filter struct {
	op    filterOp
	path  string
	segs  []string
	value any // the JSON form of the value: decoded with UseNumber
	subs  []Filter
	err   error
}

type filterOp uint8

const (
	opAll filterOp = iota // the zero Filter: matches everything
	opEq
	opAnd
	opOr
	opNot
)

// Eq matches events whose payload has value at path. A value without a
// JSON form (a channel, a NaN) gives a Filter that matches nothing and
// whose Err and MarshalJSON report why.
func Eq(path string, value any) Filter {
	f := Filter{op: opEq, path: path, segs: splitPath(path)}
	if err := checkPath(path); err != nil {
		f.err = err
		return f
	}
	v, err := jsonForm(value)
	if err != nil {
		f.err = fmt.Errorf("%w: value for %q: %v", ErrInvalidFilter, path, err)
		return f
	}
	f.value = v
	return f
}

// And matches events every filter matches; And() matches every event.
func And(filters ...Filter) Filter { return Filter{op: opAnd, subs: slices.Clone(filters)} }

// Or matches events at least one filter matches; Or() matches none.
func Or(filters ...Filter) Filter { return Filter{op: opOr, subs: slices.Clone(filters)} }

// Not matches events f does not match.
func Not(f Filter) Filter { return Filter{op: opNot, subs: []Filter{f}} }

// Err reports why the filter (or one of its parts) is invalid: a value
// without a JSON form or a malformed path given to Eq. An invalid filter
// matches nothing. ParseFilter never returns an invalid filter.
func (f Filter) Err() error {
	if f.err != nil {
		return f.err
	}
	for _, s := range f.subs {
		if err := s.Err(); err != nil {
			return err
		}
	}
	return nil
}

// Match reports whether the event's payload satisfies the filter.
func (f Filter) Match(e Event) bool { return f.matchValue(e.Payload) }

// MatchPayload is Match for a payload outside an Event.
func (f Filter) MatchPayload(payload any) bool { return f.matchValue(payload) }

func (f Filter) matchValue(payload any) bool {
	switch f.op {
	case opAll:
		return true
	case opEq:
		if f.err != nil {
			return false
		}
		v, ok := lookup(payload, f.segs)
		return ok && jsonEqual(v, f.value)
	case opAnd:
		for _, s := range f.subs {
			if !s.matchValue(payload) {
				return false
			}
		}
		return true
	case opOr:
		for _, s := range f.subs {
			if s.matchValue(payload) {
				return true
			}
		}
		return false
	case opNot:
		return !f.subs[0].matchValue(payload)
	}
	return false
}

// String returns the filter's JSON form.
func (f Filter) String() string {
	b, err := f.MarshalJSON()
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// MarshalJSON writes the filter's JSON form, which ParseFilter reads
// back as an equivalent filter: {"path": value} for Eq, {"$and": […]},
// {"$or": […]}, {"$not": {…}}, and {} for the zero Filter. An Eq whose
// path starts with "$" is written {"$eq": {"path": …, "value": …}}. It
// fails for an invalid filter (see Err).
func (f Filter) MarshalJSON() ([]byte, error) {
	if err := f.Err(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := f.writeJSON(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (f Filter) writeJSON(buf *bytes.Buffer) error {
	switch f.op {
	case opAll:
		buf.WriteString("{}")
	case opEq:
		val, err := json.Marshal(f.value)
		if err != nil {
			return err
		}
		key, _ := json.Marshal(f.path)
		if strings.HasPrefix(f.path, "$") {
			buf.WriteString(`{"$eq":{"path":`)
			buf.Write(key)
			buf.WriteString(`,"value":`)
			buf.Write(val)
			buf.WriteString("}}")
			return nil
		}
		buf.WriteByte('{')
		buf.Write(key)
		buf.WriteByte(':')
		buf.Write(val)
		buf.WriteByte('}')
	case opAnd, opOr:
		if f.op == opAnd {
			buf.WriteString(`{"$and":[`)
		} else {
			buf.WriteString(`{"$or":[`)
		}
		for i, s := range f.subs {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := s.writeJSON(buf); err != nil {
				return err
			}
		}
		buf.WriteString("]}")
	case opNot:
		buf.WriteString(`{"$not":`)
		if err := f.subs[0].writeJSON(buf); err != nil {
			return err
		}
		buf.WriteByte('}')
	}
	return nil
}

// UnmarshalJSON reads the JSON form ParseFilter reads, so a Filter can be
// a field of a config or request struct.
func (f *Filter) UnmarshalJSON(data []byte) error {
	g, err := ParseFilter(data)
	if err != nil {
		return err
	}
	*f = g
	return nil
}

// ParseFilter reads a filter's JSON form: an object whose keys are paths
// (each {"path": value} is Eq(path, value); several keys in one object
// must all match) or one of the operators "$and" and "$or" (an array of
// filters), "$not" (one filter) and "$eq" ({"path": …, "value": …}, for
// paths that start with "$"). An error wraps ErrInvalidFilter and says
// where: the byte offset of a syntax error, or the operator path
// ("$and[1].$not") of a misplaced value.
func ParseFilter(data []byte) (Filter, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return Filter{}, fmt.Errorf("%w: at byte %d: %v", ErrInvalidFilter, syn.Offset, err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return Filter{}, fmt.Errorf("%w: at byte %d: the filter ends early", ErrInvalidFilter, len(data))
		}
		return Filter{}, fmt.Errorf("%w: %v", ErrInvalidFilter, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Filter{}, fmt.Errorf("%w: at byte %d: data after the filter object", ErrInvalidFilter, dec.InputOffset())
	}
	return parseFilterValue(raw, "")
}

func parseFilterValue(raw any, where string) (Filter, error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return Filter{}, filterErr(where, "want an object, got %s", jsonKind(raw))
	}
	if len(obj) == 0 {
		return Filter{}, nil
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]Filter, 0, len(keys))
	for _, k := range keys {
		p, err := parseFilterEntry(k, obj[k], where)
		if err != nil {
			return Filter{}, err
		}
		parts = append(parts, p)
	}
	if len(parts) == 1 {
		return parts[0], nil
	}
	return Filter{op: opAnd, subs: parts}, nil
}

func parseFilterEntry(key string, val any, where string) (Filter, error) {
	here := key
	if where != "" {
		here = where + "." + key
	}
	switch key {
	case "$and", "$or":
		list, ok := val.([]any)
		if !ok {
			return Filter{}, filterErr(here, "want an array of filters, got %s", jsonKind(val))
		}
		subs := make([]Filter, len(list))
		for i, item := range list {
			s, err := parseFilterValue(item, fmt.Sprintf("%s[%d]", here, i))
			if err != nil {
				return Filter{}, err
			}
			subs[i] = s
		}
		if key == "$and" {
			return Filter{op: opAnd, subs: subs}, nil
		}
		return Filter{op: opOr, subs: subs}, nil
	case "$not":
		s, err := parseFilterValue(val, here)
		if err != nil {
			return Filter{}, err
		}
		return Not(s), nil
	case "$eq":
		obj, ok := val.(map[string]any)
		if !ok {
			return Filter{}, filterErr(here, `want {"path": …, "value": …}, got %s`, jsonKind(val))
		}
		path, ok := obj["path"].(string)
		value, hasValue := obj["value"]
		if !ok || !hasValue || len(obj) != 2 {
			return Filter{}, filterErr(here, `want exactly {"path": "<string>", "value": <any>}`)
		}
		return eqParsed(path, value, here)
	}
	if strings.HasPrefix(key, "$") {
		return Filter{}, filterErr(here, "unknown operator %q (known: $and, $or, $not, $eq)", key)
	}
	return eqParsed(key, val, where)
}

func eqParsed(path string, value any, where string) (Filter, error) {
	if err := checkPath(path); err != nil {
		if where == "" {
			return Filter{}, err
		}
		return Filter{}, fmt.Errorf("at %s: %w", where, err)
	}
	return Filter{op: opEq, path: path, segs: splitPath(path), value: value}, nil
}

func filterErr(where, format string, args ...any) error {
	if where == "" {
		where = "the top level"
	}
	return fmt.Errorf("%w: at %s: %s", ErrInvalidFilter, where, fmt.Sprintf(format, args...))
}

func checkPath(path string) error {
	if path == "" {
		return nil
	}
	for i, s := range strings.Split(path, ".") {
		if s == "" {
			return fmt.Errorf("%w: path %q: segment %d is empty", ErrInvalidFilter, path, i+1)
		}
	}
	return nil
}

func splitPath(path string) []string {
	if path == "" {
		return nil
	}
	return strings.Split(path, ".")
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
