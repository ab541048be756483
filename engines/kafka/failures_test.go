package kafka_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestStartFailsWithinItsTimeoutWhenNoBrokerAnswers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close() // nothing listens there any more
	b := newEngine(t, map[string]any{"brokers": []string{addr}, "startTimeout": "1s"})
	start := time.Now()
	err = b.Start(ctxT(t))
	took := time.Since(start)
	if !errors.Is(err, kafka.ErrBrokersUnreachable) {
		t.Fatalf("Start = %v, want ErrBrokersUnreachable", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the broker %s", err, addr)
	}
	if took > 5*time.Second {
		t.Errorf("Start took %v with startTimeout 1s", took)
	}
	if err := b.Publish(ctxT(t), bus.Event{Topic: "x", Payload: 1}); !errors.Is(err, bus.ErrEventBusNotStarted) {
		t.Errorf("Publish after a failed Start = %v, want ErrEventBusNotStarted", err)
	}
}

func TestMissingTopicsWithoutAutoCreate(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{SeedTopics: []string{"present"}})
	b := started(t, map[string]any{"brokers": k.Addrs()})
	noop := func(context.Context, bus.Event) error { return nil }

	t.Run("publish names the missing topic", func(t *testing.T) {
		err := b.Publish(ctxT(t), bus.Event{Topic: "absent.publish", Payload: 1})
		var te *kafka.TopicError
		if !errors.Is(err, kafka.ErrTopicNotFound) || !errors.As(err, &te) || te.Topic != "absent.publish" {
			t.Fatalf("Publish = %v, want a TopicError for absent.publish wrapping ErrTopicNotFound", err)
		}
		if !strings.Contains(err.Error(), "autoCreateTopics") {
			t.Errorf("error %q does not say how to fix it", err)
		}
	})
	t.Run("subscribe names the missing topic", func(t *testing.T) {
		_, err := b.Subscribe(ctxT(t), "absent.subscribe", noop)
		if !errors.Is(err, kafka.ErrTopicNotFound) || !strings.Contains(err.Error(), `"absent.subscribe"`) {
			t.Fatalf("Subscribe = %v, want ErrTopicNotFound naming absent.subscribe", err)
		}
		if n := b.SubscriberCount("absent.subscribe"); n != 0 {
			t.Errorf("a refused subscription was counted: %d", n)
		}
	})
	t.Run("an existing topic works", func(t *testing.T) {
		got := make(chan bus.Event, 1)
		if _, err := b.Subscribe(ctxT(t), "present", func(_ context.Context, e bus.Event) error { got <- e; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctxT(t), bus.Event{Topic: "present", Payload: "hi"}); err != nil {
			t.Fatal(err)
		}
		select {
		case e := <-got:
			if e.Payload != "hi" {
				t.Errorf("payload = %v", e.Payload)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no delivery")
		}
	})
	t.Run("a wildcard needs no existing topic", func(t *testing.T) {
		if _, err := b.Subscribe(ctxT(t), "absent.*", noop); err != nil {
			t.Fatalf("Subscribe(absent.*) = %v", err)
		}
	})
}

func TestPayloadLimitIsCheckedOnPublish(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	b := started(t, engineConfig(k, map[string]any{"maxPayloadBytes": 64}))
	err := b.Publish(ctxT(t), bus.Event{Topic: "big", Payload: strings.Repeat("x", 100)})
	if !errors.Is(err, bus.ErrPayloadTooLarge) {
		t.Fatalf("Publish of a 102-byte payload with maxPayloadBytes 64 = %v, want ErrPayloadTooLarge", err)
	}
}
