// Command custom-engine plugs a third-party engine into the event bus:
// Mailbox (mailbox.go) implements the bus.EventBus contract, is registered
// under the type "mailbox" with eventbus.RegisterEngine, and config.yaml
// routes audit.* topics to it while everything else stays on the built-in
// sharded engine. mailbox_test.go runs the conformance suite on it.
//
//	go run ./examples/custom-engine
//	go test ./examples/custom-engine   # the conformance suite
package main

import (
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
)

//go:embed config.yaml
var configYAML []byte

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "custom-engine:", err)
		os.Exit(1)
	}
}

func run() error {
	// Register before app.Init: Init validates engine types against the
	// registry and builds the engines through their factories.
	eventbus.RegisterEngine("mailbox", NewMailboxEngine)

	dir, err := os.MkdirTemp("", "custom-engine")
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
	var bus *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &bus); err != nil {
		return err
	}
	engine, err := bus.GetRouter().Engine("audit")
	if err != nil {
		return err
	}
	fmt.Printf("engine types: %v\n", eventbus.GetRegisteredEngines())
	fmt.Printf("engine %q is a %T; audit.login routes to %q, user.created to %q\n", "audit", engine,
		bus.GetRouter().GetEngineForTopic("audit.login"), bus.GetRouter().GetEngineForTopic("user.created"))

	ctx := context.Background()
	var audited, users atomic.Int64
	if _, err := bus.Subscribe(ctx, "audit.*", func(_ context.Context, e eventbus.Event) error {
		audited.Add(1)
		fmt.Printf("  mailbox handled %s %v\n", e.Topic, e.Payload)
		return nil
	}); err != nil {
		return err
	}
	if _, err := bus.Subscribe(ctx, "user.*", func(context.Context, eventbus.Event) error {
		users.Add(1)
		return nil
	}); err != nil {
		return err
	}
	for _, who := range []string{"ada", "grace", "linus"} {
		if err := bus.Publish(ctx, "audit.login", who); err != nil {
			return err
		}
		if err := bus.Publish(ctx, "user.created", who); err != nil {
			return err
		}
	}
	// Stop delivers what every engine accepted, the mailbox engine included.
	if err := app.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	stats := bus.PerEngineStats()
	fmt.Printf("audit (mailbox): delivered=%d dropped=%d; main (sharded): delivered=%d dropped=%d\n",
		stats["audit"].Delivered, stats["audit"].Dropped, stats["main"].Delivered, stats["main"].Dropped)
	if audited.Load() != 3 || users.Load() != 3 {
		return fmt.Errorf("handled %d audit and %d user events, want 3 each", audited.Load(), users.Load())
	}
	return nil
}
