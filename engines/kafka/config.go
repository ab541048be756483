package kafka

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Config configures the Kafka engine. The first five fields are the
// documented KafkaConfig (same names and JSON keys); the rest are this
// engine's options. The zero value of every option is its documented
// default; Brokers (or the module-level externalBrokerURL) is required.
type Config struct {
	// Brokers are the bootstrap brokers, "host:port" (a "kafka://" prefix
	// is accepted). Default: the module-level externalBrokerURL
	// ("kafka://b1:9092,b2:9092"); one of the two is required.
	Brokers []string `json:"brokers"`

	// GroupID is the consumer group every subscription of this engine
	// joins. Empty (the default) gives each subscription its own group,
	// named GroupIDPrefix + the subscription id, so that every subscriber
	// sees every event. A shared GroupID makes subscriptions (of this and
	// other processes) compete for partitions, and its committed offsets
	// survive process restarts. Maps to Kafka group.id.
	GroupID string `json:"groupId"`

	// SecurityConfig sets TLS and SASL; keys are listed in docs/kafka.md
	// ("security.protocol", "sasl.mechanism", "sasl.username",
	// "sasl.password", "ssl.ca.location"...). Unknown keys are rejected.
	SecurityConfig map[string]string `json:"security"`

	// ProducerConfig maps onto sarama's Producer settings ("acks",
	// "compression", "flushFrequency"...; Kafka property names such as
	// "linger.ms" are accepted as aliases). Unknown keys are rejected.
	ProducerConfig map[string]string `json:"producer"`

	// ConsumerConfig maps onto sarama's Consumer settings
	// ("initialOffset", "rebalanceStrategy", "sessionTimeout"...; Kafka
	// property names such as "auto.offset.reset" are accepted as
	// aliases). Unknown keys are rejected.
	ConsumerConfig map[string]string `json:"consumer"`

	// Version is the Kafka protocol version sarama speaks ("2.8.0",
	// "3.6.0"...). It must be at least 0.11.0 (idempotent producer,
	// record headers). Default: "2.8.0" (sarama.DefaultVersion).
	Version string `json:"version"`

	// ClientID is sent to the brokers with every request (Kafka
	// client.id). Default: "switchyard".
	ClientID string `json:"clientId"`

	// GroupIDPrefix names the per-subscription groups used when GroupID
	// is empty. Default: "switchyard-".
	GroupIDPrefix string `json:"groupIdPrefix"`

	// AutoCreateTopics creates a missing topic (with TopicPartitions and
	// TopicReplicationFactor) on the first Publish or Subscribe that
	// needs it. When false (the default), Publish and Subscribe fail with
	// ErrTopicNotFound naming the topic, and sarama never asks the
	// broker to auto-create (Metadata.AllowAutoTopicCreation=false).
	AutoCreateTopics bool `json:"autoCreateTopics"`

	// TopicPartitions is the partition count of created topics; -1 uses
	// the broker's num.partitions. Default: -1. Max: 10000.
	TopicPartitions int32 `json:"topicPartitions"`

	// TopicReplicationFactor is the replication factor of created topics;
	// -1 uses the broker's default.replication.factor. Default: -1.
	TopicReplicationFactor int16 `json:"topicReplicationFactor"`

	// RetentionDays is the retention of the topics the engine creates
	// (autoCreateTopics, dead-letter topics included): Kafka topic config
	// retention.ms = RetentionDays × 24 h. It is also the module-level key
	// of the same name, so through the module created topics keep 7 days
	// unless it is set. Topics that already exist are never changed.
	// 0 or -1: no retention.ms is sent, the topic gets the cluster's
	// log.retention.* default. Default: 0. Max: 36500.
	RetentionDays int `json:"retentionDays"`

	// TopicRefreshInterval is how often the topic list is re-read so that
	// wildcard subscriptions pick up topics created after them (a change
	// makes the subscription rejoin its group). A Publish of this engine
	// to a new topic triggers a refresh at once. Default: 5s.
	TopicRefreshInterval bus.Duration `json:"topicRefreshInterval"`

	// StartTimeout bounds how long Start tries to reach the brokers before
	// failing with ErrBrokersUnreachable. Default: 10s.
	StartTimeout bus.Duration `json:"startTimeout"`

	// UnsubscribeWait bounds how long Unsubscribe waits for the
	// subscription's handler calls in flight and its final offset commit;
	// the consumer then finishes in the background and Stop waits for it.
	// Default: 5s.
	UnsubscribeWait bus.Duration `json:"unsubscribeWait"`

	// ExternalBrokerURL, ExternalBrokerUser and ExternalBrokerPassword
	// are the module-level keys: brokers when Brokers is empty, and
	// SASL/PLAIN credentials when SecurityConfig sets none.
	ExternalBrokerURL      string `json:"externalBrokerURL"`
	ExternalBrokerUser     string `json:"externalBrokerUser"`
	ExternalBrokerPassword string `json:"externalBrokerPassword"`

	// Options are the settings every broker engine shares (same JSON keys
	// at the top level of the engine config): source, maxRetries,
	// retryBackoff, retryBackoffMax, deadLetterTopic, maxPayloadBytes,
	// maxInFlight (the worker-pool size of a SubscribeAsync subscription,
	// and the cap on events taken but not yet acknowledged) and ackMode.
	// See package broker.
	broker.Options
}

// Defaults of the engine's own options.
const (
	defaultVersion              = "2.8.0"
	defaultClientID             = "switchyard"
	defaultGroupIDPrefix        = "switchyard-"
	defaultTopicRefreshInterval = 5 * time.Second
	defaultStartTimeout         = 10 * time.Second
	defaultUnsubscribeWait      = 5 * time.Second

	// maxTopicPartitions bounds TopicPartitions (a topic of more
	// partitions is beyond what a cluster serves well).
	maxTopicPartitions = 10000

	// maxRetentionDays bounds RetentionDays (a century, the module's
	// bound).
	maxRetentionDays = 36500
)

// setDefaults fills zero options with their defaults.
func (c *Config) setDefaults() {
	if len(c.Brokers) == 0 && c.ExternalBrokerURL != "" {
		c.Brokers = strings.Split(c.ExternalBrokerURL, ",")
	}
	for i, b := range c.Brokers {
		c.Brokers[i] = strings.TrimPrefix(strings.TrimSpace(b), "kafka://")
	}
	if c.Version == "" {
		c.Version = defaultVersion
	}
	if c.ClientID == "" {
		c.ClientID = defaultClientID
	}
	if c.GroupIDPrefix == "" {
		c.GroupIDPrefix = defaultGroupIDPrefix
	}
	if c.TopicPartitions == 0 {
		c.TopicPartitions = -1
	}
	if c.TopicReplicationFactor == 0 {
		c.TopicReplicationFactor = -1
	}
	if c.TopicRefreshInterval == 0 {
		c.TopicRefreshInterval = bus.Duration(defaultTopicRefreshInterval)
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = bus.Duration(defaultStartTimeout)
	}
	c.Options = c.Options.WithDefaults()
	if c.UnsubscribeWait == 0 {
		c.UnsubscribeWait = bus.Duration(defaultUnsubscribeWait)
	}
}

// Validate reports the first invalid field of c (after defaults), naming
// the key and the value (all unknown keys of one map are reported
// together); the error wraps ErrInvalidConfig. It also checks
// the producer, consumer and security maps by building the sarama
// configuration from them.
func (c Config) Validate() error {
	c = c.clone()
	c.setDefaults()
	_, err := c.build()
	return err
}

// clone copies the slices and maps so that setDefaults never writes into
// the caller's values.
func (c Config) clone() Config {
	c.Brokers = append([]string(nil), c.Brokers...)
	return c
}

// validateOwn checks the engine's own options.
func (c *Config) validateOwn() error {
	if len(c.Brokers) == 0 {
		return invalid("brokers", "[]", "at least one broker is required (or set externalBrokerURL)")
	}
	for i, b := range c.Brokers {
		// Shown redacted: a broker written as a URL may carry userinfo
		// or a query, and neither may reach an error or a log line.
		shown := strconv.Quote(brokerkit.RedactURL(b))
		if strings.ContainsAny(b, "@?#/") {
			return invalid(fmt.Sprintf("brokers[%d]", i), shown, "want host:port (credentials go in security sasl.username and sasl.password, not in the address)")
		}
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" {
			return invalid(fmt.Sprintf("brokers[%d]", i), shown, "want host:port")
		}
		if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
			return invalid(fmt.Sprintf("brokers[%d]", i), shown, "port must be 1..65535")
		}
	}
	switch {
	case c.TopicPartitions < -1 || c.TopicPartitions > maxTopicPartitions:
		return invalid("topicPartitions", c.TopicPartitions, fmt.Sprintf("must be between 1 and %d, or -1 for the broker default", maxTopicPartitions))
	case c.TopicReplicationFactor < -1:
		return invalid("topicReplicationFactor", c.TopicReplicationFactor, "must be >= 1, or -1 for the broker default")
	case c.RetentionDays < -1 || c.RetentionDays > maxRetentionDays:
		return invalid("retentionDays", c.RetentionDays, fmt.Sprintf("must be between 1 and %d, or -1 for the cluster's default", maxRetentionDays))
	case c.TopicRefreshInterval < 0:
		return invalid("topicRefreshInterval", c.TopicRefreshInterval.Std(), "must be > 0")
	case c.StartTimeout < 0:
		return invalid("startTimeout", c.StartTimeout.Std(), "must be > 0")
	case c.UnsubscribeWait < 0:
		return invalid("unsubscribeWait", c.UnsubscribeWait.Std(), "must be >= 0")
	}
	if err := c.Options.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	v, err := sarama.ParseKafkaVersion(c.Version)
	if err != nil {
		return invalid("version", strconv.Quote(c.Version), "want a Kafka version such as 2.8.0")
	}
	if !v.IsAtLeast(sarama.V0_11_0_0) {
		return invalid("version", strconv.Quote(c.Version), "must be at least 0.11.0 (record headers, idempotent producer)")
	}
	return nil
}

// Sarama returns the sarama configurations the engine derives from c: the
// producer's and the one its consumer-group and admin clients share. They
// are fresh copies, for tools and diagnostics that want to talk to Kafka
// with exactly the engine's settings (the benchmark's raw sarama baseline
// uses them). The error is Validate's.
func (c Config) Sarama() (producer, consumer *sarama.Config, err error) {
	c = c.clone()
	c.setDefaults()
	s, err := c.build()
	if err != nil {
		return nil, nil, err
	}
	return s.producerConfig(), s.newClientConfig(), nil
}

// stringMaps returns config with the scalar values of the producer,
// consumer and security maps written as strings, so that YAML's
// "linger.ms: 5" or "idempotent: false" decode into those string maps as
// "5" and "false". config itself is not modified.
func stringMaps(config map[string]any) map[string]any {
	out, copied := config, false
	for _, key := range []string{"producer", "consumer", "security"} {
		m, ok := config[key].(map[string]any)
		if !ok {
			continue
		}
		conv := make(map[string]any, len(m))
		for k, v := range m {
			switch x := v.(type) {
			case bool:
				v = strconv.FormatBool(x)
			case int:
				v = strconv.Itoa(x)
			case int64:
				v = strconv.FormatInt(x, 10)
			case float64:
				v = strconv.FormatFloat(x, 'f', -1, 64)
			}
			conv[k] = v
		}
		if !copied {
			out, copied = make(map[string]any, len(config)), true
			for k, v := range config {
				out[k] = v
			}
		}
		out[key] = conv
	}
	return out
}
