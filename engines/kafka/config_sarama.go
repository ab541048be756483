package kafka

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/rcrowley/go-metrics"
)

// settings is a validated Config turned into what the engine runs with:
// the sarama configuration shared by every client (copied per client) and
// the few choices sarama has no field for.
type settings struct {
	cfg Config // with defaults applied

	base *sarama.Config // never handed to sarama itself; see newClientConfig

	asyncPublish  bool  // producer "async"
	initialOffset int64 // consumer "initialOffset" (sarama.OffsetNewest or OffsetOldest)
}

// build validates c (defaults already applied) and returns its settings.
func (c *Config) build() (*settings, error) {
	if err := c.validateOwn(); err != nil {
		return nil, err
	}
	sc := sarama.NewConfig()
	sc.Version, _ = sarama.ParseKafkaVersion(c.Version)
	sc.ClientID = c.ClientID
	// Topics are created by the engine, with the configured partitions
	// and replication, or reported missing: never implicitly by a
	// metadata request.
	sc.Metadata.AllowAutoTopicCreation = false

	// Producer defaults: acknowledged by every in-sync replica, written
	// exactly once per partition even when sarama retries (idempotence
	// requires acks=all and one in-flight request per connection), and a
	// retry window long enough to ride out a broker restart.
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Producer.Retry.Max = 30
	sc.Producer.Retry.Backoff = 100 * time.Millisecond
	sc.Producer.Retry.BackoffFunc = cappedBackoff(100*time.Millisecond, time.Second)
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true

	// Consumer defaults: marked offsets only (the engine marks after the
	// handler succeeded), committed every second and at every release.
	//
	// Offsets.Initial is always "oldest": Subscribe commits the starting
	// offsets of every partition it sees (newest or oldest, per the
	// initialOffset option) before the group joins, so a partition without
	// a committed offset is one created after the subscription (a topic
	// found later by a wildcard, partitions added to a topic), and all its
	// records are newer than the subscription. A committed offset that is
	// no longer in the log (retention) also restarts at the oldest record
	// still there rather than skipping to the end.
	sc.Consumer.Return.Errors = true
	sc.Consumer.Offsets.AutoCommit.Enable = true
	sc.Consumer.Offsets.AutoCommit.Interval = time.Second
	sc.Consumer.Offsets.Initial = sarama.OffsetOldest
	sc.Consumer.Group.Rebalance.Retry.Backoff = 500 * time.Millisecond

	s := &settings{cfg: *c, base: sc, initialOffset: sarama.OffsetNewest}
	if err := applyOptions("producer", c.ProducerConfig, producerOptions, s); err != nil {
		return nil, err
	}
	if err := applyOptions("consumer", c.ConsumerConfig, consumerOptions, s); err != nil {
		return nil, err
	}
	if err := applySecurity(c, sc); err != nil {
		return nil, err
	}
	if sc.Producer.Idempotent && sc.Producer.RequiredAcks != sarama.WaitForAll {
		return nil, invalid("producer.acks", ackName(sc.Producer.RequiredAcks), `the idempotent producer requires acks "all" (set producer.idempotent "false" to use another value)`)
	}
	if sc.Consumer.Group.Heartbeat.Interval >= sc.Consumer.Group.Session.Timeout {
		return nil, invalid("consumer.heartbeatInterval", sc.Consumer.Group.Heartbeat.Interval,
			fmt.Sprintf("must be less than consumer.sessionTimeout (%v)", sc.Consumer.Group.Session.Timeout))
	}
	if err := s.producerConfig().Validate(); err != nil {
		return nil, fmt.Errorf("%w: sarama rejected the resulting producer configuration: %v", ErrInvalidConfig, err)
	}
	if err := s.newClientConfig().Validate(); err != nil {
		return nil, fmt.Errorf("%w: sarama rejected the resulting consumer configuration: %v", ErrInvalidConfig, err)
	}
	return s, nil
}

// producerConfig returns the configuration of the producer's client: the
// idempotent producer needs a single in-flight request per connection
// (sarama enforces it), which the consumer and admin clients do not.
func (s *settings) producerConfig() *sarama.Config {
	c := s.newClientConfig()
	c.Producer.Idempotent = s.base.Producer.Idempotent
	if c.Producer.Idempotent {
		c.Net.MaxOpenRequests = 1
	}
	return c
}

// newClientConfig returns a copy of the base configuration for one sarama
// client, with its own metrics registry (sarama registers per-broker
// meters in it; a registry shared by every client would keep growing as
// subscriptions come and go).
//
// These clients never produce, so the producer's idempotence (which sarama
// validates against MaxOpenRequests on every client) is switched off in
// their copy; producerConfig restores it.
func (s *settings) newClientConfig() *sarama.Config {
	c := *s.base
	c.MetricRegistry = newMetricRegistry()
	c.Producer.Idempotent = false
	return &c
}

// option is one key of the producer or consumer map.
type option struct {
	name  string // our key
	alias string // the Kafka client property accepted for it ("" when none)
	apply func(s *settings, v string) error
}

// applyOptions applies the map m (named section in errors) using table.
// Every unknown key is reported at once, sorted, with the known ones.
func applyOptions(section string, m map[string]string, table []option, s *settings) error {
	if len(m) == 0 {
		return nil
	}
	byName := make(map[string]option, 2*len(table))
	for _, o := range table {
		byName[o.name] = o
		if o.alias != "" {
			byName[o.alias] = o
		}
	}
	var unknown []string
	for k := range m {
		if _, ok := byName[k]; !ok {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		known := make([]string, 0, len(byName))
		for k := range byName {
			known = append(known, k)
		}
		sort.Strings(known)
		return fmt.Errorf("%w: %s: unknown key(s) %s (known: %s)", ErrInvalidConfig, section,
			strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic: the first invalid key in order is reported
	for _, k := range keys {
		v := strings.TrimSpace(m[k])
		if strings.HasSuffix(k, ".ms") && isInteger(v) {
			// A Kafka property name states its unit: a bare number is
			// milliseconds there, and only there.
			v += "ms"
		}
		if err := byName[k].apply(s, v); err != nil {
			return invalid(section+"."+k, strconv.Quote(m[k]), err.Error())
		}
	}
	return nil
}

// producerOptions are the keys of Config.ProducerConfig.
var producerOptions = []option{
	{"acks", "", func(s *settings, v string) error {
		switch strings.ToLower(v) {
		case "all", "-1":
			s.base.Producer.RequiredAcks = sarama.WaitForAll
		case "1", "leader":
			s.base.Producer.RequiredAcks = sarama.WaitForLocal
		case "0", "none":
			s.base.Producer.RequiredAcks = sarama.NoResponse
		default:
			return fmt.Errorf(`want "all" (-1), "1" or "0"`)
		}
		return nil
	}},
	{"idempotent", "enable.idempotence", boolInto(func(s *settings) *bool { return &s.base.Producer.Idempotent })},
	{"async", "", boolInto(func(s *settings) *bool { return &s.asyncPublish })},
	{"compression", "compression.type", func(s *settings, v string) error {
		var c sarama.CompressionCodec
		if err := c.UnmarshalText([]byte(strings.ToLower(v))); err != nil {
			return fmt.Errorf("want none, gzip, snappy, lz4 or zstd")
		}
		s.base.Producer.Compression = c
		return nil
	}},
	{"compressionLevel", "compression.level", intInto(math.MinInt32, math.MaxInt32, func(s *settings) *int { return &s.base.Producer.CompressionLevel })},
	{"flushMessages", "batch.num.messages", intInto(0, math.MaxInt32, func(s *settings) *int { return &s.base.Producer.Flush.Messages })},
	{"flushBytes", "batch.size", intInto(0, math.MaxInt32, func(s *settings) *int { return &s.base.Producer.Flush.Bytes })},
	{"flushFrequency", "linger.ms", durationInto(0, func(s *settings) *time.Duration { return &s.base.Producer.Flush.Frequency })},
	{"flushMaxMessages", "", intInto(0, math.MaxInt32, func(s *settings) *int { return &s.base.Producer.Flush.MaxMessages })},
	{"maxMessageBytes", "max.request.size", intInto(1, math.MaxInt32, func(s *settings) *int { return &s.base.Producer.MaxMessageBytes })},
	{"retryMax", "retries", intInto(0, math.MaxInt32, func(s *settings) *int { return &s.base.Producer.Retry.Max })},
	{"retryBackoff", "retry.backoff.ms", func(s *settings, v string) error {
		d, err := parseDuration(v, 0)
		if err != nil {
			return err
		}
		s.base.Producer.Retry.Backoff = d
		s.base.Producer.Retry.BackoffFunc = cappedBackoff(d, 10*d)
		return nil
	}},
	{"timeout", "request.timeout.ms", durationInto(time.Millisecond, func(s *settings) *time.Duration { return &s.base.Producer.Timeout })},
	{"partitioner", "", func(s *settings, v string) error {
		switch strings.ToLower(v) {
		case "hash":
			s.base.Producer.Partitioner = sarama.NewHashPartitioner
		case "murmur2":
			s.base.Producer.Partitioner = sarama.NewMurmur2Partitioner
		case "crc32":
			s.base.Producer.Partitioner = sarama.NewConsistentCRCHashPartitioner
		case "random":
			s.base.Producer.Partitioner = sarama.NewRandomPartitioner
		case "roundrobin":
			s.base.Producer.Partitioner = sarama.NewRoundRobinPartitioner
		default:
			return fmt.Errorf("want hash, murmur2, crc32, random or roundrobin")
		}
		return nil
	}},
}

// consumerOptions are the keys of Config.ConsumerConfig.
var consumerOptions = []option{
	{"initialOffset", "auto.offset.reset", func(s *settings, v string) error {
		switch strings.ToLower(v) {
		case "newest", "latest":
			s.initialOffset = sarama.OffsetNewest
		case "oldest", "earliest":
			s.initialOffset = sarama.OffsetOldest
		default:
			return fmt.Errorf("want newest (latest) or oldest (earliest)")
		}
		return nil
	}},
	{"rebalanceStrategy", "partition.assignment.strategy", func(s *settings, v string) error {
		var st sarama.BalanceStrategy
		switch strings.ToLower(v) {
		case "range":
			st = sarama.NewBalanceStrategyRange()
		case "roundrobin", "round-robin":
			st = sarama.NewBalanceStrategyRoundRobin()
		case "sticky":
			st = sarama.NewBalanceStrategySticky()
		case "cooperative-sticky", "cooperativesticky":
			st = sarama.NewBalanceStrategyCooperativeSticky()
		default:
			return fmt.Errorf("want range, roundrobin, sticky or cooperative-sticky")
		}
		s.base.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{st}
		return nil
	}},
	{"sessionTimeout", "session.timeout.ms", durationInto(time.Millisecond, func(s *settings) *time.Duration { return &s.base.Consumer.Group.Session.Timeout })},
	{"heartbeatInterval", "heartbeat.interval.ms", durationInto(time.Millisecond, func(s *settings) *time.Duration { return &s.base.Consumer.Group.Heartbeat.Interval })},
	{"rebalanceTimeout", "max.poll.interval.ms", durationInto(time.Millisecond, func(s *settings) *time.Duration { return &s.base.Consumer.Group.Rebalance.Timeout })},
	{"commitInterval", "auto.commit.interval.ms", durationInto(time.Millisecond, func(s *settings) *time.Duration { return &s.base.Consumer.Offsets.AutoCommit.Interval })},
	{"fetchMinBytes", "fetch.min.bytes", int32Into(1, func(s *settings) *int32 { return &s.base.Consumer.Fetch.Min })},
	{"fetchDefaultBytes", "max.partition.fetch.bytes", int32Into(1, func(s *settings) *int32 { return &s.base.Consumer.Fetch.Default })},
	{"fetchMaxBytes", "fetch.max.bytes", int32Into(1, func(s *settings) *int32 { return &s.base.Consumer.Fetch.MaxBytes })},
	{"maxWaitTime", "fetch.max.wait.ms", durationInto(time.Millisecond, func(s *settings) *time.Duration { return &s.base.Consumer.MaxWaitTime })},
	{"channelBufferSize", "", intInto(0, maxChannelBufferSize, func(s *settings) *int { return &s.base.ChannelBufferSize })},
	{"isolationLevel", "isolation.level", func(s *settings, v string) error {
		switch strings.ToLower(v) {
		case "read_uncommitted":
			s.base.Consumer.IsolationLevel = sarama.ReadUncommitted
		case "read_committed":
			s.base.Consumer.IsolationLevel = sarama.ReadCommitted
		default:
			return fmt.Errorf("want read_uncommitted or read_committed")
		}
		return nil
	}},
	{"instanceId", "group.instance.id", func(s *settings, v string) error {
		s.base.Consumer.Group.InstanceId = v
		return nil
	}},
	{"retryBackoff", "", durationInto(time.Millisecond, func(s *settings) *time.Duration { return &s.base.Consumer.Retry.Backoff })},
}

func boolInto(field func(*settings) *bool) func(*settings, string) error {
	return func(s *settings, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*field(s) = b
		return nil
	}
}

func intInto(lo, hi int, field func(*settings) *int) func(*settings, string) error {
	return func(s *settings, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("want an integer in [%d, %d]", lo, hi)
		}
		*field(s) = n
		return nil
	}
}

func int32Into(lo int32, field func(*settings) *int32) func(*settings, string) error {
	return func(s *settings, v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || int32(n) < lo {
			return fmt.Errorf("want an integer >= %d", lo)
		}
		*field(s) = int32(n)
		return nil
	}
}

func durationInto(min time.Duration, field func(*settings) *time.Duration) func(*settings, string) error {
	return func(s *settings, v string) error {
		d, err := parseDuration(v, min)
		if err != nil {
			return err
		}
		*field(s) = d
		return nil
	}
}

// maxChannelBufferSize bounds consumer.channelBufferSize: sarama
// allocates channels of that many messages per partition.
const maxChannelBufferSize = 1 << 16

// parseDuration reads a Go duration ("250ms"). A bare number is refused:
// applyOptions turns one into milliseconds only under a Kafka property name
// ending in ".ms", the one kind of key that states its unit.
func parseDuration(v string, min time.Duration) (time.Duration, error) {
	if isInteger(v) {
		return 0, fmt.Errorf(`a duration needs a unit: write "%sms" or "%ss" (a bare number is milliseconds only under the Kafka ".ms" property names)`, v, v)
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf(`want a duration such as "250ms"`)
	}
	if d < min {
		return 0, fmt.Errorf("must be at least %v", min)
	}
	return d, nil
}

func isInteger(v string) bool {
	_, err := strconv.ParseInt(v, 10, 64)
	return err == nil
}

// cappedBackoff doubles base at every retry up to max.
func cappedBackoff(base, max time.Duration) func(retries, maxRetries int) time.Duration {
	return func(retries, _ int) time.Duration {
		d := base
		for i := 0; i < retries && d < max; i++ {
			d *= 2
		}
		return min(d, max)
	}
}

func newMetricRegistry() metrics.Registry { return metrics.NewRegistry() }

func ackName(a sarama.RequiredAcks) string {
	switch a {
	case sarama.WaitForAll:
		return "all"
	case sarama.WaitForLocal:
		return "1"
	default:
		return "0"
	}
}
