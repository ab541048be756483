package brokerkit

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// Payload JSON decoding fast path.
//
// json.Unmarshal into an any scans the document twice (checkValid, then
// the decode) and goes through reflection; on the receive path of the
// broker engines it was the largest CPU cost after the network. decodeJSON
// parses the common case in one pass: a strict recursive-descent parser
// that accepts a document only when it is valid JSON and every string in
// it is free of escapes and valid UTF-8 (so its bytes are its value).
//
// Invariant: whatever it accepts decodes to the value json.Unmarshal
// gives (map[string]any with the last of duplicate keys, []any, float64
// from strconv.ParseFloat, string, bool, nil). On anything else (an
// escape sequence, invalid UTF-8, a number out of float64 range, a syntax
// error, nesting deeper than maxFastDepth) it reports false and the
// caller runs json.Unmarshal, which also produces the errors. The
// differential test in jsondec_test.go checks the invariant.
//
// The strings of one document (keys and values) are copied into one
// buffer of the document's size, allocated at the first string, instead
// of one allocation each: a page of small events has several strings per
// event, and the allocations were a measurable share of a poll's decoding
// (BenchmarkPoll in engines/redis). The strings' total length is below the
// document's, so the buffer never grows and the strings stay valid; one
// of them kept alone keeps at most the document's size alive.

// unmarshalJSON is json.Unmarshal(data, &v) with the fast path.
func unmarshalJSON(data []byte) (any, error) {
	p := jsonParser{data: data}
	if v, ok := p.value(0); ok {
		p.skipSpace()
		if p.pos == len(p.data) {
			return v, nil
		}
	}
	var v any
	err := json.Unmarshal(data, &v)
	return v, err
}

type jsonParser struct {
	data []byte
	pos  int
	strs []byte // the strings' bytes; cap len(data), never grown
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonParser) value(depth int) (any, bool) {
	if depth > maxFastDepth {
		return nil, false
	}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, ok := p.string()
		return s, ok
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	case c == '-' || c >= '0' && c <= '9':
		return p.number()
	}
	return nil, false
}

func (p *jsonParser) literal(lit string) bool {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return false
	}
	p.pos += len(lit)
	return true
}

func (p *jsonParser) object(depth int) (any, bool) {
	p.pos++ // '{'
	m := make(map[string]any)
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return m, true
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, false
		}
		k, ok := p.string()
		if !ok {
			return nil, false
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, false
		}
		p.pos++
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		m[k] = v
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return m, true
		default:
			return nil, false
		}
	}
}

func (p *jsonParser) array(depth int) (any, bool) {
	p.pos++ // '['
	s := []any{}
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return s, true
	}
	for {
		v, ok := p.value(depth + 1)
		if !ok {
			return nil, false
		}
		s = append(s, v)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, false
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return s, true
		default:
			return nil, false
		}
	}
}

// string reads a string without escapes whose bytes are valid UTF-8 and
// contain no control character; anything else is left to json.Unmarshal.
func (p *jsonParser) string() (string, bool) {
	start := p.pos + 1
	ascii := true
	for i := start; i < len(p.data); i++ {
		c := p.data[i]
		switch {
		case c == '"':
			raw := p.data[start:i]
			if !ascii && !utf8.Valid(raw) {
				return "", false
			}
			p.pos = i + 1
			return p.intern(raw), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// number reads a number that follows the JSON grammar exactly and
// converts it like json.Unmarshal into an any (strconv.ParseFloat).
func (p *jsonParser) number() (any, bool) {
	d, i := p.data, p.pos
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		return nil, false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			return nil, false
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	f, err := strconv.ParseFloat(string(d[p.pos:i]), 64)
	if err != nil {
		return nil, false
	}
	p.pos = i
	return f, true
}

// intern returns raw as a string whose bytes live in p.strs (see above).
func (p *jsonParser) intern(raw []byte) string {
	if len(raw) == 0 {
		return ""
	}
	if p.strs == nil {
		p.strs = make([]byte, 0, len(p.data))
	}
	if cap(p.strs)-len(p.strs) < len(raw) {
		return string(raw) // cannot happen (raw is a part of data between quotes); kept safe anyway
	}
	start := len(p.strs)
	p.strs = append(p.strs, raw...)
	return unsafe.String(&p.strs[start], len(raw))
}
