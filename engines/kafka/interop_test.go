package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/cloudevents/sdk-go/protocol/kafka_sarama/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// The interop tests judge the engine's records with the CloudEvents Go
// SDK and its Kafka binding (kafka_sarama), which the project did not
// write: records another program produces with the binding (binary and
// structured mode) are read by the engine, and the records the engine
// writes are read with the binding.

// foreignProducer returns a plain sarama producer, standing for another
// program.
func foreignProducer(t *testing.T, k *testinfra.KafkaCluster) sarama.SyncProducer {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.MaxMessageBytes = 4 << 20
	p, err := sarama.NewSyncProducer(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// produceCE writes ce to topic with the SDK's Kafka binding, in binary or
// structured content mode.
func produceCE(t *testing.T, p sarama.SyncProducer, topic string, ce event.Event, structured bool) {
	t.Helper()
	ctx := binding.WithForceBinary(context.Background())
	if structured {
		ctx = binding.WithForceStructured(context.Background())
	}
	msg := &sarama.ProducerMessage{Topic: topic}
	if err := kafka_sarama.WriteProducerMessage(ctx, binding.ToMessage(&ce), msg); err != nil {
		t.Fatalf("kafka_sarama.WriteProducerMessage: %v", err)
	}
	if _, _, err := p.SendMessage(msg); err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
}

// readRecords returns the first n records of topic (every partition),
// read with a plain sarama consumer.
func readRecords(t *testing.T, k *testinfra.KafkaCluster, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	cfg := sarama.NewConfig()
	c, err := sarama.NewConsumer(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var parts []int32
	testutil.Eventually(t, 20*time.Second, "topic "+topic, func() bool {
		parts, err = c.Partitions(topic)
		return err == nil && len(parts) > 0
	})
	out := make(chan *sarama.ConsumerMessage, n+16)
	for _, p := range parts {
		pc, err := c.ConsumePartition(topic, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		go func() {
			for m := range pc.Messages() {
				out <- m
			}
		}()
	}
	var got []*sarama.ConsumerMessage
	deadline := time.After(30 * time.Second)
	for len(got) < n {
		select {
		case m := <-out:
			got = append(got, m)
		case <-deadline:
			t.Fatalf("read %d records of %s, want %d", len(got), topic, n)
		}
	}
	return got
}

// sdkEvent decodes a record with the SDK's Kafka binding.
func sdkEvent(t *testing.T, m *sarama.ConsumerMessage) event.Event {
	t.Helper()
	ce, err := binding.ToEvent(context.Background(), kafka_sarama.NewMessageFromConsumerMessage(m))
	if err != nil {
		t.Fatalf("the SDK cannot read the record: %v", err)
	}
	return *ce
}

func TestInteropForeignRecords(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"maxRetries": -1}))
	p := foreignProducer(t, k)

	for _, mode := range []string{"binary", "structured"} {
		t.Run("records the SDK writes in "+mode+" mode reach the handler with the Kafka topic and the event's own attributes", func(t *testing.T) {
			topic := "interop.in." + mode
			var rec brokertest.Recorder
			if _, err := b.Subscribe(ctxT(t), topic, rec.Handle); err != nil {
				t.Fatal(err)
			}
			want := map[string]brokertest.ForeignEvent{}
			for _, f := range brokertest.ForeignEvents() {
				f.Event = f.Event.Clone()
				f.Event.SetID(f.Event.ID() + "-" + mode)
				f.Name = mode + ": " + f.Name
				want[f.Event.ID()] = f
				produceCE(t, p, topic, f.Event, mode == "structured")
			}
			brokertest.CheckForeignDeliveries(t, &rec, want, 30*time.Second, func(brokertest.ForeignEvent) string { return topic })
		})
	}

	t.Run("a failing foreign event is dead-lettered to the Kafka topic's dead-letter topic, keeping its type and source, with readable reasons", func(t *testing.T) {
		const topic = "interop.fail"
		if _, err := b.Subscribe(ctxT(t), topic, func(context.Context, bus.Event) error { return errors.New("cannot ship to the moon") }); err != nil {
			t.Fatal(err)
		}
		ce := event.New()
		ce.SetID("f-dl")
		ce.SetSource("https://shop.example.com/orders")
		ce.SetType("com.example.order.failed")
		ce.SetSubject("orders/49")
		ce.SetExtension("comexampletenant", "acme")
		_ = ce.SetData(event.ApplicationJSON, map[string]any{"order": 49})
		produceCE(t, p, topic, ce, false)

		recs := readRecords(t, k, "dlq."+topic, 1)
		dl := sdkEvent(t, recs[0])
		if dl.Type() != "com.example.order.failed" || dl.Source() != "https://shop.example.com/orders" || dl.Subject() != "dlq."+topic {
			t.Errorf("dead letter type %q source %q subject %q; want the original type and source, subject the dead-letter topic", dl.Type(), dl.Source(), dl.Subject())
		}
		ext := dl.Extensions()
		for name, want := range map[string]string{
			"deadletterreason": "cannot ship to the moon", "deadlettertopic": topic, "deadletterattempts": "1",
			"deadletterid": "f-dl", "deadlettersubject": "orders/49", "comexampletenant": "acme",
		} {
			if got, _ := ext[name].(string); got != want {
				t.Errorf("dead letter extension %s = %v, want %q (extensions %v)", name, ext[name], want, ext)
			}
		}
		if string(dl.Data()) != `{"order":49}` {
			t.Errorf("dead letter data = %s", dl.Data())
		}
	})

	t.Run("a batched-mode record is dead-lettered with a reason that says so", func(t *testing.T) {
		const topic = "interop.batch"
		var calls atomic.Int64
		if _, err := b.Subscribe(ctxT(t), topic, func(context.Context, bus.Event) error { calls.Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		b.SetErrorObserver(broker.ErrorObserverFunc(func(broker.Scope, error) {}))
		batch := `[{"specversion":"1.0","id":"b-1","source":"/s","type":"t"},{"specversion":"1.0","id":"b-2","source":"/s","type":"t"}]`
		if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Value: sarama.StringEncoder(batch),
			Headers: []sarama.RecordHeader{{Key: []byte("content-type"), Value: []byte("application/cloudevents-batch+json")}}}); err != nil {
			t.Fatal(err)
		}
		dl := sdkEvent(t, readRecords(t, k, "dlq."+topic, 1)[0])
		if r, _ := dl.Extensions()["deadletterreason"].(string); !strings.Contains(r, "batched content mode") {
			t.Errorf("reason = %q, want it to name the batched content mode", r)
		}
		if string(dl.Data()) != batch {
			t.Errorf("dead letter data = %s, want the batch", dl.Data())
		}
		if calls.Load() != 0 {
			t.Errorf("the handler was called for a batch")
		}
	})
}

func TestInteropOwnRecords(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, nil))
	for i, o := range brokertest.OwnEvents("") {
		o := o
		o.Event.Topic = fmt.Sprintf("interop.out.%d", i)
		t.Run("the SDK's Kafka binding reads a record with "+o.Name, func(t *testing.T) {
			if err := b.Publish(ctxT(t), o.Event); err != nil {
				t.Fatal(err)
			}
			m := readRecords(t, k, o.Event.Topic, 1)[0]
			for _, problem := range brokertest.CheckOwn(o, "switchyard", sdkEvent(t, m)) {
				t.Error(problem)
			}
			if key := string(m.Key); key != bus.EventKey(context.Background(), o.Event) {
				t.Errorf("record key = %q, want the partition key %q", key, bus.EventKey(context.Background(), o.Event))
			}
		})
	}
}

// With autoCreateTopics off and no dead-letter topic, an event that
// exhausts its retries cannot be dead-lettered. It must not hold its
// partition back forever: after a few attempts it is dropped, reported
// and counted, and the events after it are delivered.
func TestADeadLetterThatCannotBeWrittenDoesNotStallThePartition(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{SeedTopics: []string{"stall.in"}})
	b := started(t, map[string]any{"brokers": k.Addrs(), "maxRetries": -1, "retryBackoff": "10ms"})
	var dropped atomic.Value
	b.SetErrorObserver(broker.ErrorObserverFunc(func(s broker.Scope, err error) {
		if s == broker.ScopeDeadLetter && errors.Is(err, kafka.ErrDeadLetterDropped) {
			dropped.Store(err)
		}
	}))
	var rec brokertest.Recorder
	if _, err := b.Subscribe(ctxT(t), "stall.in", func(ctx context.Context, e bus.Event) error {
		if e.Payload == "poison" {
			return errors.New("poison")
		}
		return rec.Handle(ctx, e)
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"poison", "after"} {
		if err := b.Publish(ctxT(t), bus.Event{Topic: "stall.in", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 30*time.Second, "the event after the one that cannot be dead-lettered", func() bool { return rec.Count() >= 1 })
	testutil.Eventually(t, 5*time.Second, "the report", func() bool { return dropped.Load() != nil })
	if err := dropped.Load().(error); !errors.Is(err, kafka.ErrTopicNotFound) || !strings.Contains(err.Error(), "dlq.stall.in") {
		t.Errorf("report = %v, want the missing dead-letter topic named", err)
	}
	if st := b.EngineStats(); st.Dropped != 1 || st.DeadLettered != 0 {
		t.Errorf("stats Dropped %d DeadLettered %d, want 1 and 0", st.Dropped, st.DeadLettered)
	}
}

func TestInteropForeignRecordsPoll(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, nil))
	p := foreignProducer(t, k)
	for _, mode := range []string{"binary", "structured"} {
		t.Run("Poll reads the records the SDK writes in "+mode+" mode as a subscriber receives them", func(t *testing.T) {
			topic := "interop.poll." + mode
			// Subscribing makes the engine create the topic (autoCreateTopics).
			if _, err := b.Subscribe(ctxT(t), topic, func(context.Context, bus.Event) error { return nil }); err != nil {
				t.Fatal(err)
			}
			var want []brokertest.ForeignEvent
			for _, f := range brokertest.ForeignEvents() {
				f.Event = f.Event.Clone()
				f.Event.SetID(f.Event.ID() + "-poll-" + mode)
				produceCE(t, p, topic, f.Event, mode == "structured")
				want = append(want, f)
			}
			var got []bus.Event
			cursor := ""
			testutil.Eventually(t, 30*time.Second, "Poll to return every record the SDK wrote", func() bool {
				resp, err := b.Poll(ctxT(t), topic, bus.ConsumeRequest{Limit: 100, Cursor: cursor})
				if err != nil {
					t.Fatal(err)
				}
				got, cursor = append(got, resp.Events...), resp.Cursor
				return len(got) >= len(want)
			})
			// Partitions are merged by event time, and the SDK's events
			// carry their own times: any order.
			brokertest.CheckForeignPolled(t, got, want, func(brokertest.ForeignEvent) string { return topic })
		})
	}
}
