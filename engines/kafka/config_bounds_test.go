package kafka_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kafka"
)

func withBrokers(extra map[string]any) map[string]any {
	m := map[string]any{"brokers": []string{"127.0.0.1:9092"}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestConfigMapSizesAboveTheirBoundAreErrorsNamingKeyAndValue(t *testing.T) {
	tests := []struct {
		key   string
		value any
		want  string
	}{
		{"maxInFlight", 1000000000, "maxInFlight: 1000000000: must be between"},
		{"maxInFlight", 4097, "maxInFlight: 4097: must be between"},
		{"topicLimit", 1 << 40, "topicLimit: 1099511627776: must be between"},
		{"maxPayloadBytes", 1 << 40, "maxPayloadBytes: 1099511627776: must be between"},
		{"topicPartitions", 1000000, "topicPartitions: 1000000: must be between"},
		{"topicPartitions", 1 << 40, "topicPartitions"},
		{"consumer", map[string]any{"channelBufferSize": 1000000000}, `consumer.channelBufferSize: "1000000000"`},
		{"consumer", map[string]any{"channelBufferSize": 9223372036854775807}, `consumer.channelBufferSize: "9223372036854775807"`},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.key, tc.value), func(t *testing.T) {
			_, err := kafka.New(withBrokers(map[string]any{tc.key: tc.value}))
			if !errors.Is(err, kafka.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want ErrInvalidConfig containing %q", err, tc.want)
			}
		})
	}
}

func TestConfigDurationsNeedAUnitExceptUnderKafkaMsNames(t *testing.T) {
	rejected := []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"startTimeout: 10", map[string]any{"startTimeout": 10}, "startTimeout: 10"},
		{"topicRefreshInterval: 5", map[string]any{"topicRefreshInterval": 5}, "topicRefreshInterval: 5"},
		{"unsubscribeWait: 5", map[string]any{"unsubscribeWait": 5}, "unsubscribeWait: 5"},
		{"retryBackoff: 100", map[string]any{"retryBackoff": 100}, "retryBackoff: 100"},
		{"producer retryBackoff: 100", map[string]any{"producer": map[string]any{"retryBackoff": 100}}, `producer.retryBackoff: "100"`},
		{"producer flushFrequency: \"5\"", map[string]any{"producer": map[string]string{"flushFrequency": "5"}}, `producer.flushFrequency: "5"`},
		{"producer timeout: 3000", map[string]any{"producer": map[string]any{"timeout": 3000}}, `producer.timeout: "3000"`},
		{"consumer sessionTimeout: 6000", map[string]any{"consumer": map[string]any{"sessionTimeout": 6000}}, `consumer.sessionTimeout: "6000"`},
		{"consumer retryBackoff: 2", map[string]any{"consumer": map[string]any{"retryBackoff": 2}}, `consumer.retryBackoff: "2"`},
	}
	for _, tc := range rejected {
		t.Run("a bare number is an error: "+tc.name, func(t *testing.T) {
			_, err := kafka.New(withBrokers(tc.raw))
			if !errors.Is(err, kafka.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "unit") {
				t.Fatalf("New = %v, want ErrInvalidConfig naming %s and the missing unit", err, tc.want)
			}
		})
	}
	t.Run("a bare number under a .ms name is milliseconds, written as a YAML number or a string", func(t *testing.T) {
		b, err := kafka.New(withBrokers(map[string]any{
			"producer": map[string]any{"retry.backoff.ms": 100, "linger.ms": "5", "idempotent": true},
			"consumer": map[string]any{"session.timeout.ms": 6000},
		}))
		if err != nil {
			t.Fatal(err)
		}
		sc := kafka.SaramaConfigForTest(b.(*kafka.EventBus))
		if sc.Producer.Retry.Backoff != 100*time.Millisecond || sc.Producer.Flush.Frequency != 5*time.Millisecond ||
			sc.Consumer.Group.Session.Timeout != 6*time.Second {
			t.Fatalf("retry %v linger %v session %v", sc.Producer.Retry.Backoff, sc.Producer.Flush.Frequency, sc.Consumer.Group.Session.Timeout)
		}
	})
	t.Run("an unknown top-level key wraps enginekit.ErrUnknownConfigKey", func(t *testing.T) {
		_, err := kafka.New(withBrokers(map[string]any{"startTimout": "1s"}))
		if !errors.Is(err, enginekit.ErrUnknownConfigKey) || !strings.Contains(err.Error(), "startTimout") {
			t.Fatalf("New = %v", err)
		}
	})
}

func TestCredentialsNeverAppearInErrors(t *testing.T) {
	const secret = "s3cr3tPW"
	var cases []map[string]any
	for _, b := range []string{
		"kafka://u:" + secret + "@h:1",
		"u:" + secret + "@h:1",
		"kafka://u:" + secret + "%zz@h:1",
		"kafka://u:" + secret + "/x@h:1",
		"kafka://u:" + secret + "#x@h:1",
		"kafka://u:" + secret + "?x@h:1",
		"kafka://h:1?password=" + secret,
		"kafka://h:1#" + secret,
		"kafka://u:" + secret + "@h:notaport",
		"kafka://u:" + secret + "@[::1:1",
	} {
		cases = append(cases,
			map[string]any{"brokers": []string{b}},
			map[string]any{"brokers": []string{"ok:1", b}},
			map[string]any{"externalBrokerURL": b},
			map[string]any{"externalBrokerURL": "ok:1," + b, "externalBrokerPassword": secret, "externalBrokerUser": "u"},
		)
	}
	cases = append(cases,
		withBrokers(map[string]any{"security": map[string]any{"sasl.mechanism": "GSSAPI", "sasl.username": "u", "sasl.password": secret}}),
		withBrokers(map[string]any{"security": map[string]any{"security.protocol": "SSL", "sasl.username": "u", "sasl.password": secret}}),
		withBrokers(map[string]any{"security": map[string]any{"sasl.pasword": secret}}),
		withBrokers(map[string]any{"security": map[string]any{"sasl.password": secret}}),
		withBrokers(map[string]any{"security": secret}),
		withBrokers(map[string]any{"externalBrokerPassword": 12345678, "externalBrokerUser": "u"}),
	)
	for _, raw := range cases {
		t.Run(fmt.Sprint(raw), func(t *testing.T) {
			_, err := kafka.New(raw)
			if err == nil {
				t.Fatalf("New(%v) accepted", raw)
			}
			for _, s := range []string{secret, "12345678"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error shows the secret: %v", err)
				}
			}
		})
	}
}
