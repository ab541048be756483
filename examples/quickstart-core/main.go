// Command quickstart-core is the quickstart built on package core: the
// same program with one import changed, so it links only the in-process
// engines (sharded, memory, custom) and no broker client or exporter.
// Its output is the quickstart's.
//
//	go run ./examples/quickstart-core
package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	eventbus "github.com/switchyard-go/eventbus/core"
)

//go:embed config.yaml
var configYAML []byte

// Signups is an application module that depends on the event bus: it
// receives it by service name in its constructor and subscribes in Start.
type Signups struct {
	bus      *eventbus.EventBusModule
	welcomed atomic.Int64
}

func (s *Signups) Name() string                                { return "signups" }
func (s *Signups) Init(modular.Application) error              { return nil }
func (s *Signups) Stop(context.Context) error                  { return nil }
func (s *Signups) ProvidesServices() []modular.ServiceProvider { return nil }
func (s *Signups) RequiresServices() []modular.ServiceDependency {
	return []modular.ServiceDependency{{Name: eventbus.ServiceName, Required: true}}
}

func (s *Signups) Constructor() modular.ModuleConstructor {
	return func(_ modular.Application, services map[string]any) (modular.Module, error) {
		bus, ok := services[eventbus.ServiceName].(*eventbus.EventBusModule)
		if !ok {
			return nil, errors.New("eventbus.provider was not injected")
		}
		s.bus = bus
		return s, nil
	}
}

// Start subscribes to every user event; the bus is started before this
// module because this module requires its service.
func (s *Signups) Start(ctx context.Context) error {
	_, err := s.bus.Subscribe(ctx, "user.*", func(ctx context.Context, e eventbus.Event) error {
		fmt.Printf("  handled %-13s payload=%v\n", e.Topic, e.Payload)
		s.welcomed.Add(1)
		return nil
	})
	return err
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run() error {
	dir, err := os.MkdirTemp("", "quickstart")
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
		feeders.NewYamlFeeder(cfgPath), // YAML first, then EVENTBUS_* env variables override it
		feeders.NewEnvFeeder(),
	})
	signups := &Signups{}
	app.RegisterModule(eventbus.NewModule())
	app.RegisterModule(signups)

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
	fmt.Printf("engines=%v; user.created routes to %q\n", bus.GetRouter().GetEngineNames(), bus.GetRouter().GetEngineForTopic("user.created"))

	ctx := context.Background()
	for _, name := range []string{"ada", "grace", "linus"} {
		if err := bus.Publish(ctx, "user.created", map[string]string{"name": name}); err != nil {
			return err
		}
	}
	if err := bus.Publish(ctx, "user.deleted", map[string]string{"name": "mallory"}); err != nil {
		return err
	}

	// Stop delivers every accepted event before it returns.
	if err := app.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	delivered, dropped := bus.Stats()
	fmt.Printf("topics=%v handled=%d delivered=%d dropped=%d\n", bus.Topics(), signups.welcomed.Load(), delivered, dropped)
	if signups.welcomed.Load() != 4 {
		return fmt.Errorf("handled %d events, want 4", signups.welcomed.Load())
	}
	return nil
}
