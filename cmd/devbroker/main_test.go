package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"go.uber.org/goleak"
)

// sarama starts one go-metrics meter goroutine per process that never ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}

// A Kafka client (sarama, not our engine) produces to and consumes from
// the address devbroker prints, then Ctrl-C (the context) stops it.
func TestKafkaServesTheAddressItPrintsUntilStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"kafka"}, pw, io.Discard)
		_ = pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no output: %v", <-done)
	}
	m := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)$`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("first line %q does not give a 127.0.0.1 address", lines.Text())
	}
	go func() { // keep draining the output so run never blocks on it
		for lines.Scan() {
		}
	}()
	addr := m[1]

	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	client, err := sarama.NewClient([]string{addr}, cfg)
	if err != nil {
		t.Fatalf("connect to %s: %v", addr, err)
	}
	defer client.Close()
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	part, _, err := producer.SendMessage(&sarama.ProducerMessage{Topic: "greetings", Value: sarama.StringEncoder("hello")})
	if err != nil {
		t.Fatalf("produce (the topic is created on first use): %v", err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition("greetings", part, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case msg := <-pc.Messages():
		if string(msg.Value) != "hello" {
			t.Errorf("consumed %q, want hello", msg.Value)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nothing consumed within 20s")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
}

func TestUnknownOrMissingBrokerKindIsAUsageError(t *testing.T) {
	for _, args := range [][]string{nil, {"-port", "1"}, {"rabbitmq"}} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if !errors.Is(err, errUsage) {
			t.Errorf("run(%q) = %v, want errUsage", args, err)
		}
	}
	if err := run(context.Background(), []string{"kafka", "-port", "70000"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "70000") {
		t.Errorf("port 70000: %v", err)
	}
}
