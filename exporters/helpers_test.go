package exporters_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus"
)

// twoEngines routes "orders.*" to the memory engine "fast" and every other
// topic to the memory engine "slow".
const twoEngines = `eventbus:
  engines:
    - name: fast
      type: memory
      config:
        defaultEventBufferSize: 256
    - name: slow
      type: memory
  routing:
    - topics: ["orders.*"]
      engine: fast
    - topics: ["*"]
      engine: slow
`

// newApp builds a real modular application (observable, so lifecycle
// CloudEvents flow) fed by yaml, with the event bus module registered.
// It is not initialized; the caller registers observers first if needed.
func newApp(t *testing.T, yaml string) *modular.ObservableApplication { return newAppB(t, yaml) }

// newAppB is newApp for tests and benchmarks.
func newAppB(t testing.TB, yaml string) *modular.ObservableApplication {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	app := modular.NewObservableApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.SetConfigFeeders([]modular.Feeder{feeders.NewYamlFeeder(path)})
	app.RegisterModule(eventbus.NewModule())
	return app
}

// startBus initializes and starts app and returns its event bus module;
// the app is stopped at cleanup.
func startBus(t *testing.T, app modular.Application) *eventbus.EventBusModule {
	return startBusB(t, app)
}

// startBusB is startBus for tests and benchmarks.
func startBusB(t testing.TB, app modular.Application) *eventbus.EventBusModule {
	t.Helper()
	if err := app.Init(); err != nil {
		t.Fatal(err)
	}
	var eb *eventbus.EventBusModule
	if err := app.GetService(eventbus.ServiceName, &eb); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = app.Stop() })
	return eb
}

// newBus is newApp + startBus with the two-engine configuration.
func newBus(t *testing.T) *eventbus.EventBusModule {
	t.Helper()
	return startBus(t, newApp(t, twoEngines))
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// flush waits until every published event was handled.
func flush(t *testing.T, eb *eventbus.EventBusModule) {
	t.Helper()
	if err := eb.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
}
