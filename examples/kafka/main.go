// Command kafka publishes orders through the Kafka engine and prints what
// happened to each of them: the partition and offset it was stored at,
// the handler that got it, and the dead letter of an order the handler
// refused.
//
// It needs a Kafka broker it can reach (it does not start one). Without
// one, start a throwaway in-memory broker and pass the address it prints:
//
//	go run ./cmd/devbroker kafka          # kafka (kfake, in memory) listening on 127.0.0.1:PORT
//	go run ./examples/kafka -brokers 127.0.0.1:PORT
//
// The brokers can also come from EVENTBUS_EXTERNAL_BROKER_URL
// ("kafka://host:9092,host:9093"); the default is 127.0.0.1:9092.
package main

import (
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/engines/kafka"
)

//go:embed config.yaml
var configYAML []byte

// order is the payload. Kafka carries it as JSON, so handlers receive the
// decoded JSON (a map[string]any); eventbus.PayloadAs turns it back into
// an order (and returns an order as is on the in-process engines).
type order struct {
	ID       int     `json:"id"`
	Customer string  `json:"customer"`
	Amount   float64 `json:"amount"`
}

func main() {
	def := os.Getenv("EVENTBUS_EXTERNAL_BROKER_URL")
	if def == "" {
		def = "127.0.0.1:9092"
	}
	brokers := flag.String("brokers", def, "comma-separated Kafka bootstrap brokers (host:port)")
	flag.Parse()
	if err := run(*brokers); err != nil {
		fmt.Fprintln(os.Stderr, "kafka example:", err)
		if errors.Is(err, kafka.ErrBrokersUnreachable) {
			fmt.Fprintf(os.Stderr, "\nno Kafka broker answered at %s: start one, then pass its address with -brokers.\n"+
				"For a throwaway local one: go run ./cmd/devbroker kafka (it prints the address).\n", *brokers)
		}
		os.Exit(1)
	}
}

func run(brokers string) error {
	if !strings.HasPrefix(brokers, "kafka://") {
		brokers = "kafka://" + brokers
	}
	if err := os.Setenv("EVENTBUS_EXTERNAL_BROKER_URL", brokers); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kafka-example")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, configYAML, 0o600); err != nil {
		return err
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{
		feeders.NewYamlFeeder(cfgPath), feeders.NewEnvFeeder(),
	})
	app.RegisterModule(eventbus.NewModule())
	if err := app.Init(); err != nil {
		return fmt.Errorf("init: %w", err)
	}
	if err := app.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer app.Stop()
	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil {
		return err
	}
	fmt.Printf("kafka brokers: %s\n", brokers)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		mu       sync.Mutex
		handled  int
		lastByID = map[string]int{} // customer -> last order id seen
		outOfSeq []string
		dead     []string
	)
	// Subscribe returns once the consumer group's start offsets are
	// committed: every order published afterwards is delivered.
	_, err = bus.Subscribe(ctx, "order.placed", func(ctx context.Context, e eventbus.Event) error {
		o, err := eventbus.PayloadAs[order](e)
		if err != nil {
			return err // retried, then dead-lettered
		}
		d, _ := broker.DeliveryFrom(ctx) // the record: "topic/partition/offset", attempt
		if o.Amount < 0 {
			fmt.Printf("  refused order %d of %s (attempt %d)\n", o.ID, o.Customer, d.Attempt)
			return fmt.Errorf("negative amount %v", o.Amount)
		}
		mu.Lock()
		defer mu.Unlock()
		if o.ID < lastByID[o.Customer] {
			outOfSeq = append(outOfSeq, fmt.Sprint(o.ID))
		} else {
			lastByID[o.Customer] = o.ID
		}
		handled++
		fmt.Printf("  handled order %d of %-5s record %s\n", o.ID, o.Customer, d.EntryID)
		return nil
	})
	if err != nil {
		return err
	}
	_, err = bus.Subscribe(ctx, "dlq.order.placed", func(_ context.Context, e eventbus.Event) error {
		mu.Lock()
		dead = append(dead, fmt.Sprint(e.Payload))
		mu.Unlock()
		fmt.Printf("  dead letter %v: %v after %v attempts\n", e.Payload, e.Metadata[broker.MetadataKeyDeadLetterReason], e.Metadata[broker.MetadataKeyDeadLetterAttempts])
		return nil
	})
	if err != nil {
		return err
	}

	// The partition key keeps each customer's orders on one partition, in
	// order.
	customers := []string{"ada", "grace", "linus"}
	for id := 1; id <= 6; id++ {
		o := order{ID: id, Customer: customers[id%3], Amount: float64(10 * id)}
		if err := bus.Publish(eventbus.WithPartitionKey(ctx, o.Customer), "order.placed", o); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	bad := order{ID: 7, Customer: "mallory", Amount: -5}
	if err := bus.Publish(eventbus.WithPartitionKey(ctx, bad.Customer), "order.placed", bad); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	fmt.Println("published 7 orders (each acknowledged by Kafka, acks=all)")

	for {
		mu.Lock()
		done := handled == 6 && len(dead) == 1
		mu.Unlock()
		if done {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waited %v: handled %d of 6 orders, %d dead letters", time.Minute, handled, len(dead))
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := app.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if len(outOfSeq) > 0 {
		return fmt.Errorf("orders %v arrived out of their customer's order", outOfSeq)
	}
	fmt.Printf("handled=6 dead-lettered=1, every customer's orders in order\n")
	return nil
}
