package bus

import (
	"context"
	"fmt"
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
// Metadata[MetadataKeyPartition] (a string, or any value formatted with
// %v), else the key from WithPartitionKey, else the topic.
func EventKey(ctx context.Context, e Event) string {
	if v, ok := e.Metadata[MetadataKeyPartition]; ok && v != nil {
		if s, ok := v.(string); ok {
			if s != "" {
				return s
			}
		} else {
			return fmt.Sprint(v)
		}
	}
	if k, ok := PartitionKeyFromContext(ctx); ok {
		return k
	}
	return e.Topic
}
