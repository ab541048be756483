package kafka_test

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
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

// With autoCreateTopics off, a missing dead-letter topic would make a
// partition wait once an event exhausts its retries. The engine says so
// through the error observer when the subscription starts (or discovers
// the topic), once per topic, and not for a topic whose dead-letter topic
// exists or when dead-lettering is disabled.
func TestAMissingDeadLetterTopicIsReportedAtSubscribe(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{SeedTopics: []string{"bare", "guarded", "dlq.guarded", "wild.a"}})
	noop := func(context.Context, bus.Event) error { return nil }
	type report struct {
		scope broker.Scope
		err   error
	}
	watch := func(b *kafka.EventBus) chan report {
		ch := make(chan report, 16)
		b.SetErrorObserver(broker.ErrorObserverFunc(func(s broker.Scope, err error) { ch <- report{s, err} }))
		return ch
	}
	missing := func(reports chan report) []string {
		var out []string
		for {
			select {
			case r := <-reports:
				var te *kafka.TopicError
				if r.scope != broker.ScopeDeadLetter || !errors.Is(r.err, kafka.ErrDeadLetterTopicMissing) || !errors.As(r.err, &te) {
					t.Errorf("unexpected report %s: %v", r.scope, r.err)
					continue
				}
				if !strings.Contains(r.err.Error(), `deadLetterTopic: "-"`) {
					t.Errorf("report %q does not say how to fix it", r.err)
				}
				out = append(out, te.Topic)
			default:
				return out
			}
		}
	}

	b := started(t, map[string]any{"brokers": k.Addrs()})
	reports := watch(b)
	for _, topic := range []string{"bare", "guarded", "bare", "wild.*"} {
		if _, err := b.Subscribe(ctxT(t), topic, noop); err != nil {
			t.Fatalf("Subscribe(%s) = %v; a missing dead-letter topic must not refuse it", topic, err)
		}
	}
	if got := missing(reports); !slices.Equal(got, []string{"dlq.bare", "dlq.wild.a"}) {
		t.Errorf("reported %v, want dlq.bare once and dlq.wild.a (dlq.guarded exists)", got)
	}

	disabled := started(t, map[string]any{"brokers": k.Addrs(), "deadLetterTopic": "-"})
	quiet := watch(disabled)
	if _, err := disabled.Subscribe(ctxT(t), "bare", noop); err != nil {
		t.Fatal(err)
	}
	if got := missing(quiet); len(got) != 0 {
		t.Errorf("dead-lettering disabled, yet reported %v", got)
	}
}
