package brokerkit

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// CloudEvents attribute names used by the binary mode.
const (
	AttrSpecVersion     = "specversion"
	AttrID              = "id"
	AttrSource          = "source"
	AttrType            = "type"
	AttrSubject         = "subject"
	AttrTime            = "time"
	AttrDataContentType = "datacontenttype"

	// SpecVersion is the CloudEvents version written.
	SpecVersion = "1.0"

	// ContentTypeJSON is the datacontenttype of JSON-encoded payloads.
	ContentTypeJSON = "application/json"
	// ContentTypeOctetStream is the default datacontenttype of a []byte
	// payload.
	ContentTypeOctetStream = "application/octet-stream"
	// ContentTypeStructured is the media type of a structured-mode event.
	ContentTypeStructured = "application/cloudevents+json"

	// MetadataKeyContentType names the Metadata entry that sets the
	// datacontenttype of a []byte Payload on publish, and that carries a
	// received non-JSON content type (other than
	// application/octet-stream) on receive.
	MetadataKeyContentType = "contentType"
)

// Attribute is one CloudEvents attribute (context attribute or extension)
// in its canonical string form, without any protocol prefix: a Kafka
// engine writes it as header "ce_"+Name, the Redis engine as a stream
// field.
type Attribute struct {
	Name  string
	Value string
}

// BinaryMessage is an event in CloudEvents binary content mode: the
// attributes travel as string pairs (headers or fields), the data as the
// body, and the datacontenttype separately (Kafka: the content-type
// header).
type BinaryMessage struct {
	// Attributes holds specversion, id, source, type, subject, time and
	// one entry per extension; not datacontenttype.
	Attributes []Attribute
	// ContentType is the datacontenttype; empty when there is no data.
	ContentType string
	// Data is the event data (the encoded Payload); nil when none.
	Data []byte
}

// Attr returns the value of the named attribute.
func (m *BinaryMessage) Attr(name string) (string, bool) {
	for _, a := range m.Attributes {
		if a.Name == name {
			return a.Value, true
		}
	}
	return "", false
}

// Envelope is a received event with the CloudEvents attributes that have
// no place in bus.Event (Attributes returns them as one value).
type Envelope struct {
	// Event is what the handler receives.
	Event bus.Event
	// ID is the CloudEvents id (unique per Publish; use it to de-duplicate
	// redeliveries).
	ID string
	// Source and Type are the CloudEvents source and type attributes.
	Source, Type string
	// Subject is the subject attribute ("" when absent).
	Subject string
	// SpecVersion, DataContentType and DataSchema are the attributes of
	// those names ("" when absent).
	SpecVersion, DataContentType, DataSchema string
}

// Codec turns bus events into CloudEvents and back. It is immutable and
// safe for concurrent use.
type Codec struct {
	source     string
	maxPayload int
}

// NewCodec returns a codec for o (WithDefaults is applied).
func NewCodec(o broker.Options) *Codec {
	o = o.WithDefaults()
	return &Codec{source: o.Source, maxPayload: o.MaxPayloadBytes}
}

// encodeData returns the data and datacontenttype of e's Payload, and
// whether Metadata[MetadataKeyContentType] was consumed.
func encodeData(e bus.Event) (data []byte, ct string, usedCT bool, err error) {
	switch p := e.Payload.(type) {
	case nil:
		return nil, "", false, nil
	case json.RawMessage:
		if !validJSON(p) {
			return nil, "", false, fmt.Errorf("topic %q: json.RawMessage payload is not valid UTF-8 JSON", e.Topic)
		}
		return p, ContentTypeJSON, false, nil
	case []byte:
		if s, ok := e.Metadata[MetadataKeyContentType].(string); ok && s != "" {
			if IsJSONContentType(s) && !validJSON(p) {
				return nil, "", false, fmt.Errorf("topic %q: []byte payload with content type %q is not valid UTF-8 JSON", e.Topic, s)
			}
			return p, s, true, nil
		}
		return p, ContentTypeOctetStream, false, nil
	default:
		b, err := marshalJSON(p)
		if err != nil {
			return nil, "", false, fmt.Errorf("topic %q: encode payload as JSON: %w", e.Topic, err)
		}
		return b, ContentTypeJSON, false, nil
	}
}

// validJSON reports whether b is one JSON value in valid UTF-8 (Go's
// json.Valid accepts invalid UTF-8 inside strings; stricter readers do
// not).
func validJSON(b []byte) bool { return utf8.Valid(b) && json.Valid(b) }

// EncodeBinary encodes e in binary content mode with a fresh id. It
// returns a *PayloadSizeError (wrapping bus.ErrPayloadTooLarge) when the
// data exceeds MaxPayloadBytes, and an error when the payload or a
// Metadata value cannot be JSON-encoded.
func (c *Codec) EncodeBinary(e bus.Event) (BinaryMessage, error) {
	return c.encodeBinary(e, enginekit.NewID(), origin{})
}

// EncodeBinaryContext is EncodeBinary with the type and source set by
// WithOrigin on ctx, if any.
func (c *Codec) EncodeBinaryContext(ctx context.Context, e bus.Event) (BinaryMessage, error) {
	return c.encodeBinary(e, enginekit.NewID(), originFrom(ctx))
}

func (c *Codec) encodeBinary(e bus.Event, id string, o origin) (BinaryMessage, error) {
	data, ct, usedCT, err := encodeData(e)
	if err != nil {
		return BinaryMessage{}, err
	}
	if c.maxPayload > 0 && len(data) > c.maxPayload {
		return BinaryMessage{}, &broker.PayloadSizeError{Topic: e.Topic, Size: len(data), Limit: c.maxPayload}
	}
	created := e.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	source, typ := c.source, e.Topic
	if o.source != "" {
		source = o.source
	}
	if o.typ != "" {
		typ = o.typ
	}
	attrs := make([]Attribute, 0, 6+len(e.Metadata))
	attrs = append(attrs,
		Attribute{AttrSpecVersion, SpecVersion},
		Attribute{AttrID, id},
		Attribute{AttrSource, source},
		Attribute{AttrType, typ},
		Attribute{AttrSubject, e.Topic},
		Attribute{AttrTime, types.FormatTime(created)},
	)
	for k, v := range e.Metadata {
		if usedCT && k == MetadataKeyContentType {
			continue
		}
		name, value, err := extensionFor(k, v)
		if err != nil {
			return BinaryMessage{}, fmt.Errorf("topic %q: encode metadata %q as JSON: %w", e.Topic, k, err)
		}
		attrs = append(attrs, Attribute{name, value})
	}
	return BinaryMessage{Attributes: attrs, ContentType: ct, Data: data}, nil
}

// DecodeBinary decodes a binary-mode message, ours or any CloudEvents 1.0
// producer's. The Topic is the subject attribute (or the type when there
// is no subject); engines that know the topic an entry was read from
// (Kafka, Redis) replace it with that. It returns an error wrapping
// ErrMalformed when a required attribute (specversion, id, source, type)
// is missing, the time is not RFC 3339, or JSON data or a JSON metadata
// value does not parse.
func DecodeBinary(m BinaryMessage) (Envelope, error) {
	return decodeBinary(m, false)
}

// DecodeBinaryBorrowed is DecodeBinary for a message whose Data is only
// lent for the call: memory the caller reuses, or a string's bytes (a
// Redis reply), which must never be written. JSON data is parsed straight
// from it (the decoded value shares no memory with m.Data); other data
// becomes the Payload as a copy (nil stays nil, empty stays empty), so
// the Envelope never refers to m.Data. The result is otherwise exactly
// DecodeBinary's: receive paths that read data as strings use it to skip
// a copy of every payload.
func DecodeBinaryBorrowed(m BinaryMessage) (Envelope, error) {
	return decodeBinary(m, true)
}

// decodeBinary is DecodeBinary; borrowed says m.Data must not be
// retained (see DecodeBinaryBorrowed).
func decodeBinary(m BinaryMessage, borrowed bool) (Envelope, error) {
	var env Envelope
	for _, a := range m.Attributes {
		switch a.Name {
		case AttrSpecVersion:
			env.SpecVersion = a.Value
		case AttrID:
			env.ID = a.Value
		case AttrSource:
			env.Source = a.Value
		case AttrType:
			env.Type = a.Value
		case AttrSubject:
			env.Subject = a.Value
		case AttrTime:
			t, err := types.ParseTime(a.Value)
			if err != nil {
				return env, fmt.Errorf("%w: time %q: %v", broker.ErrMalformed, a.Value, err)
			}
			env.Event.CreatedAt = t
		case AttrDataContentType:
			if m.ContentType == "" {
				m.ContentType = a.Value
			}
		case "dataschema":
			env.DataSchema = a.Value
		default:
			if contextAttributes[a.Name] {
				continue // 0.3 attributes and the like: no place in bus.Event
			}
			if err := setMetadata(&env.Event, a.Name, a.Value); err != nil {
				return env, err
			}
		}
	}
	switch {
	case env.SpecVersion == "":
		return env, fmt.Errorf("%w: missing specversion", broker.ErrMalformed)
	case env.ID == "":
		return env, fmt.Errorf("%w: missing id", broker.ErrMalformed)
	case env.Source == "":
		return env, fmt.Errorf("%w: missing source", broker.ErrMalformed)
	case env.Type == "":
		return env, fmt.Errorf("%w: missing type", broker.ErrMalformed)
	}
	env.Event.Topic = env.Subject
	if env.Subject == "" {
		env.Event.Topic = env.Type
	}
	env.DataContentType = m.ContentType
	if err := decodeData(&env.Event, m.ContentType, m.Data, borrowed); err != nil {
		return env, err
	}
	return env, nil
}

func setMetadata(e *bus.Event, name, value string) error {
	key, isJSON := MetadataKey(name)
	var v any = value
	if isJSON {
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			if _, alias := aliasTargets[name]; alias {
				v = value // another producer's plain text under one of our names
			} else {
				return fmt.Errorf("%w: extension %s: %v", broker.ErrMalformed, name, err)
			}
		}
	}
	if e.Metadata == nil {
		e.Metadata = make(map[string]any, 4)
	}
	e.Metadata[key] = v
	return nil
}

// IsJSONContentType reports whether ct is a JSON media type
// (application/json, text/json, or any "+json" suffix).
func IsJSONContentType(ct string) bool {
	if ct == ContentTypeJSON {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == ContentTypeJSON || mt == "text/json" || strings.HasSuffix(mt, "+json")
}

// decodeData sets e's Payload (and the content type Metadata) from data;
// borrowed: data must not be retained, so non-JSON data is copied (the
// JSON decoders never retain their input).
func decodeData(e *bus.Event, ct string, data []byte, borrowed bool) error {
	if ct == "" && len(data) == 0 {
		return nil
	}
	if ct == "" || IsJSONContentType(ct) {
		// No content type: the CloudEvents default for data is JSON.
		if len(data) == 0 {
			return nil
		}
		v, err := unmarshalJSON(data)
		if err != nil {
			return fmt.Errorf("%w: data is not valid JSON (datacontenttype %q): %v", broker.ErrMalformed, ct, err)
		}
		e.Payload = v
		return nil
	}
	if borrowed && data != nil {
		data = append(make([]byte, 0, len(data)), data...)
	}
	e.Payload = data
	if ct != ContentTypeOctetStream {
		if e.Metadata == nil {
			e.Metadata = make(map[string]any, 1)
		}
		e.Metadata[MetadataKeyContentType] = ct
	}
	return nil
}

// ToCloudEvent encodes e as an sdk-go CloudEvent (with a fresh id), for
// callers that hand events to other CloudEvents tooling.
func (c *Codec) ToCloudEvent(e bus.Event) (event.Event, error) {
	m, err := c.EncodeBinary(e)
	if err != nil {
		return event.Event{}, err
	}
	return m.CloudEvent()
}

// CloudEvent converts m into an sdk-go CloudEvent, validating it.
func (m *BinaryMessage) CloudEvent() (event.Event, error) {
	ce := event.New(SpecVersion)
	for _, a := range m.Attributes {
		switch a.Name {
		case AttrSpecVersion:
			if a.Value != SpecVersion {
				ce.SetSpecVersion(a.Value)
			}
		case AttrID:
			ce.SetID(a.Value)
		case AttrSource:
			ce.SetSource(a.Value)
		case AttrType:
			ce.SetType(a.Value)
		case AttrSubject:
			ce.SetSubject(a.Value)
		case AttrTime:
			t, err := types.ParseTime(a.Value)
			if err != nil {
				return ce, fmt.Errorf("%w: time %q: %v", broker.ErrMalformed, a.Value, err)
			}
			ce.SetTime(t)
		default:
			ce.SetExtension(a.Name, a.Value) // a bad name surfaces in Validate
		}
	}
	if m.ContentType != "" || m.Data != nil {
		ce.SetDataContentType(m.ContentType)
		ce.DataEncoded = m.Data
		// Binary data travels as data_base64 in the JSON event format.
		ce.DataBase64 = m.ContentType != "" && !IsJSONContentType(m.ContentType)
	}
	if err := ce.Validate(); err != nil {
		return ce, fmt.Errorf("%w: %v", broker.ErrMalformed, err)
	}
	return ce, nil
}

// FromCloudEvent decodes an sdk-go CloudEvent (any producer's).
func FromCloudEvent(ce event.Event) (Envelope, error) {
	m := BinaryMessage{ContentType: ce.DataContentType(), Data: ce.Data()}
	m.Attributes = append(m.Attributes,
		Attribute{AttrSpecVersion, ce.SpecVersion()},
		Attribute{AttrID, ce.ID()},
		Attribute{AttrSource, ce.Source()},
		Attribute{AttrType, ce.Type()},
	)
	if s := ce.Subject(); s != "" {
		m.Attributes = append(m.Attributes, Attribute{AttrSubject, s})
	}
	if t := ce.Time(); !t.IsZero() {
		m.Attributes = append(m.Attributes, Attribute{AttrTime, types.FormatTime(t)})
	}
	if s := ce.DataSchema(); s != "" {
		m.Attributes = append(m.Attributes, Attribute{"dataschema", s})
	}
	env, err := DecodeBinary(m)
	if err != nil {
		return env, err
	}
	for name, v := range ce.Extensions() {
		if s, ok := v.(string); ok {
			if err := setMetadata(&env.Event, name, s); err != nil {
				return env, err
			}
			continue
		}
		key, _ := MetadataKey(name)
		if env.Event.Metadata == nil {
			env.Event.Metadata = make(map[string]any, 4)
		}
		env.Event.Metadata[key] = v
	}
	return env, nil
}
