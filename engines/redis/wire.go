package redis

import (
	"fmt"

	"github.com/switchyard-go/eventbus/broker"
)

// Stream entries are CloudEvents in binary content mode, one field per
// attribute, named exactly like the attribute (specversion, id, source,
// type, subject, time, datacontenttype and the extensions), and the data
// in the field "data". No extension can be named "data" (it is a
// CloudEvents context attribute name), so the layout is unambiguous, and
// any Redis client can read an entry as a flat CloudEvent.
const fieldData = "data"

// entryValues returns the XADD field/value list of m.
func entryValues(m broker.BinaryMessage) []any {
	n := 2*len(m.Attributes) + 4
	v := make([]any, 0, n)
	for _, a := range m.Attributes {
		v = append(v, a.Name, a.Value)
	}
	if m.ContentType != "" {
		v = append(v, broker.AttrDataContentType, m.ContentType)
	}
	if m.Data != nil {
		v = append(v, fieldData, m.Data)
	}
	return v
}

// entryMessage turns a read entry's fields back into a BinaryMessage.
// Field values arrive as strings from go-redis.
func entryMessage(values map[string]any) broker.BinaryMessage {
	m := broker.BinaryMessage{Attributes: make([]broker.Attribute, 0, len(values))}
	for k, raw := range values {
		s, ok := raw.(string)
		if !ok {
			s = fmt.Sprint(raw)
		}
		switch k {
		case fieldData:
			m.Data = []byte(s)
		case broker.AttrDataContentType:
			m.ContentType = s
		default:
			m.Attributes = append(m.Attributes, broker.Attribute{Name: k, Value: s})
		}
	}
	return m
}
