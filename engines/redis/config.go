package redis

import (
	"fmt"
	"os"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Defaults of Config, applied to zero fields.
const (
	DefaultURL                  = "redis://localhost:6379/0"
	DefaultKeyPrefix            = "switchyard:"
	DefaultStartFrom            = StartFromNew
	DefaultReadCount            = 256
	DefaultBlockTimeout         = 2 * time.Second
	DefaultClaimTimeout         = 30 * time.Second
	DefaultClaimInterval        = time.Second
	DefaultClaimCount           = 128
	DefaultMaxDeliveries        = 10
	DefaultAckBatch             = 256
	DefaultAckFlushInterval     = 2 * time.Millisecond
	DefaultPublishBatch         = 256
	DefaultPublishPipelines     = 2
	DefaultPublishQueue         = 8192
	DefaultDiscoveryInterval    = time.Second
	DefaultUnsubscribeWaitBound = 5 * time.Second
	DefaultRetentionDays        = 7
)

// Group start positions (Config.StartFrom).
const (
	// StartFromNew: a new consumer group sees entries added after it was
	// created (XGROUP CREATE … $).
	StartFromNew = "new"
	// StartFromBeginning: a new consumer group sees the whole stream
	// history (XGROUP CREATE … 0).
	StartFromBeginning = "beginning"
)

// Config configures the Redis Streams engine. It decodes from the engine's
// config map (json names below). Zero fields take the documented default.
//
// The first five fields are the documented RedisConfig of the upstream
// API; the rest are this engine's options, and the embedded broker.Options
// (maxRetries, retryBackoff, retryBackoffMax, deadLetterTopic,
// maxPayloadBytes, maxInFlight, ackMode, source) are shared with the Kafka
// and Kinesis engines.
type Config struct {
	// URL is redis://[user:password@]host:port[/db] or rediss://… (TLS).
	// Falls back to the module's externalBrokerURL. Default:
	// "redis://localhost:6379/0".
	URL string `json:"url"`
	// DB selects the database; 0 keeps the URL's. Default: 0.
	DB int `json:"db"`
	// Username for ACL auth (overrides the URL's); falls back to
	// externalBrokerUser.
	Username string `json:"username"`
	// Password (overrides the URL's); falls back to externalBrokerPassword.
	Password string `json:"password"`
	// PoolSize is the go-redis connection pool size. Each running
	// subscription also holds one dedicated connection for its blocking
	// reads. Default: go-redis's (10 per GOMAXPROCS). Max: 10000 (Redis's
	// default maxclients).
	PoolSize int `json:"poolSize"`

	// Security sets TLS for a rediss:// URL, under the Kafka engine's key
	// names: "ssl.ca.location" (PEM CAs replacing the system roots),
	// "ssl.certificate.location" and "ssl.key.location" (client
	// certificate for mutual TLS), "ssl.server.name" (the name checked in
	// the server certificate), "ssl.min.version" ("1.2" or "1.3") and
	// "ssl.insecure.skip.verify" (tests only). Setting any of them with a
	// redis:// URL is an error: TLS is chosen by the scheme. Default: the
	// system roots and the URL's host name.
	Security broker.TLSOptions `json:"security,omitempty"`

	// KeyPrefix is prepended to a topic to name its stream. Default:
	// "switchyard:" (topic "order.placed" → stream
	// "switchyard:order.placed").
	KeyPrefix string `json:"keyPrefix,omitempty"`
	// MaxLen caps each stream approximately (XADD MAXLEN ~ n); 0: no cap
	// by length (streams are still trimmed by age, see RetentionDays).
	// Entries trimmed before a consumer group read them are lost to it.
	// Default: 0. Max: none (Redis trims; nothing is allocated from it).
	MaxLen int64 `json:"maxLen,omitempty"`
	// RetentionDays is how long entries are kept: older ones are trimmed
	// from every stream under KeyPrefix (XTRIM MINID), whether or not
	// every consumer group acknowledged them (see TrimmedEntries). It is
	// also the module-level key of the same name. -1: no trimming by age.
	// Default: 7.
	RetentionDays int `json:"retentionDays,omitempty"`
	// Retention, when > 0, replaces RetentionDays with a finer duration.
	// Default: 0 (RetentionDays applies).
	Retention bus.Duration `json:"retention,omitempty"`
	// Group, when set, is the consumer group of every subscription of
	// this engine: subscriptions with the same group (in this process or
	// others) compete for a topic's events, each event going to one of
	// them, and the group survives restarts (durable). Empty (default): a
	// private group per subscription, so every subscription sees every
	// event, like the in-process engines; it is destroyed by Unsubscribe.
	Group string `json:"group,omitempty"`
	// ConsumerName prefixes the consumer names of this engine's
	// subscriptions (made unique with the subscription id). Default:
	// "<hostname>-<pid>".
	ConsumerName string `json:"consumerName,omitempty"`
	// StartFrom is where a newly created consumer group starts: "new"
	// (only entries added afterwards) or "beginning" (the whole stream).
	// Streams that a wildcard subscription discovers after it was
	// created always start at the subscription's creation time. Default:
	// "new".
	StartFrom string `json:"startFrom,omitempty"`
	// ReadCount is XREADGROUP COUNT, per stream. Default: 256.
	// Max: 65536.
	ReadCount int `json:"readCount,omitempty"`
	// BlockTimeout is XREADGROUP BLOCK. Stop and new wildcard streams
	// interrupt it (CLIENT UNBLOCK), so it only bounds idle polling.
	// Default: 2s.
	BlockTimeout bus.Duration `json:"blockTimeout,omitempty"`
	// ClaimTimeout is how long an entry must stay unacknowledged before
	// another consumer takes it over (XAUTOCLAIM min-idle-time): the
	// redelivery delay after a consumer crashed. Keep it above your
	// longest handler run including retries. Default: 30s.
	ClaimTimeout bus.Duration `json:"claimTimeout,omitempty"`
	// ClaimInterval is how often each subscription scans for idle entries
	// (and refreshes its pending count). Default: 1s.
	ClaimInterval bus.Duration `json:"claimInterval,omitempty"`
	// ClaimCount is XAUTOCLAIM COUNT. Default: 128. Max: 65536.
	ClaimCount int `json:"claimCount,omitempty"`
	// MaxDeliveries bounds how often one entry is delivered (Redis counts
	// every XREADGROUP and claim of it in the group's pending list). An
	// entry found delivered more often when it is read again after a
	// crash or taken over (XAUTOCLAIM) is dead-lettered (or, with
	// dead-lettering off, dropped and counted) without calling the
	// handler: a message that kills its consumer cannot crash-loop a
	// group. Handler retries within one process do not count. -1: no
	// bound. Default: 10.
	MaxDeliveries int `json:"maxDeliveries,omitempty"`
	// AckBatch is the most ids sent in one XACK. Default: 256.
	// Max: 65536.
	AckBatch int `json:"ackBatch,omitempty"`
	// AckFlushInterval bounds how long a handled entry waits for its XACK.
	// Default: 2ms.
	AckFlushInterval bus.Duration `json:"ackFlushInterval,omitempty"`
	// PublishBatch is the most XADDs sent in one pipeline. Default: 256.
	// Max: 65536.
	PublishBatch int `json:"publishBatch,omitempty"`
	// PublishPipelines is the number of pipelines in flight at once (one
	// in PublishAsync mode, to keep each publisher's events in order).
	// Default: 2. Max: 1024.
	PublishPipelines int `json:"publishPipelines,omitempty"`
	// PublishLinger, when > 0, lets a pipeline that is not full wait up to
	// this long for more events; 0 (default) sends as soon as a pipeline
	// is free, which already batches under load.
	PublishLinger bus.Duration `json:"publishLinger,omitempty"`
	// PublishAsync makes Publish return once the event is queued, before
	// Redis accepted it; failures are then reported to the error observer
	// and counted as dropped. Stop flushes the queue. Default: false
	// (Publish returns after XADD succeeded: nil means stored in Redis).
	PublishAsync bool `json:"publishAsync,omitempty"`
	// PublishQueue bounds the events queued for the pipelines; Publish
	// waits (bounded by its ctx) when it is full. Default: 8192.
	// Max: 1048576 (enginekit.MaxQueueSize).
	PublishQueue int `json:"publishQueue,omitempty"`
	// DiscoveryInterval is how often wildcard subscriptions look for new
	// matching streams (SCAN). A publish through this engine to a new
	// topic triggers a scan at once. Default: 1s.
	DiscoveryInterval bus.Duration `json:"discoveryInterval,omitempty"`
	// StaleGroupTimeout, when > 0, removes the private consumer groups
	// (the default, one per subscription) that processes which died
	// without Stop left on this engine's streams (a clean Stop removes
	// them itself): a private group whose consumers have all been idle
	// longer than this is destroyed (XGROUP DESTROY), checked every
	// quarter of it (1s to 5min). Live subscriptions read at least every
	// blockTimeout, so their groups are never idle that long unless one
	// batch of handlers runs longer; an engine whose Stop timed out looks
	// dead too, and on Start its subscriptions recreate a removed group
	// from the start of the stream (redelivery, never loss). Shared
	// groups (Group) are never removed. Must be 0 (default: off) or at
	// least twice claimTimeout and twice blockTimeout.
	StaleGroupTimeout bus.Duration `json:"staleGroupTimeout,omitempty"`

	broker.Options
}

// setDefaults gives every zero field its documented default (the
// Default* constants above).
func (c *Config) setDefaults() {
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.ConsumerName == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "host"
		}
		c.ConsumerName = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.StartFrom == "" {
		c.StartFrom = DefaultStartFrom
	}
	setDefault(&c.RetentionDays, DefaultRetentionDays)
	setDefault(&c.ReadCount, DefaultReadCount)
	setDefaultDur(&c.BlockTimeout, DefaultBlockTimeout)
	setDefaultDur(&c.ClaimTimeout, DefaultClaimTimeout)
	setDefaultDur(&c.ClaimInterval, DefaultClaimInterval)
	setDefault(&c.ClaimCount, DefaultClaimCount)
	setDefault(&c.MaxDeliveries, DefaultMaxDeliveries)
	setDefault(&c.AckBatch, DefaultAckBatch)
	setDefaultDur(&c.AckFlushInterval, DefaultAckFlushInterval)
	setDefault(&c.PublishBatch, DefaultPublishBatch)
	setDefault(&c.PublishPipelines, DefaultPublishPipelines)
	setDefault(&c.PublishQueue, DefaultPublishQueue)
	setDefaultDur(&c.DiscoveryInterval, DefaultDiscoveryInterval)
	c.Options = c.Options.WithDefaults()
}

func setDefault(p *int, d int) {
	if *p == 0 {
		*p = d
	}
}

func setDefaultDur(p *bus.Duration, d time.Duration) {
	if *p == 0 {
		*p = bus.Duration(d)
	}
}

// Validate reports the first invalid field (after defaults) as an error
// wrapping ErrInvalidConfig and broker.ErrInvalidOption, naming the field
// and the value.
func (c Config) Validate() error {
	c.setDefaults()
	bad := func(field string, v any, why string) error {
		return fmt.Errorf("%w: %w: %s: %v: %s", ErrInvalidConfig, broker.ErrInvalidOption, field, v, why)
	}
	if _, err := c.redisOptions(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	switch {
	case c.DB < 0:
		return bad("db", c.DB, "must be >= 0")
	case c.PoolSize < 0 || c.PoolSize > maxPoolSize:
		return bad("poolSize", c.PoolSize, fmt.Sprintf("must be between 0 (go-redis default) and %d", maxPoolSize))
	case c.MaxLen < 0:
		return bad("maxLen", c.MaxLen, "must be >= 0 (0: no cap by length)")
	case c.RetentionDays < -1:
		return bad("retentionDays", c.RetentionDays, "must be >= 1, or -1 for no trimming by age")
	case c.Retention < 0:
		return bad("retention", c.Retention.Std(), "must be >= 0 (0: retentionDays applies)")
	case c.StartFrom != StartFromNew && c.StartFrom != StartFromBeginning:
		return bad("startFrom", c.StartFrom, `must be "new" or "beginning"`)
	case strings.ContainsAny(c.Group, " \t\n"):
		return bad("group", c.Group, "must not contain whitespace")
	}
	for _, f := range []struct {
		name   string
		v, max int
	}{{"readCount", c.ReadCount, maxBatch}, {"claimCount", c.ClaimCount, maxBatch}, {"ackBatch", c.AckBatch, maxBatch},
		{"publishBatch", c.PublishBatch, maxBatch}, {"publishPipelines", c.PublishPipelines, maxPublishPipelines},
		{"publishQueue", c.PublishQueue, enginekit.MaxQueueSize}} {
		if f.v < 1 || f.v > f.max {
			return bad(f.name, f.v, fmt.Sprintf("must be between 1 and %d", f.max))
		}
	}
	for _, f := range []struct {
		name string
		v    bus.Duration
	}{{"blockTimeout", c.BlockTimeout}, {"claimTimeout", c.ClaimTimeout}, {"claimInterval", c.ClaimInterval},
		{"ackFlushInterval", c.AckFlushInterval}, {"discoveryInterval", c.DiscoveryInterval}} {
		if f.v <= 0 {
			return bad(f.name, f.v.Std(), "must be > 0")
		}
	}
	if t := c.StaleGroupTimeout.Std(); t < 0 || t > 0 && (t < 2*c.ClaimTimeout.Std() || t < 2*c.BlockTimeout.Std()) {
		return bad("staleGroupTimeout", t, fmt.Sprintf("must be 0 (off) or at least twice claimTimeout (%v) and twice blockTimeout (%v)", c.ClaimTimeout.Std(), c.BlockTimeout.Std()))
	}
	if c.MaxDeliveries < -1 {
		return bad("maxDeliveries", c.MaxDeliveries, "must be >= 1, or -1 for no bound")
	}
	if c.PublishLinger < 0 {
		return bad("publishLinger", c.PublishLinger.Std(), "must be >= 0")
	}
	if c.BlockTimeout.Std() < time.Millisecond {
		return bad("blockTimeout", c.BlockTimeout.Std(), "must be >= 1ms (XREADGROUP BLOCK has millisecond resolution)")
	}
	if err := c.Options.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Upper bounds of the sizes and counts (documented on the fields).
const (
	maxPoolSize         = 10000
	maxBatch            = 1 << 16
	maxPublishPipelines = 1024
)

// redisOptions turns the connection fields into go-redis options. Its
// error names the field and never holds a credential: the URL is shown
// redacted and go-redis's message is scrubbed of every secret the
// connection fields hold (url.Parse quotes the whole URL in its errors).
func (c Config) redisOptions() (*goredis.Options, error) {
	u := c.URL
	if u == "" {
		u = DefaultURL
	}
	opt, err := goredis.ParseURL(u)
	if err != nil {
		return nil, fmt.Errorf("%w: url: %s: %s", broker.ErrInvalidOption, brokerkit.RedactURL(u), brokerkit.URLErrorReason(err, u, c.Password))
	}
	if opt.TLSConfig != nil {
		if err := c.Security.Apply(opt.TLSConfig, "security"); err != nil {
			return nil, err
		}
	} else if !c.Security.IsZero() {
		return nil, fmt.Errorf("%w: security: ssl.* keys are set but the url %s uses no TLS: use a rediss:// URL", broker.ErrInvalidOption, brokerkit.RedactURL(u))
	}
	if c.Username != "" {
		opt.Username = c.Username
	}
	if c.Password != "" {
		opt.Password = c.Password
	}
	if c.DB != 0 {
		opt.DB = c.DB
	}
	if c.PoolSize > 0 {
		opt.PoolSize = c.PoolSize
	}
	// The engine retries in its own loops (with backoff and error
	// reporting). go-redis retrying a pipeline of XADDs after a lost reply
	// would store events twice, so its retries are off.
	opt.MaxRetries = -1
	// Redis 7.0 does not know the maintenance-notification handshake;
	// skipping it avoids a failed HELLO round trip per connection.
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	// RESP2: the engine uses no RESP3 feature, and RESP3 makes go-redis
	// look for push notifications before every reply (measured: ~6% of
	// the CPU of the publish path).
	opt.Protocol = 2
	return opt, nil
}

// scrub removes the connection's secrets (password, URL userinfo, query
// and fragment) from a message that may quote them, such as a go-redis or
// dial error.
func (c Config) scrub(msg string) string {
	return brokerkit.ScrubSecrets(msg, append(brokerkit.URLSecrets(c.URL), c.Password)...)
}
