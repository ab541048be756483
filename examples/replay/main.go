// Command replay is a batch consumer built on Poll: it reads order events
// with a JSON filter, persists its cursor in a file after every page, and
// resumes from that file on its next run.
//
//	go run ./examples/replay [-cursor path]
//	go run ./examples/replay -redis redis://127.0.0.1:6390/0 [-publish 30] [-cursor path]
//
// Without -redis the program needs no server and plays both sides in one
// process: an order service publishes orders on the in-process sharded
// engine (which keeps the last retainEvents events of each shard, see
// config.yaml), and the consumer runs twice, as a scheduled job would. The
// first run finds no cursor file and backfills from the oldest retained
// event; the second resumes from the saved cursor and reads only what was
// published since. The sharded engine's retained events live in the
// process, so its cursors are only valid for the engine value that
// produced them: when the program starts again with the file of an earlier
// process, Poll refuses the cursor (ErrInvalidCursor) and the consumer
// backfills from the oldest retained event.
//
// With -redis the orders go through Redis Streams (config-redis.yaml
// routes orders.* to the redis engine), and each run of the program is
// one run of the job, in its own process: it publishes -publish new orders
// (their ids continue after the highest id already in the stream), then
// consumes. The first process finds no cursor file, backfills from the
// oldest event of the stream and saves the cursor; the next process
// resumes from the file and reads only the matching orders published
// since, each once, because the cursor holds Redis stream ids. Start a
// throwaway redis-server (7.0 or later) and run the program twice:
//
//	redis-server --port 6390 --save '' --appendonly no &
//	go run ./examples/replay -redis redis://127.0.0.1:6390/0
//	go run ./examples/replay -redis redis://127.0.0.1:6390/0 -publish 12
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

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/engines/redis"
)

var (
	//go:embed config.yaml
	configYAML []byte
	//go:embed config-redis.yaml
	configRedisYAML []byte
)

// topic is where the order service publishes; the consumer polls the
// pattern "orders.*".
const topic = "orders.placed"

func main() {
	cursorPath := flag.String("cursor", "", "file holding the consumer's cursor (default: switchyard-replay.cursor, or switchyard-replay-redis.cursor with -redis, in the temporary directory)")
	redisURL := flag.String("redis", "", "address of a running redis-server (7.0 or later): route orders through Redis Streams, so that the cursor file resumes across runs of the program; without it the program runs in one process with no server")
	publish := flag.Int("publish", 30, "with -redis: how many new orders this run publishes before it consumes")
	flag.Parse()
	if *cursorPath == "" {
		name := "switchyard-replay.cursor"
		if *redisURL != "" {
			name = "switchyard-replay-redis.cursor"
		}
		*cursorPath = filepath.Join(os.TempDir(), name)
	}
	var err error
	publishSet := false
	flag.Visit(func(f *flag.Flag) { publishSet = publishSet || f.Name == "publish" })
	if *redisURL == "" && publishSet {
		err = errors.New("-publish needs -redis: without it the program publishes its own two batches in one process")
	} else if *redisURL == "" {
		err = runInProcess(*cursorPath)
	} else {
		err = runRedis(*redisURL, *cursorPath, *publish)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		if errors.Is(err, redis.ErrUnreachable) {
			fmt.Fprintf(os.Stderr, "\nno redis-server reachable at %s. This example does not start one: run\n"+
				"  redis-server --port 6390 --save '' --appendonly no &\n"+
				"  go run ./examples/replay -redis redis://127.0.0.1:6390/0\n", *redisURL)
		}
		os.Exit(1)
	}
}

// runInProcess is the demo without servers: the order service and both
// runs of the consumer share one process and one sharded engine.
func runInProcess(cursorPath string) error {
	bus, stop, err := startBus(configYAML)
	if err != nil {
		return err
	}
	defer stop()
	ctx := context.Background()
	c, err := newConsumer(bus, cursorPath)
	if err != nil {
		return err
	}
	if err := publishOrders(ctx, bus, 1, 30); err != nil {
		return err
	}
	if err := c.runOnce(ctx, "run 1"); err != nil {
		return err
	}
	if err := publishOrders(ctx, bus, 31, 12); err != nil {
		return err
	}
	if err := c.runOnce(ctx, "run 2"); err != nil {
		return err
	}
	fmt.Printf("handled %d orders in all, each once\n", len(c.handled))
	return nil
}

// runRedis is one run of the job against Redis: publish n new orders,
// then read every matching order after the saved cursor.
func runRedis(redisURL, cursorPath string, n int) error {
	if n < 0 {
		return fmt.Errorf("-publish %d: must be >= 0", n)
	}
	// The env feeder reads EVENTBUS_EXTERNAL_BROKER_URL: setting it here is
	// the same as exporting it in the shell.
	if err := os.Setenv("EVENTBUS_EXTERNAL_BROKER_URL", redisURL); err != nil {
		return err
	}
	bus, stop, err := startBus(configRedisYAML)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Printf("redis-server: %s\nroute: %s -> %s\n", redisURL, topic, bus.GetRouter().GetEngineForTopic(topic))
	ctx := context.Background()
	last, err := lastOrderID(ctx, bus)
	if err != nil {
		return err
	}
	if n > 0 {
		if err := publishOrders(ctx, bus, last+1, n); err != nil {
			return err
		}
		fmt.Printf("published orders %d..%d after the %d already in the stream\n", last+1, last+n, last)
	}
	c, err := newConsumer(bus, cursorPath)
	if err != nil {
		return err
	}
	return c.runOnce(ctx, "this run")
}

// startBus starts a modular application whose event bus is configured by
// the YAML text cfg, and returns the bus and the function that stops the
// application.
func startBus(cfg []byte) (*eventbus.EventBusModule, func(), error) {
	dir, err := os.MkdirTemp("", "replay")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir) // the feeder reads the file in Init
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o600); err != nil {
		return nil, nil, err
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{
		feeders.NewYamlFeeder(cfgPath), feeders.NewEnvFeeder(),
	})
	app.RegisterModule(eventbus.NewModule())
	if err := app.Init(); err != nil {
		return nil, nil, fmt.Errorf("init: %w", err)
	}
	if err := app.Start(); err != nil {
		return nil, nil, fmt.Errorf("start: %w", err)
	}
	stop := func() { _ = app.Stop() }
	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil {
		stop()
		return nil, nil, err
	}
	return bus, stop, nil
}

// publishOrders publishes n orders numbered from first, one partition
// key per customer (one customer's orders are read in publish order),
// and waits until the engine has taken them (Flush), so that the next
// poll sees them.
func publishOrders(ctx context.Context, bus *eventbus.EventBusModule, first, n int) error {
	names := []string{"ada", "grace", "linus", "barbara", "ken"}
	tiers := map[string]string{"ada": "gold", "grace": "silver", "linus": "gold", "barbara": "bronze", "ken": "silver"}
	for id := first; id < first+n; id++ {
		name := names[id%len(names)]
		o := order{
			ID:       id,
			Region:   []string{"eu", "us", "eu", "apac"}[id%4],
			Status:   []string{"placed", "placed", "cancelled"}[id%3],
			Customer: customer{Name: name, Tier: tiers[name]},
			Items:    []string{[]string{"book", "gift-card", "lamp"}[id%3], "bag"},
		}
		if err := bus.Publish(eventbus.WithPartitionKey(ctx, name), topic, o); err != nil {
			return err
		}
	}
	return bus.Flush(ctx)
}

// lastOrderID returns the highest order id in the stream (0 when it is
// empty), so that a new run's orders continue the numbering. A real
// order service has its own ids; the example reads the whole stream
// without a filter, which is also how a consumer counts what is retained.
func lastOrderID(ctx context.Context, bus *eventbus.EventBusModule) (int, error) {
	last, cursor := 0, ""
	for {
		resp, err := bus.Poll(ctx, "orders.*", eventbus.ConsumeRequest{Limit: 256, Cursor: cursor})
		if err != nil {
			return 0, fmt.Errorf("count the orders in the stream: %w", err)
		}
		for _, e := range resp.Events {
			o, err := eventbus.PayloadAs[order](e)
			if err != nil {
				return 0, err
			}
			last = max(last, o.ID)
		}
		if len(resp.Events) == 0 {
			return last, nil
		}
		cursor = resp.Cursor
	}
}
