package eventbus

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"
)

// The root package's tests exercise its batteries-included face (every
// engine registered) through the exported API only; the module's own
// tests live in package core beside it. These helpers are the exported-API
// versions of core's.

// quietLogger logs errors only.
func quietLogger() modular.Logger {
	return modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
}

// newTestModule returns a module initialised (not started) with cfg,
// through Init as an application calls it.
func newTestModule(t *testing.T, cfg *EventBusConfig) *EventBusModule {
	t.Helper()
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), quietLogger())
	app.RegisterConfigSection(ModuleName, modular.NewStdConfigProvider(cfg))
	m := NewModule().(*EventBusModule)
	if err := m.Init(app); err != nil {
		t.Fatalf("init: %v", err)
	}
	return m
}

// newRouter builds (without starting) a router over cfg.
func newRouter(t *testing.T, cfg *EventBusConfig) *EngineRouter {
	t.Helper()
	r, err := NewEngineRouter(cfg)
	if err != nil {
		t.Fatalf("NewEngineRouter: %v", err)
	}
	return r
}

// newApp returns an application fed by yaml (a config file) and the
// environment, with the module registered (then extra).
func newApp(t *testing.T, yaml string, observable bool, extra ...modular.Module) modular.Application {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var app modular.Application
	if observable {
		app = modular.NewObservableApplication(modular.NewStdConfigProvider(&struct{}{}), quietLogger())
	} else {
		app = modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), quietLogger())
	}
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{feeders.NewYamlFeeder(path), feeders.NewEnvFeeder()})
	app.RegisterModule(NewModule())
	for _, m := range extra {
		app.RegisterModule(m)
	}
	return app
}
