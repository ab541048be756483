package examples_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestKafkaExamplePublishesHandlesAndDeadLettersThroughAKafkaBroker(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	out := runExample(t, "kafka", 2*time.Minute, "-brokers", strings.Join(k.Addrs(), ","))
	t.Log("\n" + out)
	for _, want := range []string{
		"published 7 orders",
		"handled order 1 of grace record order.placed/",
		"refused order 7 of mallory (attempt 2)",
		"dead letter map[amount:-5 customer:mallory id:7]: negative amount -5 after 2 attempts",
		"handled=6 dead-lettered=1, every customer's orders in order",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestKafkaExampleExplainsUnreachableBrokers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	out := runExampleFailing(t, "kafka", 2*time.Minute, "-brokers", addr)
	for _, want := range []string{fmt.Sprintf("no Kafka broker answered at %s", addr), "go run ./cmd/devbroker kafka"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
