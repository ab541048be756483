package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// collector records the events a handler received (shared with the other
// broker engines' tests).
type collector = brokertest.Recorder

func TestDeadLetters(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"maxRetries": 2}))
	b.SetErrorObserver(broker.ErrorObserverFunc(func(broker.Scope, error) {})) // malformed records are reported; keep the log quiet
	const topic = "orders.dl"
	var ok, dead collector
	var attempts sync.Map // payload -> number of calls
	_, err := b.Subscribe(ctxT(t), topic, func(ctx context.Context, e bus.Event) error {
		n, _ := attempts.LoadOrStore(fmt.Sprint(e.Payload), new(int))
		*n.(*int)++
		if e.Payload == "poison" {
			return errors.New("cannot ship to the moon")
		}
		return ok.Handle(ctx, e)
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctxT(t), "dlq."+topic, dead.Handle); err != nil {
		t.Fatal(err)
	}

	t.Run("a handler that keeps failing is retried, then its event is dead-lettered with the reason", func(t *testing.T) {
		for _, p := range []string{"before", "poison", "after"} {
			if err := b.Publish(ctxT(t), bus.Event{Topic: topic, Payload: p, Metadata: map[string]any{"tenant": "t1"}}); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 20*time.Second, "the dead letter", func() bool { return len(dead.Events()) >= 1 })
		testutil.Eventually(t, 20*time.Second, "the events around it", func() bool { return len(ok.Events()) >= 2 })
		dl := dead.Events()[0]
		if dl.Payload != "poison" || dl.Topic != "dlq."+topic {
			t.Errorf("dead letter = topic %q payload %v", dl.Topic, dl.Payload)
		}
		md := dl.Metadata
		if md[broker.MetadataKeyDeadLetterReason] != "cannot ship to the moon" {
			t.Errorf("reason = %v", md[broker.MetadataKeyDeadLetterReason])
		}
		if md[broker.MetadataKeyDeadLetterAttempts] != float64(3) {
			t.Errorf("attempts = %v (%T), want 3", md[broker.MetadataKeyDeadLetterAttempts], md[broker.MetadataKeyDeadLetterAttempts])
		}
		if md[broker.MetadataKeyDeadLetterTopic] != topic || md["tenant"] != "t1" {
			t.Errorf("metadata = %v, want the original topic and the original metadata", md)
		}
		if n, _ := attempts.Load("poison"); *n.(*int) != 3 {
			t.Errorf("handler called %d times for the poison event, want 3 (1 + maxRetries 2)", *n.(*int))
		}
		st := b.EngineStats()
		if st.Retried < 2 || st.DeadLettered < 1 || st.Failed < 3 {
			t.Errorf("stats = %+v, want Retried >= 2, DeadLettered >= 1, Failed >= 3", st)
		}
	})

	t.Run("an undecodable record is dead-lettered without reaching the handler", func(t *testing.T) {
		cfg := sarama.NewConfig()
		cfg.Producer.Return.Successes = true
		raw, err := sarama.NewSyncProducer(k.Addrs(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		if _, _, err := raw.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder("not a cloudevent")}); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctxT(t), bus.Event{Topic: topic, Payload: "last"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, "the malformed record's dead letter", func() bool { return len(dead.Events()) >= 2 })
		testutil.Eventually(t, 20*time.Second, "the event after it", func() bool { return len(ok.Events()) >= 3 })
		dl := dead.Events()[1]
		if p, _ := dl.Payload.([]byte); string(p) != "not a cloudevent" {
			t.Errorf("dead letter payload = %#v, want the raw record value", dl.Payload)
		}
		if r, _ := dl.Metadata[broker.MetadataKeyDeadLetterReason].(string); !strings.Contains(r, "malformed") {
			t.Errorf("reason = %q, want it to say malformed", r)
		}
		if _, seen := attempts.Load("not a cloudevent"); seen {
			t.Errorf("the handler was called for an undecodable record")
		}
		if n := b.BackgroundErrors(broker.ScopeDecode); n < 1 {
			t.Errorf("decode errors reported = %d, want >= 1", n)
		}
	})
}
