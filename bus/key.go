package bus

import (
	"context"
	"fmt"
	"strconv"
)

// MetadataKeyPartition is the Metadata key that carries an event's
// partition key. Engines that shard or partition (the sharded ring engine,
// Kafka, Kinesis) keep the events of one key in publish order. Without it,
// the topic is the key.
const MetadataKeyPartition = "partitionKey"

type partitionKeyCtx struct{}

// WithPartitionKey returns a context that sets the partition key of events
// published with it, for callers (such as EventBusModule.Publish) that
// cannot set Metadata. A key in Metadata takes precedence.
func WithPartitionKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, partitionKeyCtx{}, key)
}

// PartitionKeyFromContext returns the key set by WithPartitionKey.
func PartitionKeyFromContext(ctx context.Context) (string, bool) {
	if ctx == nil {
		return "", false
	}
	k, ok := ctx.Value(partitionKeyCtx{}).(string)
	return k, ok && k != ""
}

// EventKey returns the partition key of an event published with ctx:
// Metadata[MetadataKeyPartition] when it holds a key of a supported type,
// else the key from WithPartitionKey, else the topic.
//
// Supported key types: string (an empty string counts as no key), []byte
// (its bytes as a string), the integer types (in decimal: int 42 and
// "42" are the same key) and fmt.Stringer (its String result). A value of
// any other type (a map, a slice, a float, a struct…) is ignored, as if
// there were no key: it never reaches fmt, so a value that contains
// itself cannot crash the publisher, and a String method that panics is
// recovered and ignored too.
func EventKey(ctx context.Context, e Event) string {
	if v, ok := e.Metadata[MetadataKeyPartition]; ok && v != nil {
		if k, ok := keyString(v); ok && k != "" {
			return k
		}
	}
	if k, ok := PartitionKeyFromContext(ctx); ok {
		return k
	}
	return e.Topic
}

// keyString formats a partition key of a supported type.
func keyString(v any) (string, bool) {
	switch k := v.(type) {
	case string:
		return k, true
	case []byte:
		return string(k), true
	case int:
		return strconv.FormatInt(int64(k), 10), true
	case int8:
		return strconv.FormatInt(int64(k), 10), true
	case int16:
		return strconv.FormatInt(int64(k), 10), true
	case int32:
		return strconv.FormatInt(int64(k), 10), true
	case int64:
		return strconv.FormatInt(k, 10), true
	case uint:
		return strconv.FormatUint(uint64(k), 10), true
	case uint8:
		return strconv.FormatUint(uint64(k), 10), true
	case uint16:
		return strconv.FormatUint(uint64(k), 10), true
	case uint32:
		return strconv.FormatUint(uint64(k), 10), true
	case uint64:
		return strconv.FormatUint(k, 10), true
	case uintptr:
		return strconv.FormatUint(uint64(k), 10), true
	case fmt.Stringer:
		return stringerKey(k)
	}
	return "", false
}

// stringerKey calls String, treating a panic as no key.
func stringerKey(s fmt.Stringer) (key string, ok bool) {
	defer func() {
		if recover() != nil {
			key, ok = "", false
		}
	}()
	return s.String(), true
}
