package eventbus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"

	"github.com/switchyard-go/eventbus/bus"
)

// initWithFile runs app.Init with the module fed by one config file of the
// given format (yaml, json, toml) and returns Init's error and the module.
// A panic out of Init fails the test instead of crashing the binary.
func initWithFile(t *testing.T, format, body string) (m *EventBusModule, err error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config."+format)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var f modular.Feeder
	switch format {
	case "yaml":
		f = feeders.NewYamlFeeder(path)
	case "json":
		f = feeders.NewJSONFeeder(path)
	case "toml":
		f = feeders.NewTomlFeeder(path)
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{f})
	m = NewModule().(*EventBusModule)
	app.RegisterModule(m)
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("app.Init panicked: %v", r)
		}
	}()
	return m, app.Init()
}

func TestCredentialsNeverAppearInInitErrorsThroughTheModule(t *testing.T) {
	const secret = "s3cr3tPW"
	urls := []string{
		"redis://user:" + secret + "%off@host:6379/0",
		"redis://user:" + secret + "/x@host:6379/0",
		"redis://user:" + secret + "#x@host:6379/0",
		"redis://user:" + secret + "?x@host:6379/0",
		"redis://user:" + secret + "@x@host:6379/0",
		"redis://host:6379/0?password=" + secret,
		"redis://host:6379/0#" + secret,
		"redis://:" + secret + "@host:notaport/0",
		"rediss://u:" + secret + "@[::1:6379/0",
		"kafka://u:" + secret + "@h:1",
		"kafka://u:" + secret + "@h:1,h2:2",
		"http://u:" + secret + "@127.0.0.1:1/",
	}
	for _, engine := range []string{"redis", "kafka", "kinesis"} {
		for _, u := range urls {
			t.Run(engine+" "+u, func(t *testing.T) {
				body := fmt.Sprintf("eventbus:\n  engine: %s\n  externalBrokerURL: %q\n  externalBrokerPassword: %q\n", engine, u, secret)
				m, err := initWithFile(t, "yaml", body)
				if err == nil {
					// Valid for this engine: Start must not leak it either.
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					defer cancel()
					err = m.Start(ctx)
					_ = m.Stop(context.Background())
				}
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Fatalf("error shows the secret: %v", err)
				}
			})
		}
	}
}

func TestCustomEngineConfigMapDurationsNeedAUnit(t *testing.T) {
	for _, key := range []string{"metricsInterval", "publishBlockTimeout"} {
		t.Run("a bare number for "+key+" is an error naming it", func(t *testing.T) {
			_, err := NewCustomMemoryEventBus(map[string]interface{}{key: 30})
			if err == nil || !strings.Contains(err.Error(), key+": 30") || !strings.Contains(err.Error(), "unit") {
				t.Fatalf("NewCustomMemoryEventBus = %v, want an error naming %s and the missing unit", err, key)
			}
		})
	}
	t.Run("an unknown key wraps bus.ErrUnknownConfigKey", func(t *testing.T) {
		_, err := NewCustomMemoryEventBus(map[string]interface{}{"metricInterval": "1s"})
		if !errors.Is(err, bus.ErrUnknownConfigKey) {
			t.Fatalf("NewCustomMemoryEventBus = %v", err)
		}
	})
}
