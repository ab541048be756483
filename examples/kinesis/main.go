// Command kinesis publishes sensor readings through the Kinesis engine and
// prints how they come back: every topic shares one stream, the partition
// key (the sensor) picks the shard, and one sensor's readings arrive in
// the order they were published.
//
// It needs a Kinesis endpoint it can reach (it does not start one), for
// example a local kinesalite:
//
//	npx kinesalite --port 4567 &
//	go run ./examples/kinesis -endpoint http://127.0.0.1:4567
//
// The endpoint can also come from EVENTBUS_EXTERNAL_BROKER_URL; the
// default is http://127.0.0.1:4567.
package main

import (
	"context"
	_ "embed"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/broker"
)

//go:embed config.yaml
var configYAML []byte

// reading is the payload of sensor events.
type reading struct {
	Sensor string  `json:"sensor"`
	N      int     `json:"n"`
	Value  float64 `json:"value"`
}

func main() {
	def := os.Getenv("EVENTBUS_EXTERNAL_BROKER_URL")
	if def == "" {
		def = "http://127.0.0.1:4567"
	}
	endpoint := flag.String("endpoint", def, "Kinesis endpoint URL (kinesalite, LocalStack, a VPC endpoint)")
	flag.Parse()
	if err := run(*endpoint); err != nil {
		fmt.Fprintln(os.Stderr, "kinesis example:", err)
		fmt.Fprintf(os.Stderr, "\nis a Kinesis endpoint listening at %s? For a local one: npx kinesalite --port 4567\n", *endpoint)
		os.Exit(1)
	}
}

func run(endpoint string) error {
	if err := os.Setenv("EVENTBUS_EXTERNAL_BROKER_URL", endpoint); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "kinesis-example")
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
	// Start creates the stream if needed and waits until it is ACTIVE.
	if err := app.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer app.Stop()
	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil {
		return err
	}
	fmt.Printf("kinesis endpoint: %s, stream switchyard-example\n", endpoint)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const perSensor = 3
	sensors := []string{"boiler", "pump", "valve"}
	var (
		mu      sync.Mutex
		handled int
		last    = map[string]int{} // sensor -> last reading number
		order   = true
	)
	// A wildcard subscription: the topics sensor.temperature and
	// sensor.pressure travel in the same stream.
	_, err = bus.Subscribe(ctx, "sensor.*", func(ctx context.Context, e eventbus.Event) error {
		r, err := eventbus.PayloadAs[reading](e) // JSON on the wire: decode it back
		if err != nil {
			return err
		}
		d, _ := broker.DeliveryFrom(ctx) // EntryID: the record's sequence number
		mu.Lock()
		defer mu.Unlock()
		s, n := r.Sensor, r.N
		if n <= last[s] {
			order = false
		}
		last[s] = n
		handled++
		fmt.Printf("  %-18s %-6s #%v  sequence %s\n", e.Topic, s, n, d.EntryID)
		return nil
	})
	if err != nil {
		return err
	}
	for n := 1; n <= perSensor; n++ {
		for _, s := range sensors {
			topic := "sensor.temperature"
			if s == "pump" {
				topic = "sensor.pressure"
			}
			r := reading{Sensor: s, N: n, Value: 20.5 + float64(n)}
			if err := bus.Publish(eventbus.WithPartitionKey(ctx, s), topic, r); err != nil {
				return fmt.Errorf("publish: %w", err)
			}
		}
	}
	want := perSensor * len(sensors)
	fmt.Printf("published %d readings (each accepted by PutRecords)\n", want)
	for {
		mu.Lock()
		n := handled
		mu.Unlock()
		if n >= want {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("handled %d of %d readings within a minute", n, want)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := app.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if !order {
		return fmt.Errorf("a sensor's readings arrived out of order")
	}
	fmt.Printf("handled=%d, every sensor's readings in order\n", want)
	return nil
}
