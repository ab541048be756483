package redis

import (
	"bytes"

	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Stream entries are CloudEvents in binary content mode, one field per
// attribute, named exactly like the attribute (specversion, id, source,
// type, subject, time, datacontenttype and the extensions), and the data
// in the field "data". No extension can be named "data" (it is a
// CloudEvents context attribute name), so the layout is unambiguous, and
// any Redis client can read an entry as a flat CloudEvent.
//
// On receive, an entry in structured content mode is accepted too: the
// whole event as one application/cloudevents+json document in field
// "data", with that content type in field "content-type" (or
// "datacontenttype") and no "specversion" field. An entry whose content
// type is application/cloudevents-batch+json (batched mode) is
// dead-lettered as malformed, with a reason saying so.
const (
	fieldData        = "data"
	fieldContentType = "content-type"
)

// boxedNames holds the field names every entry has, already converted to
// interface values, so building an XADD does not allocate for them.
var boxedNames = func() map[string]any {
	m := map[string]any{}
	for _, n := range []string{"xadd", brokerkit.AttrSpecVersion, brokerkit.AttrID, brokerkit.AttrSource, brokerkit.AttrType,
		brokerkit.AttrSubject, brokerkit.AttrTime, brokerkit.AttrDataContentType, fieldData, "*", "MAXLEN", "~"} {
		m[n] = n
	}
	return m
}()

func boxName(n string) any {
	if b, ok := boxedNames[n]; ok {
		return b
	}
	return n
}

// xaddCmd returns the complete XADD command for m on stream:
// XADD stream [MAXLEN ~ n] * field value ….
func (b *EventBus) xaddCmd(stream string, m brokerkit.BinaryMessage) []any {
	v := make([]any, 0, 2*len(m.Attributes)+10)
	v = append(v, boxName("xadd"), stream)
	if b.cfg.MaxLen > 0 {
		v = append(v, boxName("MAXLEN"), boxName("~"), b.cfg.MaxLen)
	}
	v = append(v, boxName("*"))
	for _, a := range m.Attributes {
		v = append(v, boxName(a.Name), a.Value)
	}
	if m.ContentType != "" {
		v = append(v, boxName(brokerkit.AttrDataContentType), m.ContentType)
	}
	if m.Data != nil {
		v = append(v, boxName(fieldData), m.Data)
	}
	return v
}

// entryMessage turns a read entry's fields back into a BinaryMessage
// that owns its data: borrowedMessage (poll_fetch.go) with the data copied
// out of the reply, so that the message may be kept (dead letters keep the
// raw data) and decoded with decodeEntry.
func entryMessage(values map[string]any) brokerkit.BinaryMessage {
	m := borrowedMessage(values, make([]brokerkit.Attribute, 0, len(values)))
	if m.Data != nil {
		m.Data = bytes.Clone(m.Data)
	}
	return m
}

// decodeEntry decodes an entry's message: binary mode when it has a
// specversion field, else the mode its content type says (structured
// mode, or an error for batched mode; see brokerkit.DecodeMessage).
func decodeEntry(m brokerkit.BinaryMessage) (brokerkit.Envelope, error) {
	if _, ok := m.Attr(brokerkit.AttrSpecVersion); ok {
		return brokerkit.DecodeBinary(m)
	}
	return brokerkit.DecodeMessage(m)
}
