package kafka_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// topicRetention returns the retention.ms the cluster reports for topic
// ("" when the topic has no such config).
func topicRetention(t *testing.T, k *testinfra.KafkaCluster, topic string) string {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	admin, err := sarama.NewClusterAdmin(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	results, err := admin.DescribeConfigs([]*sarama.ConfigResource{{Type: sarama.TopicResource, Name: topic, ConfigNames: []string{"retention.ms"}}}, sarama.DescribeConfigsOptions{})
	if err != nil {
		t.Fatalf("DescribeConfigs(%s): %v", topic, err)
	}
	for _, r := range results {
		if r.Name != topic {
			continue
		}
		if r.ErrorCode != 0 {
			t.Fatalf("DescribeConfigs(%s): %v %s", topic, r.ErrorCode, r.ErrorMsg)
		}
		for _, e := range r.Configs {
			if e.Name == "retention.ms" && !e.Default {
				return e.Value
			}
		}
	}
	return ""
}

func TestCreatedTopicsGetRetentionDaysAsRetentionMs(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{SeedTopics: []string{"existing"}})
	t.Run("a topic the engine creates keeps retentionDays", func(t *testing.T) {
		b := started(t, engineConfig(k, map[string]any{"retentionDays": 2}))
		if err := b.Publish(ctxT(t), bus.Event{Topic: "kept.two.days", Payload: "x"}); err != nil {
			t.Fatal(err)
		}
		if got := topicRetention(t, k, "kept.two.days"); got != "172800000" {
			t.Fatalf("retention.ms = %q, want 172800000 (2 days)", got)
		}
	})
	t.Run("without retentionDays the cluster's default applies", func(t *testing.T) {
		b := started(t, engineConfig(k, nil))
		if err := b.Publish(ctxT(t), bus.Event{Topic: "kept.cluster.default", Payload: "x"}); err != nil {
			t.Fatal(err)
		}
		if got := topicRetention(t, k, "kept.cluster.default"); got != "" {
			t.Fatalf("retention.ms = %q, want none set on the topic", got)
		}
	})
	t.Run("a topic that exists is not changed", func(t *testing.T) {
		b := started(t, engineConfig(k, map[string]any{"retentionDays": 2}))
		if err := b.Publish(ctxT(t), bus.Event{Topic: "existing", Payload: "x"}); err != nil {
			t.Fatal(err)
		}
		if got := topicRetention(t, k, "existing"); got != "" {
			t.Fatalf("retention.ms of a topic the engine did not create = %q, want unchanged (none)", got)
		}
	})
	t.Run("an out-of-range value is an error naming it", func(t *testing.T) {
		for _, v := range []int{-2, 36501} {
			_, err := kafka.New(engineConfig(k, map[string]any{"retentionDays": v}))
			if !errors.Is(err, kafka.ErrInvalidConfig) || !strings.Contains(err.Error(), "retentionDays") {
				t.Errorf("New(retentionDays: %d) = %v, want ErrInvalidConfig naming retentionDays", v, err)
			}
		}
	})
}
