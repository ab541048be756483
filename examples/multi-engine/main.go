// Command multi-engine runs one event bus over two engines: user.* events
// on the in-process sharded engine, order.* events through Redis Streams
// (config.yaml holds the routing rules).
//
// It expects a redis-server it can reach; it does not start one. Start a
// throwaway one and point the example at it:
//
//	redis-server --port 6390 --save '' --appendonly no &
//	go run ./examples/multi-engine -redis redis://127.0.0.1:6390/0
//
// The address can also come from EVENTBUS_EXTERNAL_BROKER_URL; the default
// is redis://127.0.0.1:6379/0.
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
	"sort"
	"sync"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/engines/redis"
)

//go:embed config.yaml
var configYAML []byte

// user and order are the payloads. Redis carries order events as JSON
// (the json tags name the fields on the wire).
type user struct {
	Name string `json:"name"`
}

type order struct {
	ID       int    `json:"id"`
	Customer string `json:"customer"`
}

func main() {
	defaultURL := os.Getenv("EVENTBUS_EXTERNAL_BROKER_URL")
	if defaultURL == "" {
		defaultURL = "redis://127.0.0.1:6379/0"
	}
	redisURL := flag.String("redis", defaultURL, "address of a running redis-server")
	flag.Parse()
	if err := run(*redisURL); err != nil {
		fmt.Fprintln(os.Stderr, "multi-engine:", err)
		if errors.Is(err, redis.ErrUnreachable) {
			fmt.Fprintf(os.Stderr, "\nno redis-server reachable at %s. This example does not start one: run\n"+
				"  redis-server --port 6390 --save '' --appendonly no &\n"+
				"  go run ./examples/multi-engine -redis redis://127.0.0.1:6390/0\n", *redisURL)
		}
		os.Exit(1)
	}
}

func run(redisURL string) error {
	// The env feeder reads EVENTBUS_EXTERNAL_BROKER_URL: setting it here is
	// the same as exporting it in the shell.
	if err := os.Setenv("EVENTBUS_EXTERNAL_BROKER_URL", redisURL); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "multi-engine")
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
	defer app.Stop() // a no-op when Stop below already ran

	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil {
		return err
	}
	router := bus.GetRouter()
	fmt.Printf("redis-server: %s\n", redisURL)
	for _, topic := range []string{"user.created", "order.placed", "invoice.sent"} {
		fmt.Printf("route: %-13s -> %s\n", topic, router.GetEngineForTopic(topic))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	handled := map[string]int{} // engine -> events handled
	count := func(topic string) string {
		engine := router.GetEngineForTopic(topic)
		mu.Lock()
		handled[engine]++
		mu.Unlock()
		return engine
	}
	// Each subscription lives on the engine its pattern routes to. The
	// sharded engine hands handlers the published value, Redis the decoded
	// JSON; eventbus.PayloadHandler (eventbus.PayloadAs inside) gives both
	// handlers their own type either way, so a topic can move between
	// engines in config.yaml without touching the handler.
	if _, err := bus.Subscribe(ctx, "user.*", eventbus.PayloadHandler(func(_ context.Context, e eventbus.Event, u user) error {
		fmt.Printf("  handled %-12s on %-7s %+v\n", e.Topic, count(e.Topic), u)
		return nil
	})); err != nil {
		return err
	}
	if _, err := bus.Subscribe(ctx, "order.*", eventbus.PayloadHandler(func(_ context.Context, e eventbus.Event, o order) error {
		fmt.Printf("  handled %-12s on %-7s %+v\n", e.Topic, count(e.Topic), o)
		return nil
	})); err != nil {
		return err
	}

	for i, name := range []string{"ada", "grace", "linus"} {
		if err := bus.Publish(ctx, "user.created", user{Name: name}); err != nil {
			return err
		}
		if err := bus.Publish(ctx, "order.placed", order{ID: i + 1, Customer: name}); err != nil {
			return err
		}
	}
	// Flush waits until both engines handed every published event to the
	// handlers (Redis: read back from the stream and acknowledged).
	if err := bus.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	if err := app.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}

	engines := make([]string, 0, len(handled))
	for e := range handled {
		engines = append(engines, e)
	}
	sort.Strings(engines)
	for _, e := range engines {
		fmt.Printf("engine %-7s handled %d events\n", e, handled[e])
	}
	if handled["inproc"] != 3 || handled["durable"] != 3 {
		return fmt.Errorf("handled %v, want 3 events on each engine", handled)
	}
	return nil
}
