package eventbus

import (
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/engines/kinesis"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

// ShardedEventBus is the sharded lock-free ring engine (engines/sharded),
// the default engine.
type ShardedEventBus = sharded.EventBus

// ShardedConfig configures the sharded engine; see engines/sharded.
type ShardedConfig = sharded.Config

// RedisEventBus is the Redis Streams engine (engines/redis).
type RedisEventBus = redis.EventBus

// RedisConfig configures the Redis engine (URL, DB, Username, Password,
// PoolSize and the options documented in docs/redis.md).
type RedisConfig = redis.Config

// KafkaEventBus is the Kafka engine on IBM/sarama (engines/kafka).
type KafkaEventBus = kafka.EventBus

// KafkaConfig configures the Kafka engine (Brokers, GroupID,
// SecurityConfig, ProducerConfig, ConsumerConfig and the options
// documented in docs/kafka.md).
type KafkaConfig = kafka.Config

// KafkaConsumerGroupHandler is the sarama.ConsumerGroupHandler behind
// every Kafka subscription.
type KafkaConsumerGroupHandler = kafka.ConsumerGroupHandler

// KinesisEventBus is the Kinesis engine on aws-sdk-go-v2
// (engines/kinesis).
type KinesisEventBus = kinesis.EventBus

// KinesisConfig configures the Kinesis engine (Region, StreamName,
// static credentials, ShardCount and the options documented in
// docs/kinesis.md).
type KinesisConfig = kinesis.Config

// NewRedisEventBus is the "redis" engine factory (see docs/redis.md for
// the keys); the engine is returned stopped.
func NewRedisEventBus(config map[string]interface{}) (EventBus, error) { return redis.New(config) }

// NewKafkaEventBus is the "kafka" engine factory (see docs/kafka.md); the
// engine is returned stopped and dials the brokers at Start.
func NewKafkaEventBus(config map[string]interface{}) (EventBus, error) { return kafka.New(config) }

// NewKinesisEventBus is the "kinesis" engine factory (see
// docs/kinesis.md); the engine is returned stopped.
func NewKinesisEventBus(config map[string]interface{}) (EventBus, error) { return kinesis.New(config) }
