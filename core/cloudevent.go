package core

import (
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"time"
	"unsafe"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	cloudevent "github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/switchyard-go/eventbus/internal/jsonstr"
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
	return jsonstr.Append(o, v)
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
	o = jsonstr.Append(o, k)
	return append(o, ':')
}

func (o jsonObject) done() []byte { return append(o, '}') }
