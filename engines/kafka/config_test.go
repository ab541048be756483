package kafka_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/engines/kafka"
)

func TestConfigRejectsInvalidValuesNamingKeyAndValue(t *testing.T) {
	base := func(extra map[string]any) map[string]any {
		m := map[string]any{"brokers": []string{"127.0.0.1:9092"}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		cfg  map[string]any
		want []string // substrings of the error
	}{
		{"no broker at all", map[string]any{}, []string{"brokers", "at least one broker"}},
		{"a broker without a port", base(map[string]any{"brokers": []string{"localhost"}}), []string{"brokers[0]", `"localhost"`}},
		{"an unknown top-level key", base(map[string]any{"brokerz": "x"}), []string{"brokerz"}},
		{"an unknown producer key", base(map[string]any{"producer": map[string]string{"lingerz": "5ms"}}), []string{"producer", `"lingerz"`, "linger.ms"}},
		{"an unknown consumer key", base(map[string]any{"consumer": map[string]string{"auto.offset.rest": "earliest"}}), []string{"consumer", `"auto.offset.rest"`}},
		{"an unknown security key", base(map[string]any{"security": map[string]string{"sasl.user": "a"}}), []string{"security", `"sasl.user"`}},
		{"acks that do not exist", base(map[string]any{"producer": map[string]string{"acks": "2"}}), []string{"producer.acks", `"2"`}},
		{"acks=1 with the idempotent producer", base(map[string]any{"producer": map[string]string{"acks": "1"}}), []string{"producer.acks", "idempotent"}},
		{"an unknown compression codec", base(map[string]any{"producer": map[string]string{"compression.type": "brotli"}}), []string{"producer.compression.type", `"brotli"`}},
		{"a negative flush frequency", base(map[string]any{"producer": map[string]string{"flushFrequency": "-1s"}}), []string{"producer.flushFrequency", `"-1s"`}},
		{"a non-numeric batch size", base(map[string]any{"producer": map[string]string{"batch.size": "big"}}), []string{"producer.batch.size", `"big"`}},
		{"an unknown partitioner", base(map[string]any{"producer": map[string]string{"partitioner": "sticky"}}), []string{"producer.partitioner", `"sticky"`}},
		{"an unknown initial offset", base(map[string]any{"consumer": map[string]string{"initialOffset": "middle"}}), []string{"consumer.initialOffset", `"middle"`}},
		{"an unknown rebalance strategy", base(map[string]any{"consumer": map[string]string{"rebalanceStrategy": "fair"}}), []string{"consumer.rebalanceStrategy", `"fair"`}},
		{"a heartbeat not shorter than the session", base(map[string]any{"consumer": map[string]string{"sessionTimeout": "1s", "heartbeatInterval": "1s"}}), []string{"consumer.heartbeatInterval", "sessionTimeout"}},
		{"an unknown security protocol", base(map[string]any{"security": map[string]string{"security.protocol": "KERBEROS"}}), []string{"security.protocol", `"KERBEROS"`}},
		{"an unknown SASL mechanism", base(map[string]any{"security": map[string]string{"sasl.mechanism": "GSSAPI", "sasl.username": "u", "sasl.password": "p"}}), []string{"sasl.mechanism", `"GSSAPI"`}},
		{"a SASL user without password", base(map[string]any{"security": map[string]string{"sasl.username": "u"}}), []string{"sasl.password"}},
		{"SASL keys with a protocol that has no SASL", base(map[string]any{"security": map[string]string{"security.protocol": "SSL", "sasl.username": "u", "sasl.password": "p"}}), []string{"security.protocol", "SASL"}},
		{"a CA file that does not exist", base(map[string]any{"security": map[string]string{"ssl.ca.location": "/nonexistent/ca.pem"}}), []string{"ssl.ca.location", "/nonexistent/ca.pem"}},
		{"a client certificate without its key", base(map[string]any{"security": map[string]string{"ssl.certificate.location": "/x.pem"}}), []string{"ssl.key.location"}},
		{"a Kafka version older than 0.11", base(map[string]any{"version": "0.10.2.0"}), []string{"version", "0.11"}},
		{"a version that is not one", base(map[string]any{"version": "latest"}), []string{"version", `"latest"`}},
		{"topic partitions below -1", base(map[string]any{"topicPartitions": -3}), []string{"topicPartitions", "-3"}},
		{"a negative retry count from the shared options", base(map[string]any{"maxRetries": -2}), []string{"maxRetries", "-2"}},
		{"an unknown ack mode", base(map[string]any{"ackMode": "sometimes"}), []string{"ackMode", "sometimes"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := kafka.New(tc.cfg)
			if err == nil {
				t.Fatalf("New accepted %v", tc.cfg)
			}
			if !errors.Is(err, kafka.ErrInvalidConfig) {
				t.Errorf("error does not wrap ErrInvalidConfig: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigMapsKeysOntoSarama(t *testing.T) {
	b, err := kafka.NewEventBus(kafka.Config{
		ExternalBrokerURL: "kafka://127.0.0.1:9092, kafka://127.0.0.1:9093",
		ProducerConfig: map[string]string{
			"compression": "lz4", "linger.ms": "5", "flushMessages": "500", "batch.size": "65536",
			"retries": "7", "timeout": "3s", "partitioner": "murmur2", "async": "true",
		},
		ConsumerConfig: map[string]string{
			"auto.offset.reset": "earliest", "partition.assignment.strategy": "cooperative-sticky",
			"session.timeout.ms": "6000", "heartbeatInterval": "500ms", "commitInterval": "250ms",
			"isolation.level": "read_committed", "channelBufferSize": "32",
		},
		ExternalBrokerUser:     "svc",
		ExternalBrokerPassword: "pw",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := b.Config()
	if got := strings.Join(cfg.Brokers, ","); got != "127.0.0.1:9092,127.0.0.1:9093" {
		t.Errorf("brokers from externalBrokerURL = %q", got)
	}
	if cfg.Options.MaxRetries != broker.DefaultMaxRetries || cfg.DeadLetterTopic != broker.DefaultDeadLetterTopic {
		t.Errorf("shared broker options did not get their defaults: %+v", cfg.Options)
	}
	sc := kafka.SaramaConfigForTest(b)
	checks := []struct {
		what      string
		got, want any
	}{
		{"Producer.Compression", sc.Producer.Compression, sarama.CompressionLZ4},
		{"Producer.Flush.Frequency", sc.Producer.Flush.Frequency, 5 * time.Millisecond},
		{"Producer.Flush.Messages", sc.Producer.Flush.Messages, 500},
		{"Producer.Flush.Bytes", sc.Producer.Flush.Bytes, 65536},
		{"Producer.Retry.Max", sc.Producer.Retry.Max, 7},
		{"Producer.Timeout", sc.Producer.Timeout, 3 * time.Second},
		{"Producer.RequiredAcks", sc.Producer.RequiredAcks, sarama.WaitForAll},
		{"Producer.Idempotent", sc.Producer.Idempotent, true},
		{"Net.MaxOpenRequests (idempotent producer)", sc.Net.MaxOpenRequests, 1},
		{"Consumer.Group.Session.Timeout", sc.Consumer.Group.Session.Timeout, 6 * time.Second},
		{"Consumer.Group.Heartbeat.Interval", sc.Consumer.Group.Heartbeat.Interval, 500 * time.Millisecond},
		{"Consumer.Offsets.AutoCommit.Interval", sc.Consumer.Offsets.AutoCommit.Interval, 250 * time.Millisecond},
		{"Consumer.IsolationLevel", sc.Consumer.IsolationLevel, sarama.ReadCommitted},
		{"ChannelBufferSize", sc.ChannelBufferSize, 32},
		{"Consumer.Group.Rebalance strategy", sc.Consumer.Group.Rebalance.GroupStrategies[0].Name(), sarama.CooperativeStickyBalanceStrategyName},
		{"Metadata.AllowAutoTopicCreation", sc.Metadata.AllowAutoTopicCreation, false},
		{"Net.SASL.Enable (externalBrokerUser)", sc.Net.SASL.Enable, true},
		{"Net.SASL.User", sc.Net.SASL.User, "svc"},
		{"Net.SASL.Mechanism", sc.Net.SASL.Mechanism, sarama.SASLMechanism(sarama.SASLTypePlaintext)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
}

func TestNewAcceptsTheModuleLevelKeys(t *testing.T) {
	_, err := kafka.New(map[string]any{
		"externalBrokerURL": "kafka://127.0.0.1:9092",
		"workerCount":       5, "maxEventQueueSize": 100, "deliveryMode": "block",
		"retentionDays": 7, "eventTTL": "1h",
	})
	if err != nil {
		t.Fatalf("New rejected the module-level keys: %v", err)
	}
}
