package core

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"time"
	"unicode/utf8"
	"unsafe"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"
)

// The per-message CloudEvents (message.published, message.received) are
// built here without modular.NewCloudEvent: the same attributes (UUIDv7
// id, source, type, time, specversion 1.0, application/json data) and the
// same data bytes encoding/json would write for the map, but without
// reflection, URL parsing or a crypto-random read per event.

var (
	eventSourceRef  = *mustParseURIRef(EventSource)
	jsonContentType = cloudevents.ApplicationJSON // shared: setters replace the pointer, never the string
)

func mustParseURIRef(s string) *types.URIRef {
	u := types.ParseURIRef(s)
	if u == nil {
		panic("eventbus: invalid CloudEvents source " + s)
	}
	return u
}

// messageEvent holds everything one per-message CloudEvent points to, so
// that building it costs a single allocation: the event context, its
// subject and time, the id's text and (when it fits) the JSON data.
type messageEvent struct {
	ctx     cloudevent.EventContextV1
	subject string
	time    types.Timestamp
	id      [36]byte
	buf     [96]byte
}

// newMessageEvent returns a CloudEvent of eventType about topic (its
// subject) whose JSON data fill writes into the buffer it is given.
// now is the event's time (and its id's timestamp).
func newMessageEvent(eventType, topic string, now time.Time, fill func(jsonObject) jsonObject) cloudevents.Event {
	b := &messageEvent{subject: topic, time: types.Timestamp{Time: now}}
	putUUIDv7(&b.id, now)
	b.ctx = cloudevent.EventContextV1{
		ID:              unsafe.String(&b.id[0], len(b.id)),
		Source:          eventSourceRef,
		Type:            eventType,
		DataContentType: &jsonContentType,
		Subject:         &b.subject,
		Time:            &b.time,
	}
	return cloudevents.Event{Context: &b.ctx, DataEncoded: fill(jsonObject(b.buf[:0])).done()}
}

// putUUIDv7 writes an RFC 9562 version 7 UUID in its 36-character form:
// 48 bits of Unix milliseconds, then 74 random bits (math/rand/v2, seeded
// from the OS; an id, not a security token).
func putUUIDv7(s *[36]byte, now time.Time) {
	var u [16]byte
	binary.BigEndian.PutUint64(u[0:8], uint64(now.UnixMilli())<<16|rand.Uint64()&0xffff)
	binary.BigEndian.PutUint64(u[8:16], rand.Uint64())
	u[6] = u[6]&0x0f | 0x70 // version 7
	u[8] = u[8]&0x3f | 0x80 // variant 10
	const hex = "0123456789abcdef"
	j := 0
	for i, b := range u {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s[j] = '-'
			j++
		}
		s[j], s[j+1] = hex[b>>4], hex[b&0x0f]
		j += 2
	}
}

// jsonObject appends a JSON object to dst from key/value pairs given in
// ascending key order (the order encoding/json writes a map in). A value
// is a string or an int64.
type jsonObject []byte

func (o jsonObject) str(key, v string) jsonObject {
	o = o.key(key)
	return appendJSONString(o, v)
}

func (o jsonObject) int(key string, v int64) jsonObject {
	o = o.key(key)
	return strconv.AppendInt(o, v, 10)
}

func (o jsonObject) key(k string) jsonObject {
	if len(o) == 0 {
		o = append(o, '{')
	} else {
		o = append(o, ',')
	}
	o = appendJSONString(o, k)
	return append(o, ':')
}

func (o jsonObject) done() []byte { return append(o, '}') }

// appendJSONString appends s as a JSON string exactly as encoding/json
// writes it by default: HTML-sensitive characters (<, >, &) and U+2028,
// U+2029 escaped, invalid UTF-8 replaced by U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
