package kafka

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"unsafe"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Kafka protocol binding of CloudEvents. The engine writes binary content
// mode: every attribute travels as a record header "ce_<name>", the
// datacontenttype as "content-type", the data as the record value. The
// record key is the event's partition key (bus.EventKey), so one key's
// events share a partition and stay in order. It reads binary and
// structured mode (content-type application/cloudevents+json, the event
// as one JSON document in the value), told apart by the content-type
// header as the binding says.
const (
	headerPrefix      = "ce_"
	headerContentType = "content-type"
)

// staticKeys holds the header keys of the attributes every event carries,
// so that encoding them allocates nothing.
var staticKeys = func() map[string][]byte {
	m := map[string][]byte{}
	for _, a := range []string{brokerkit.AttrSpecVersion, brokerkit.AttrID, brokerkit.AttrSource, brokerkit.AttrType,
		brokerkit.AttrSubject, brokerkit.AttrTime, brokerkit.AttrDataContentType, "partitionkey"} {
		m[a] = []byte(headerPrefix + a)
	}
	return m
}()

var contentTypeKey = []byte(headerContentType)

func headerKey(name string) []byte {
	if k, ok := staticKeys[name]; ok {
		return k
	}
	return []byte(headerPrefix + name)
}

// stringBytes returns the bytes of s without copying. The result must not
// be modified: sarama only reads header values and record bytes while
// encoding a batch.
func stringBytes(s string) []byte {
	if s == "" {
		return nil
	}
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// bytesString returns b as a string without copying; the caller must not
// keep the string beyond b's lifetime or modify b meanwhile.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// outMessage is a pooled ProducerMessage with room for its headers; it is
// recycled once sarama reported the record's outcome.
type outMessage struct {
	msg     sarama.ProducerMessage
	headers [10]sarama.RecordHeader
	key     stringKey
	value   byteValue
}

var messagePool = sync.Pool{New: func() any { return new(outMessage) }}

// stringKey and byteValue are sarama.Encoder implementations that live
// inside outMessage, so that setting Key and Value allocates nothing.
type stringKey struct{ s string }

func (k *stringKey) Encode() ([]byte, error) { return stringBytes(k.s), nil }
func (k *stringKey) Length() int             { return len(k.s) }

type byteValue struct{ b []byte }

func (v *byteValue) Encode() ([]byte, error) { return v.b, nil }
func (v *byteValue) Length() int             { return len(v.b) }

// newRecord encodes e as a Kafka record (CloudEvents binary mode). The
// returned message comes from a pool: the ack loop recycles it.
func (b *EventBus) newRecord(ctx context.Context, e bus.Event) (*sarama.ProducerMessage, error) {
	m, err := b.codec.EncodeBinaryContext(ctx, e)
	if err != nil {
		return nil, err
	}
	om := messagePool.Get().(*outMessage)
	hs := om.headers[:0]
	for _, a := range m.Attributes {
		hs = append(hs, sarama.RecordHeader{Key: headerKey(a.Name), Value: stringBytes(a.Value)})
	}
	if m.ContentType != "" {
		hs = append(hs, sarama.RecordHeader{Key: contentTypeKey, Value: stringBytes(m.ContentType)})
	}
	om.key.s = bus.EventKey(ctx, e)
	om.value.b = m.Data
	om.msg = sarama.ProducerMessage{Topic: e.Topic, Key: &om.key, Value: &om.value, Headers: hs}
	return &om.msg, nil
}

// releaseMessage returns a message built by newRecord to the pool. Every
// message the engine hands to sarama comes from newRecord.
func releaseMessage(m *sarama.ProducerMessage) {
	om := (*outMessage)(unsafe.Pointer(m)) // msg is outMessage's first field
	clear(om.headers[:])
	om.msg = sarama.ProducerMessage{}
	om.key.s, om.value.b = "", nil
	messagePool.Put(om)
}

// attrNames maps the header keys of the standard attributes to their
// names, so that decoding them allocates nothing (a map index with
// string(bytes) does not allocate).
var attrNames = func() map[string]string {
	m := map[string]string{}
	for name, key := range staticKeys {
		m[string(key)] = name
	}
	return m
}()

// decodeRecord reads a record written in CloudEvents binary or structured
// mode (by this engine or any CloudEvents Kafka producer). Headers other
// than "ce_*" and "content-type" are ignored. The event's Topic is the
// record's topic (a foreign event's own type and subject stay in the
// Envelope). Errors wrap broker.ErrMalformed.
func (b *EventBus) decodeRecord(m *sarama.ConsumerMessage) (brokerkit.Envelope, error) {
	bm := brokerkit.BinaryMessage{Data: m.Value, Attributes: make([]brokerkit.Attribute, 0, len(m.Headers))}
	for _, h := range m.Headers {
		if h == nil {
			continue
		}
		if name, ok := attrNames[string(h.Key)]; ok {
			v := ""
			if name == brokerkit.AttrTime {
				// Only parsed, never kept: no copy needed.
				v = bytesString(h.Value)
			} else {
				v = b.headerValue(m, h.Value)
			}
			bm.Attributes = append(bm.Attributes, brokerkit.Attribute{Name: name, Value: v})
			continue
		}
		switch {
		case len(h.Key) > len(headerPrefix) && string(h.Key[:len(headerPrefix)]) == headerPrefix:
			bm.Attributes = append(bm.Attributes, brokerkit.Attribute{Name: lowerString(h.Key[len(headerPrefix):]), Value: string(h.Value)})
		case bytes.EqualFold(h.Key, contentTypeKey):
			bm.ContentType = b.headerValue(m, h.Value)
		}
	}
	env, err := brokerkit.DecodeMessage(bm)
	env.Event.Topic = m.Topic
	return env, err
}

// headerValue returns v as a string, reusing the strings most headers
// repeat (the topic, the spec version, the source, the JSON content type)
// instead of allocating a copy.
func (b *EventBus) headerValue(m *sarama.ConsumerMessage, v []byte) string {
	switch string(v) {
	case m.Topic:
		return m.Topic
	case brokerkit.SpecVersion:
		return brokerkit.SpecVersion
	case brokerkit.ContentTypeJSON:
		return brokerkit.ContentTypeJSON
	case b.opts.Source:
		return b.opts.Source
	}
	return string(v)
}

// lowerString returns b lower-cased (CloudEvents attribute names are
// lowercase; the Kafka binding's header names may not be).
func lowerString(b []byte) string {
	for _, c := range b {
		if 'A' <= c && c <= 'Z' {
			return string(bytes.ToLower(b))
		}
	}
	return string(b)
}

// entryID names a record for Delivery.EntryID and dead letters:
// "topic/partition/offset".
func entryID(m *sarama.ConsumerMessage) string {
	var buf [128]byte
	out := append(buf[:0], m.Topic...)
	out = append(out, '/')
	out = strconv.AppendInt(out, int64(m.Partition), 10)
	out = append(out, '/')
	out = strconv.AppendInt(out, m.Offset, 10)
	return string(out)
}
