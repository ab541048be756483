package brokerkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"strings"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/jsonstr"
)

// ContentTypeBatch is the media type of the CloudEvents batched content
// mode (a JSON array of structured events), which the engines do not
// accept: such an entry is dead-lettered with a reason wrapping
// ErrBatchedMode.
const ContentTypeBatch = "application/cloudevents-batch+json"

// EncodeStructured encodes e in structured content mode: one
// application/cloudevents+json document (with a fresh id). The document
// is valid UTF-8 JSON: JSON data is embedded as the "data" member, any
// other data (a []byte Payload) is base64-encoded in "data_base64", as
// the CloudEvents JSON event format requires. Size errors as for
// EncodeBinary.
func (c *Codec) EncodeStructured(e bus.Event) ([]byte, error) {
	return c.encodeStructured(e, origin{})
}

// EncodeStructuredContext is EncodeStructured with the type and source set
// by WithOrigin on ctx, if any.
func (c *Codec) EncodeStructuredContext(ctx context.Context, e bus.Event) ([]byte, error) {
	return c.encodeStructured(e, originFrom(ctx))
}

func (c *Codec) encodeStructured(e bus.Event, o origin) ([]byte, error) {
	m, err := c.encodeBinary(e, enginekit.NewID(), o)
	if err != nil {
		return nil, err
	}
	return appendStructured(make([]byte, 0, 256+len(m.Data)*4/3), &m), nil
}

// appendStructured appends m as a JSON event format document. Attribute
// values are JSON strings (invalid UTF-8 in them is replaced by U+FFFD,
// so the document is always valid).
func appendStructured(b []byte, m *BinaryMessage) []byte {
	b = append(b, '{')
	for i, a := range m.Attributes {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, a.Name)
		b = append(b, ':')
		b = jsonstr.Append(b, a.Value)
	}
	if m.ContentType != "" {
		b = append(b, `,"datacontenttype":`...)
		b = jsonstr.Append(b, m.ContentType)
	}
	if m.Data != nil {
		if IsJSONContentType(m.ContentType) || m.ContentType == "" {
			// Our JSON data is valid JSON (encodeData checks
			// json.RawMessage payloads, and marshalJSON output is valid).
			b = append(b, `,"data":`...)
			b = append(b, m.Data...)
		} else {
			b = append(b, `,"data_base64":"`...)
			b = base64.StdEncoding.AppendEncode(b, m.Data)
			b = append(b, '"')
		}
	}
	return append(b, '}')
}

// DecodeStructured decodes an application/cloudevents+json document, ours
// or any producer's ("data" or "data_base64"). Errors wrap ErrMalformed; a
// JSON array (the batched content mode) also wraps ErrBatchedMode.
func DecodeStructured(b []byte) (Envelope, error) {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		return Envelope{}, fmt.Errorf("%w: %w", broker.ErrMalformed, broker.ErrBatchedMode)
	}
	var ce event.Event
	if err := json.Unmarshal(b, &ce); err != nil {
		return Envelope{}, fmt.Errorf("%w: %v", broker.ErrMalformed, err)
	}
	return FromCloudEvent(ce)
}

// Mode is a CloudEvents content mode, as told by a message's content type.
type Mode int

const (
	// ModeBinary: attributes as headers or fields, the data as the body.
	ModeBinary Mode = iota
	// ModeStructured: the body is one application/cloudevents+json
	// document.
	ModeStructured
	// ModeBatched: the body is an application/cloudevents-batch+json
	// array (not accepted).
	ModeBatched
	// ModeUnsupportedFormat: an application/cloudevents+<format> body in
	// an event format other than JSON (not accepted).
	ModeUnsupportedFormat
)

// ContentMode tells the content mode of a message by its content type,
// as the CloudEvents protocol bindings do: application/cloudevents+json is
// structured, application/cloudevents-batch+json batched, any other
// application/cloudevents… type a structured format this codec cannot
// read, and anything else (including no content type) binary.
func ContentMode(contentType string) Mode {
	if !strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/cloudevents") {
		return ModeBinary
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ModeUnsupportedFormat
	}
	switch mt {
	case ContentTypeStructured:
		return ModeStructured
	case ContentTypeBatch:
		return ModeBatched
	}
	return ModeUnsupportedFormat
}

// DecodeMessage decodes a received message in the content mode its
// content type says (see ContentMode): binary (DecodeBinary), or
// structured, with m.Data holding the document (DecodeStructured). A
// batched message, or a structured one in another event format, is an
// error wrapping ErrMalformed (and ErrBatchedMode for a batch) that says
// so. Redis and Kafka engines decode every entry with it.
func DecodeMessage(m BinaryMessage) (Envelope, error) {
	switch ContentMode(m.ContentType) {
	case ModeStructured:
		return DecodeStructured(m.Data)
	case ModeBatched:
		return Envelope{}, fmt.Errorf("%w: %w (content type %s)", broker.ErrMalformed, broker.ErrBatchedMode, m.ContentType)
	case ModeUnsupportedFormat:
		return Envelope{}, fmt.Errorf("%w: structured content mode in event format %q: only application/cloudevents+json is read", broker.ErrMalformed, m.ContentType)
	}
	return DecodeBinary(m)
}
