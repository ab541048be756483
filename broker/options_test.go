package broker_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

func TestOptionsDefaults(t *testing.T) {
	o := broker.Options{}.WithDefaults()
	want := broker.Options{
		Source: "switchyard", MaxRetries: 3, RetryBackoff: bus.Duration(100 * time.Millisecond),
		RetryBackoffMax: bus.Duration(5 * time.Second), DeadLetterTopic: "dlq.{topic}",
		MaxPayloadBytes: 4 << 20, MaxInFlight: 64, AckMode: broker.AckAfterHandle,
		TopicLimit: bus.DefaultTopicLimit,
	}
	if o != want {
		t.Errorf("defaults = %+v\nwant %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
}

func TestOptionsDecodeFromConfigMap(t *testing.T) {
	var o broker.Options
	err := enginekit.DecodeConfig(map[string]any{
		"maxRetries": 5, "retryBackoff": "10ms", "ackMode": "onReceive", "deadLetterTopic": "{topic}.dead",
		"maxPayloadBytes": float64(1024), "workerCount": 3, // a shared module key is accepted
	}, &o)
	if err != nil {
		t.Fatal(err)
	}
	o = o.WithDefaults()
	if o.MaxRetries != 5 || o.RetryBackoff.Std() != 10*time.Millisecond || o.AckMode != broker.AckOnReceive || o.DeadLetterTopic != "{topic}.dead" || o.MaxPayloadBytes != 1024 {
		t.Errorf("decoded %+v", o)
	}
}

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name  string
		o     broker.Options
		field string
	}{
		{"maxRetries below -1", broker.Options{MaxRetries: -2}, "maxRetries: -2"},
		{"negative backoff", broker.Options{RetryBackoff: bus.Duration(-time.Second)}, "retryBackoff: -1s"},
		{"negative backoff cap", broker.Options{RetryBackoffMax: bus.Duration(-time.Second)}, "retryBackoffMax: -1s"},
		{"backoff above its cap", broker.Options{RetryBackoff: bus.Duration(time.Minute), RetryBackoffMax: bus.Duration(time.Second)}, "retryBackoff: 1m0s"},
		{"maxPayloadBytes below -1", broker.Options{MaxPayloadBytes: -5}, "maxPayloadBytes: -5"},
		{"negative maxInFlight", broker.Options{MaxInFlight: -1}, "maxInFlight: -1"},
		{"negative topicLimit", broker.Options{TopicLimit: -3}, "topicLimit: -3"},
		{"unknown ack mode", broker.Options{AckMode: "sometimes"}, "ackMode: sometimes"},
		{"dead-letter template without placeholder", broker.Options{DeadLetterTopic: "dead"}, "deadLetterTopic: dead"},
		{"dead-letter template with two placeholders", broker.Options{DeadLetterTopic: "{topic}.{topic}"}, "deadLetterTopic: {topic}.{topic}"},
		{"dead-letter template with a wildcard", broker.Options{DeadLetterTopic: "dlq.*.{topic}"}, "deadLetterTopic: dlq.*.{topic}"},
	}
	for _, c := range cases {
		t.Run(c.name+" is rejected naming field and value", func(t *testing.T) {
			err := c.o.WithDefaults().Validate()
			if !errors.Is(err, broker.ErrInvalidOption) {
				t.Fatalf("err = %v, want ErrInvalidOption", err)
			}
			if !strings.Contains(err.Error(), c.field) {
				t.Errorf("err %q does not name %q", err, c.field)
			}
		})
	}
	for _, ok := range []broker.Options{{MaxRetries: -1}, {MaxPayloadBytes: -1}, {DeadLetterTopic: "-"}, {AckMode: "MANUAL"}, {AckMode: "after_handle"}} {
		if err := ok.WithDefaults().Validate(); err != nil {
			t.Errorf("%+v rejected: %v", ok, err)
		}
	}
}

func TestParseAckMode(t *testing.T) {
	for in, want := range map[string]broker.AckMode{
		"after-handle": broker.AckAfterHandle, "afterHandle": broker.AckAfterHandle, "AFTER_HANDLE": broker.AckAfterHandle,
		"on-receive": broker.AckOnReceive, "onReceive": broker.AckOnReceive, "manual": broker.AckManual,
	} {
		if got, err := broker.ParseAckMode(in); err != nil || got != want {
			t.Errorf("ParseAckMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := broker.ParseAckMode("never"); !errors.Is(err, broker.ErrInvalidOption) {
		t.Errorf("ParseAckMode(never) = %v", err)
	}
}

func TestRetryPolicy(t *testing.T) {
	p := broker.RetryPolicy{MaxRetries: 4, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	if p.Attempts() != 5 {
		t.Errorf("Attempts = %d, want 5", p.Attempts())
	}
	for n, want := range map[int]time.Duration{0: 0, 1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond, 4: 50 * time.Millisecond, 60: 50 * time.Millisecond, 1 << 30: 50 * time.Millisecond} {
		if got := p.Ceiling(n); got != want {
			t.Errorf("Ceiling(%d) = %v, want %v", n, got, want)
		}
	}
	t.Run("delays are jittered within the ceiling", func(t *testing.T) {
		distinct := map[time.Duration]bool{}
		for i := 0; i < 200; i++ {
			d := p.Delay(3)
			if d < 0 || d > 40*time.Millisecond {
				t.Fatalf("Delay(3) = %v, outside [0, 40ms]", d)
			}
			distinct[d] = true
		}
		if len(distinct) < 50 {
			t.Errorf("only %d distinct delays in 200: not jittered", len(distinct))
		}
	})
	t.Run("no retries means one attempt", func(t *testing.T) {
		if a := (broker.RetryPolicy{MaxRetries: -1}).Attempts(); a != 1 {
			t.Errorf("Attempts = %d", a)
		}
	})
	t.Run("an uncapped policy does not overflow", func(t *testing.T) {
		if c := (broker.RetryPolicy{Backoff: time.Second}).Ceiling(1000); c <= 0 {
			t.Errorf("Ceiling(1000) = %v", c)
		}
	})
	t.Run("background backoff grows, stays above a floor and resets", func(t *testing.T) {
		b := broker.Backoff{Base: 10 * time.Millisecond, Max: 80 * time.Millisecond}
		for i := 0; i < 20; i++ {
			if d := b.Next(); d < time.Millisecond || d > 80*time.Millisecond {
				t.Fatalf("Next = %v", d)
			}
		}
		b.Reset()
		if d := b.Next(); d > 10*time.Millisecond {
			t.Errorf("after Reset Next = %v, want <= base", d)
		}
	})
}

func TestDeadLetterTopics(t *testing.T) {
	def := broker.Options{}.WithDefaults()
	suffix := broker.Options{DeadLetterTopic: "{topic}.dlq"}.WithDefaults()
	off := broker.Options{DeadLetterTopic: "-"}.WithDefaults()

	if got, ok := def.DeadLetterTopicFor("order.placed"); !ok || got != "dlq.order.placed" {
		t.Errorf("default DeadLetterTopicFor = %q, %v", got, ok)
	}
	if got, ok := suffix.DeadLetterTopicFor("order.placed"); !ok || got != "order.placed.dlq" {
		t.Errorf("suffix DeadLetterTopicFor = %q, %v", got, ok)
	}
	if _, ok := def.DeadLetterTopicFor("dlq.order.placed"); ok {
		t.Errorf("a dead letter would be dead-lettered again")
	}
	if _, ok := off.DeadLetterTopicFor("x"); ok {
		t.Errorf("disabled dead-lettering still names a topic")
	}

	cases := []struct {
		o        broker.Options
		pattern  string
		topic    string
		expected bool
	}{
		{def, "*", "order.placed", true},
		{def, "*", "dlq.order.placed", false},
		{def, "d*", "dlq.order.placed", false},
		{def, "dlq.*", "dlq.order.placed", true},
		{def, "dlq.order.*", "dlq.order.placed", true},
		{def, "dlq.order.placed", "dlq.order.placed", true},
		{def, "order.*", "order.placed", true},
		{def, "order.*", "orders.x", false},
		{def, "dlq", "dlq", true}, // "dlq" alone is not a dead-letter topic
		{suffix, "order.*", "order.placed.dlq", false},
		{suffix, "order.placed.dlq", "order.placed.dlq", true},
		{off, "*", "dlq.order.placed", true},
	}
	for _, c := range cases {
		if got := c.o.SubscriptionMatches(c.pattern, c.topic); got != c.expected {
			t.Errorf("template %q: SubscriptionMatches(%q, %q) = %v, want %v", c.o.DeadLetterTopic, c.pattern, c.topic, got, c.expected)
		}
	}
}
