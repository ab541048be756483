package kinesis

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Kinesis service limits the defaults and validation follow.
const (
	// MaxBatchRecords is the most records one PutRecords call takes.
	MaxBatchRecords = 500
	// MaxBatchBytes is the most bytes (data plus partition keys) one
	// PutRecords call takes: 5 MiB.
	MaxBatchBytes = 5 << 20
	// DefaultMaxRecordBytes is the classic per-record limit (data plus
	// partition key): 1 MiB.
	DefaultMaxRecordBytes = 1 << 20
	// MaxPartitionKeyLength is the longest partition key Kinesis accepts;
	// longer event keys are replaced by their MD5 in hex (still stable per
	// key, so per-key order holds).
	MaxPartitionKeyLength = 256
	// MaxRecordsPerRead is the most records one GetRecords call returns.
	MaxRecordsPerRead = 10000
)

// Start positions of a consumer that has no checkpoint yet.
const (
	// StartLatest: the events published after Subscribe returned. Subscribe
	// writes one small marker record per open shard and the consumer
	// starts after it, so nothing published after Subscribe is missed
	// (an iterator of type LATEST obtained later would miss it).
	StartLatest = "latest"
	// StartTrimHorizon: every record still retained in the stream
	// (iterator type TRIM_HORIZON).
	StartTrimHorizon = "trim_horizon"
)

// Checkpoint store kinds.
const (
	// StoreMemory keeps checkpoints and leases in the engine's memory:
	// they survive Stop/Start, not the process. The default.
	StoreMemory = "memory"
	// StoreRedis keeps them in Redis (checkpointRedis), so several
	// processes of one application share a stream's shards.
	StoreRedis = "redis"
)

// Config configures the Kinesis engine. The first six fields are
// KinesisConfig of the documented API, with the same json names; the rest
// are Switchyard options. The zero value of every option means its
// documented default. Decode a config map with New, or pass a literal to
// NewEventBus (Validate checks one without building an engine).
type Config struct {
	// Region is the AWS region of the stream ("us-east-1"). Required.
	Region string `json:"region"`
	// StreamName is the stream every topic of this engine shares; the
	// topic travels inside each record. Required.
	StreamName string `json:"streamName"`
	// AccessKeyID, SecretAccessKey and SessionToken are static
	// credentials. When AccessKeyID is empty the SDK's default chain is
	// used (environment, shared config files, IAM role).
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
	// ShardCount is the shard count of a stream created by Start when
	// CreateStream is on. Default: 1. Max: 10000.
	ShardCount int32 `json:"shardCount"`

	// Endpoint overrides the service URL ("http://127.0.0.1:4567" for
	// kinesalite, a VPC endpoint…). It must not carry credentials
	// (userinfo): those go in accessKeyId/secretAccessKey. When empty, the module-level
	// externalBrokerURL is used if set, else the SDK resolves the
	// region's endpoint.
	Endpoint string `json:"endpoint,omitempty"`

	// CreateStream lets Start create a missing stream with ShardCount
	// shards (and wait until it is ACTIVE). Off by default: a missing
	// stream is an error at Start (ErrStreamNotFound).
	CreateStream bool `json:"createStream,omitempty"`

	// StartPosition is where a consumer without a checkpoint starts:
	// "latest" (events published after Subscribe returned) or
	// "trim_horizon" (every retained record). Default: "latest".
	StartPosition string `json:"startPosition,omitempty"`

	// ApplicationName makes subscriptions of several engines (processes)
	// share one consumer per topic pattern: the n-th subscription to a
	// pattern in each process uses consumer "<applicationName>/<pattern>#<n>",
	// and the shards are split between them with leases. Empty (the
	// default): each subscription is its own consumer, reads every shard
	// and sees every event, like the in-process engines.
	ApplicationName string `json:"applicationName,omitempty"`

	// PollInterval is the wait before the next GetRecords of a shard
	// whose last call returned nothing new. Kinesis allows 5 GetRecords
	// per second per shard for all consumers together. Default: 200ms.
	PollInterval bus.Duration `json:"pollInterval,omitempty"`

	// MaxRecordsPerRead is the GetRecords Limit. Default: 10000 (the
	// service maximum).
	MaxRecordsPerRead int32 `json:"maxRecordsPerRead,omitempty"`

	// RateLimited makes the engine hold itself to the service's per-shard
	// limits, as a real stream would throttle it: at most 5 GetRecords
	// per second per shard (shared by all subscriptions of the engine),
	// 1,000 records and 1 MiB per second written per shard. Off by
	// default (kinesalite and tests have no limits; the engine then
	// backs off only when throttled).
	RateLimited bool `json:"rateLimited,omitempty"`

	// BatchMaxRecords caps the records of one PutRecords call (1–500).
	// Default: 500.
	BatchMaxRecords int `json:"batchMaxRecords,omitempty"`
	// BatchMaxBytes caps the bytes of one PutRecords call (data plus
	// partition keys, up to 5 MiB). Default: 5242880.
	BatchMaxBytes int `json:"batchMaxBytes,omitempty"`
	// FlushInterval is how long a batch waits for more records before it
	// is sent when it is not full. Default: 5ms. A negative value sends
	// at once (batches then form only while a call is in flight).
	FlushInterval bus.Duration `json:"flushInterval,omitempty"`
	// MaxInFlightBatches is the number of PutRecords calls outstanding at
	// once. With more than 1, two batches holding records of one key may
	// land in either order (async mode only; a synchronous Publish waits
	// for its record). Default: 1. Max: 1024.
	MaxInFlightBatches int `json:"maxInFlightBatches,omitempty"`
	// MaxRecordBytes is the per-record size limit (CloudEvent JSON plus
	// partition key). Default: 1048576 (1 MiB). Max: 10485760 (10 MiB,
	// the service's largest record).
	MaxRecordBytes int `json:"maxRecordBytes,omitempty"`
	// PublishBufferSize is the number of records queued for sending; a
	// Publish waits (bounded by its ctx) when it is full. Default: 10000.
	// Max: 1048576 (enginekit.MaxQueueSize).
	PublishBufferSize int `json:"publishBufferSize,omitempty"`
	// AsyncPublish makes Publish return once the record is queued instead
	// of once Kinesis accepted it. A record that finally fails is counted
	// as dropped and reported to the error observer. Default: off.
	AsyncPublish bool `json:"asyncPublish,omitempty"`
	// AsyncPublishTimeout bounds the retries of a queued async record.
	// Default: 1m.
	AsyncPublishTimeout bus.Duration `json:"asyncPublishTimeout,omitempty"`
	// PublishBackoff and PublishBackoffMax shape the capped exponential
	// backoff with full jitter after a throttled or partially failed
	// PutRecords. Defaults: 50ms and 5s.
	PublishBackoff    bus.Duration `json:"publishBackoff,omitempty"`
	PublishBackoffMax bus.Duration `json:"publishBackoffMax,omitempty"`

	// CheckpointInterval is how often handled positions are written to
	// the checkpoint store (final positions are always written by Stop,
	// Unsubscribe, lease release and at a shard's end). Default: 1s.
	CheckpointInterval bus.Duration `json:"checkpointInterval,omitempty"`
	// ShardSyncInterval is how often the shard list is refreshed to find
	// shards created by resharding (a reader reaching a shard's end also
	// refreshes it at once). Default: 10s.
	ShardSyncInterval bus.Duration `json:"shardSyncInterval,omitempty"`
	// LeaseDuration is how long a shard lease (and a worker heartbeat)
	// lasts without renewal: a dead worker's shards are taken over after
	// it. Default: 10s.
	LeaseDuration bus.Duration `json:"leaseDuration,omitempty"`
	// LeaseRenewInterval is how often leases are renewed and shards
	// rebalanced. Must be below LeaseDuration. Default: LeaseDuration/3.
	LeaseRenewInterval bus.Duration `json:"leaseRenewInterval,omitempty"`

	// CheckpointStore is "memory" or "redis". Default: "memory".
	CheckpointStore string `json:"checkpointStore,omitempty"`
	// CheckpointRedis is the Redis of the "redis" checkpoint store, with
	// the Redis engine's connection keys.
	CheckpointRedis RedisOptions `json:"checkpointRedis,omitempty"`

	// Options are the settings shared by every broker engine (retries,
	// dead-letter topic, ack mode, payload limit, in-flight limit…).
	broker.Options
}

// RedisOptions are the connection settings of the Redis checkpoint store;
// the keys are those of the Redis engine's config.
type RedisOptions struct {
	// URL is a redis:// or rediss:// URL ("redis://user:pass@host:6379/0").
	// Required with checkpointStore "redis".
	URL string `json:"url,omitempty"`
	// DB, Username and Password override the URL's when set.
	DB       int    `json:"db,omitempty"`
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// PoolSize is the connection pool size. Default: go-redis's.
	// Max: 10000.
	PoolSize int `json:"poolSize,omitempty"`
	// KeyPrefix prefixes every key. Default: "switchyard:kinesis:".
	KeyPrefix string `json:"keyPrefix,omitempty"`
}

// Upper bounds of sizes and counts (documented on the fields).
const (
	maxShardCount      = 10000
	maxInFlightBatches = 1024
	maxRecordBytes     = 10 << 20
	maxRedisPoolSize   = 10000
)

// Defaults of Config, given to zero fields.
const (
	DefaultShardCount          = 1
	DefaultPollInterval        = 200 * time.Millisecond
	DefaultFlushInterval       = 5 * time.Millisecond
	DefaultPublishBufferSize   = 10000
	DefaultAsyncPublishTimeout = time.Minute
	DefaultPublishBackoff      = 50 * time.Millisecond
	DefaultPublishBackoffMax   = 5 * time.Second
	DefaultCheckpointInterval  = time.Second
	DefaultShardSyncInterval   = 10 * time.Second
	DefaultLeaseDuration       = 10 * time.Second
)

// setDefaults gives every zero option its documented default.
func (c *Config) setDefaults() {
	if c.ShardCount == 0 {
		c.ShardCount = DefaultShardCount
	}
	c.StartPosition = strings.ToLower(strings.TrimSpace(c.StartPosition))
	if c.StartPosition == "" {
		c.StartPosition = StartLatest
	}
	if c.PollInterval == 0 {
		c.PollInterval.Set(DefaultPollInterval)
	}
	if c.MaxRecordsPerRead == 0 {
		c.MaxRecordsPerRead = MaxRecordsPerRead
	}
	if c.BatchMaxRecords == 0 {
		c.BatchMaxRecords = MaxBatchRecords
	}
	if c.BatchMaxBytes == 0 {
		c.BatchMaxBytes = MaxBatchBytes
	}
	if c.FlushInterval == 0 {
		c.FlushInterval.Set(DefaultFlushInterval)
	}
	if c.MaxInFlightBatches == 0 {
		c.MaxInFlightBatches = 1
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if c.PublishBufferSize == 0 {
		c.PublishBufferSize = DefaultPublishBufferSize
	}
	if c.AsyncPublishTimeout == 0 {
		c.AsyncPublishTimeout.Set(DefaultAsyncPublishTimeout)
	}
	if c.PublishBackoff == 0 {
		c.PublishBackoff.Set(DefaultPublishBackoff)
	}
	if c.PublishBackoffMax == 0 {
		c.PublishBackoffMax.Set(DefaultPublishBackoffMax)
	}
	if c.CheckpointInterval == 0 {
		c.CheckpointInterval.Set(DefaultCheckpointInterval)
	}
	if c.ShardSyncInterval == 0 {
		c.ShardSyncInterval.Set(DefaultShardSyncInterval)
	}
	if c.LeaseDuration == 0 {
		c.LeaseDuration.Set(DefaultLeaseDuration)
	}
	if c.LeaseRenewInterval == 0 {
		c.LeaseRenewInterval.Set(c.LeaseDuration.Std() / 3)
	}
	c.CheckpointStore = strings.ToLower(strings.TrimSpace(c.CheckpointStore))
	if c.CheckpointStore == "" {
		c.CheckpointStore = StoreMemory
	}
	if c.MaxPayloadBytes == 0 {
		// The broker default (4 MiB) is above what a record can hold.
		c.MaxPayloadBytes = c.MaxRecordBytes
	}
	c.Options = c.Options.WithDefaults()
}

// Validate reports the first invalid field of c (zero options stand for
// their defaults), by its json name and with the value, as an error
// wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	c.setDefaults()
	positive := func(name string, d bus.Duration) error {
		if d <= 0 {
			return invalid(name, d.Std(), "must be > 0")
		}
		return nil
	}
	switch {
	case strings.TrimSpace(c.Region) == "":
		return invalid("region", fmt.Sprintf("%q", c.Region), "required (the AWS region of the stream)")
	case strings.TrimSpace(c.StreamName) == "":
		return invalid("streamName", fmt.Sprintf("%q", c.StreamName), "required")
	case len(c.StreamName) > 128 || strings.ContainsFunc(c.StreamName, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-')
	}):
		return invalid("streamName", fmt.Sprintf("%q", c.StreamName), "must be 1-128 characters of [a-zA-Z0-9_.-]")
	case c.AccessKeyID != "" && c.SecretAccessKey == "":
		return invalid("secretAccessKey", `""`, "required when accessKeyId is set")
	case c.AccessKeyID == "" && c.SecretAccessKey != "":
		return invalid("accessKeyId", `""`, "required when secretAccessKey is set")
	case c.ShardCount < 1 || c.ShardCount > maxShardCount:
		return fmt.Errorf("%w: shardCount: %d: must be between 1 and %d (%w)", ErrInvalidConfig, c.ShardCount, maxShardCount, bus.ErrInvalidShardCount)
	case c.StartPosition != StartLatest && c.StartPosition != StartTrimHorizon:
		return invalid("startPosition", fmt.Sprintf("%q", c.StartPosition), `must be "latest" or "trim_horizon"`)
	case c.MaxRecordsPerRead < 1 || c.MaxRecordsPerRead > MaxRecordsPerRead:
		return invalid("maxRecordsPerRead", c.MaxRecordsPerRead, "must be 1-10000")
	case c.BatchMaxRecords < 1 || c.BatchMaxRecords > MaxBatchRecords:
		return invalid("batchMaxRecords", c.BatchMaxRecords, "must be 1-500")
	case c.BatchMaxBytes < 1 || c.BatchMaxBytes > MaxBatchBytes:
		return invalid("batchMaxBytes", c.BatchMaxBytes, "must be 1-5242880")
	case c.MaxInFlightBatches < 1 || c.MaxInFlightBatches > maxInFlightBatches:
		return invalid("maxInFlightBatches", c.MaxInFlightBatches, fmt.Sprintf("must be between 1 and %d", maxInFlightBatches))
	case c.MaxRecordBytes < 1 || c.MaxRecordBytes > maxRecordBytes:
		return invalid("maxRecordBytes", c.MaxRecordBytes, fmt.Sprintf("must be between 1 and %d", maxRecordBytes))
	case c.PublishBufferSize < 1 || c.PublishBufferSize > enginekit.MaxQueueSize:
		return invalid("publishBufferSize", c.PublishBufferSize, fmt.Sprintf("must be between 1 and %d", enginekit.MaxQueueSize))
	case c.CheckpointRedis.PoolSize < 0 || c.CheckpointRedis.PoolSize > maxRedisPoolSize:
		return invalid("checkpointRedis.poolSize", c.CheckpointRedis.PoolSize, fmt.Sprintf("must be between 0 (go-redis default) and %d", maxRedisPoolSize))
	case c.LeaseRenewInterval >= c.LeaseDuration:
		return invalid("leaseRenewInterval", c.LeaseRenewInterval.Std(), "must be below leaseDuration "+c.LeaseDuration.Std().String())
	case c.PublishBackoff > c.PublishBackoffMax:
		return invalid("publishBackoff", c.PublishBackoff.Std(), "must not exceed publishBackoffMax "+c.PublishBackoffMax.Std().String())
	}
	for _, d := range []struct {
		name string
		v    bus.Duration
	}{
		{"pollInterval", c.PollInterval}, {"asyncPublishTimeout", c.AsyncPublishTimeout},
		{"publishBackoff", c.PublishBackoff}, {"publishBackoffMax", c.PublishBackoffMax},
		{"checkpointInterval", c.CheckpointInterval}, {"shardSyncInterval", c.ShardSyncInterval},
		{"leaseDuration", c.LeaseDuration}, {"leaseRenewInterval", c.LeaseRenewInterval},
	} {
		if err := positive(d.name, d.v); err != nil {
			return err
		}
	}
	if c.Endpoint != "" {
		shown := fmt.Sprintf("%q", brokerkit.RedactURL(c.Endpoint))
		if strings.ContainsAny(c.Endpoint, "@?#") {
			return invalid("endpoint", shown, "must be an http:// or https:// URL without credentials, query or fragment (credentials go in accessKeyId/secretAccessKey)")
		}
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("endpoint", shown, "must be an http:// or https:// URL with a host")
		}
	}
	switch c.CheckpointStore {
	case StoreMemory:
	case StoreRedis:
		if c.CheckpointRedis.URL == "" {
			return invalid("checkpointRedis.url", `""`, `required with checkpointStore "redis"`)
		}
	default:
		return invalid("checkpointStore", fmt.Sprintf("%q", c.CheckpointStore), `must be "memory" or "redis"`)
	}
	if c.MaxPayloadBytes > c.MaxRecordBytes {
		return invalid("maxPayloadBytes", c.MaxPayloadBytes, fmt.Sprintf("must not exceed maxRecordBytes %d (a record holds the payload)", c.MaxRecordBytes))
	}
	return c.Options.Validate()
}

// decodeConfig decodes an engine config map. The module-level
// externalBrokerURL is the endpoint when the map has none. enginekit.DecodeConfig
// names the key of a value that does not decode (and hides the values of
// secret keys); errors.Is(err, enginekit.ErrUnknownConfigKey) reports a typo.
func decodeConfig(raw map[string]any) (Config, error) {
	var c Config
	if err := enginekit.DecodeConfig(raw, &c); err != nil {
		return c, fmt.Errorf("%w: kinesis config: %w", ErrInvalidConfig, err)
	}
	if c.Endpoint == "" {
		if u, ok := raw["externalBrokerURL"].(string); ok {
			c.Endpoint = strings.TrimSpace(u)
		}
	}
	return c, nil
}
