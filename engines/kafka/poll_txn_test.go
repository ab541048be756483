package kafka_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// produceTxns writes CloudEvents (binary mode) to topic with a
// transactional producer: one transaction per batch, committed or
// aborted as commit says.
func produceTxns(t *testing.T, k *testinfra.KafkaCluster, topic string, batches [][]string, commit []bool) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Transaction.ID = "poll-txn-" + topic
	cfg.Net.MaxOpenRequests = 1
	p, err := sarama.NewSyncProducer(k.Addrs(), cfg)
	if err != nil {
		t.Fatalf("transactional producer: %v", err)
	}
	defer p.Close()
	for i, batch := range batches {
		if err := p.BeginTxn(); err != nil {
			t.Fatalf("BeginTxn: %v", err)
		}
		for _, payload := range batch {
			msg := &sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder("one-key"), Value: sarama.StringEncoder(fmt.Sprintf("%q", payload)),
				Headers: []sarama.RecordHeader{
					{Key: []byte("ce_specversion"), Value: []byte("1.0")},
					{Key: []byte("ce_id"), Value: []byte(payload)},
					{Key: []byte("ce_source"), Value: []byte("txn-test")},
					{Key: []byte("ce_type"), Value: []byte(topic)},
					{Key: []byte("content-type"), Value: []byte("application/json")},
				}}
			if _, _, err := p.SendMessage(msg); err != nil {
				t.Fatalf("send %s: %v", payload, err)
			}
		}
		if commit[i] {
			err = p.CommitTxn()
		} else {
			err = p.AbortTxn()
		}
		if err != nil {
			t.Fatalf("end transaction %d (commit %v): %v", i, commit[i], err)
		}
	}
}

// Records of aborted transactions are skipped under read_committed, as
// subscribers skip them, and returned under read_uncommitted; transaction
// markers never show.
func TestPollTransactions(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{SeedTopics: []string{"poll.txn"}, SeedPartitions: 1})
	produceTxns(t, k, "poll.txn", [][]string{{"c1", "c2"}, {"a1", "a2"}, {"c3"}}, []bool{true, false, true})
	for _, tc := range []struct {
		isolation string
		want      []string
	}{
		{"read_committed", []string{"c1", "c2", "c3"}},
		{"read_uncommitted", []string{"c1", "c2", "a1", "a2", "c3"}},
	} {
		t.Run("under "+tc.isolation+" a poll returns "+fmt.Sprint(tc.want), func(t *testing.T) {
			b := started(t, engineConfig(k, map[string]any{"consumer": map[string]string{"isolationLevel": tc.isolation}}))
			got, cur := pollAll(t, b, "poll.txn", "", bus.ConsumeRequest{Limit: 2}, -1)
			var payloads []string
			for _, e := range got {
				payloads = append(payloads, fmt.Sprint(e.Payload))
			}
			if !slices.Equal(payloads, tc.want) {
				t.Errorf("polled %v, want %v", payloads, tc.want)
			}
			resp, err := b.Poll(ctxT(t), "poll.txn", bus.ConsumeRequest{Limit: 10, Cursor: cur})
			if err != nil || len(resp.Events) != 0 || resp.Cursor != cur {
				t.Errorf("at the end: %d events, cursor moved %v, err %v", len(resp.Events), resp.Cursor != cur, err)
			}
		})
	}
}
