package core

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
	"github.com/switchyard-go/eventbus/enginekit"
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

func TestModuleLevelSizesAboveTheirBoundAreErrorsNamingFieldAndValue(t *testing.T) {
	tests := []struct {
		name  string
		cfg   EventBusConfig
		field string
		value string
	}{
		{"maxEventQueueSize at MaxInt64", EventBusConfig{MaxEventQueueSize: 9223372036854775807}, "maxEventQueueSize", "9223372036854775807"},
		{"maxEventQueueSize of a billion", EventBusConfig{MaxEventQueueSize: 1000000000}, "maxEventQueueSize", "1000000000"},
		{"defaultEventBufferSize at MaxInt64", EventBusConfig{DefaultEventBufferSize: 1<<63 - 1}, "defaultEventBufferSize", "9223372036854775807"},
		{"defaultEventBufferSize one above the bound", EventBusConfig{DefaultEventBufferSize: enginekit.MaxQueueSize + 1}, "defaultEventBufferSize", fmt.Sprint(enginekit.MaxQueueSize + 1)},
		{"workerCount of a billion", EventBusConfig{WorkerCount: 1000000000}, "workerCount", "1000000000"},
		{"workerCount one above the bound", EventBusConfig{WorkerCount: enginekit.MaxWorkers + 1}, "workerCount", "4097"},
		{"retentionDays at MaxInt64", EventBusConfig{RetentionDays: 1<<63 - 1}, "retentionDays", "9223372036854775807"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			err := cfg.ValidateConfig()
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field+": "+tc.value) {
				t.Fatalf("ValidateConfig() = %v, want ErrInvalidConfig naming %s: %s", err, tc.field, tc.value)
			}
		})
	}
	t.Run("the bounds themselves are accepted", func(t *testing.T) {
		cfg := EventBusConfig{Engine: "memory", MaxEventQueueSize: enginekit.MaxQueueSize, DefaultEventBufferSize: enginekit.MaxQueueSize, WorkerCount: enginekit.MaxWorkers}
		if err := cfg.ValidateConfig(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestHugeSizesInTheConfigFileFailInitInsteadOfPanickingInStartOrSubscribe(t *testing.T) {
	for _, engine := range []string{"sharded", "memory", "custom"} {
		for _, kv := range []string{
			"maxEventQueueSize: 9223372036854775807",
			"maxEventQueueSize: 1000000000",
			"defaultEventBufferSize: 9223372036854775807",
			"workerCount: 1000000000",
		} {
			t.Run(engine+" with "+kv, func(t *testing.T) {
				m, err := initWithFile(t, "yaml", "eventbus:\n  engine: "+engine+"\n  "+kv+"\n")
				key, val, _ := strings.Cut(kv, ": ")
				if err == nil {
					// Without the bound Init passed and Start or Subscribe
					// panicked (makechan: size out of range) or ran out of memory.
					t.Cleanup(func() { _ = m.Stop(context.Background()) })
					t.Fatalf("app.Init() = nil, want an error naming %s", key)
				}
				if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), key+": "+val) {
					t.Fatalf("app.Init() = %v, want ErrInvalidConfig naming %s: %s", err, key, val)
				}
			})
		}
	}
}

func TestEngineConfigMapSizesAboveTheirBoundAreErrorsNamingKeyAndValue(t *testing.T) {
	tests := []struct {
		engine string
		key    string
		value  any
	}{
		{"sharded", "maxEventQueueSize", 9223372036854775807},
		{"sharded", "asyncQueueSize", 1000000000},
		{"sharded", "asyncWorkers", 1000000000},
		{"sharded", "workerCount", 5000},
		{"sharded", "batchMaxEvents", 1 << 40},
		{"sharded", "topicLimit", 1 << 40},
		{"memory", "maxEventQueueSize", 9223372036854775807},
		{"memory", "maxEventQueueSize", 1000000000},
		{"memory", "defaultEventBufferSize", 9223372036854775807},
		{"memory", "workerCount", 1000000000},
		{"memory", "topicLimit", 1 << 40},
		{"custom", "maxEventQueueSize", 9223372036854775807},
		{"custom", "defaultEventBufferSize", 1000000000},
		{"custom", "workerCount", 1000000000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %s %v", tc.engine, tc.key, tc.value), func(t *testing.T) {
			cfg := &EventBusConfig{Engines: []EngineConfig{{Name: "e", Type: tc.engine, Config: map[string]any{tc.key: tc.value}}}}
			if err := cfg.ValidateConfig(); err != nil {
				t.Fatal(err)
			}
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				var r *EngineRouter
				if r, err = NewEngineRouter(cfg); err == nil {
					defer func() { _ = r.Stop(context.Background()) }()
					if err = r.Start(context.Background()); err == nil {
						_, err = r.Subscribe(context.Background(), "t", func(context.Context, Event) error { return nil })
						if err == nil {
							err = errors.New("accepted")
						}
					}
				}
			}()
			want := fmt.Sprintf("%s: %v", tc.key, tc.value)
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "engine e ("+tc.engine+")") {
				t.Fatalf("NewEngineRouter/Start/Subscribe = %v, want an error naming engine e and %q", err, want)
			}
		})
	}
}

func TestEventbusSectionIsDecodedStrictlyByTheFileFeeders(t *testing.T) {
	tests := []struct {
		name     string
		format   string
		body     string
		sentinel error
		mentions []string
	}{
		{"an unknown key in YAML", "yaml", "eventbus:\n  engine: memory\n  wrokerCount: 9\n", enginekit.ErrUnknownConfigKey, []string{"wrokerCount"}},
		{"an unknown key in JSON", "json", `{"eventbus": {"engine": "memory", "wrokerCount": 9}}`, enginekit.ErrUnknownConfigKey, []string{"wrokerCount"}},
		{"an unknown key in an engines entry", "yaml", "eventbus:\n  engines:\n    - name: a\n      typ: memory\n", enginekit.ErrUnknownConfigKey, []string{"engines[0]", "typ"}},
		{"an unknown key in a routing rule", "yaml", "eventbus:\n  engines: [{name: a, type: memory}]\n  routing: [{topic: ['x'], engine: a}]\n", enginekit.ErrUnknownConfigKey, []string{"routing[0]", "topic"}},
		{"a fraction for workerCount in YAML", "yaml", "eventbus:\n  workerCount: 2.5\n", ErrInvalidConfig, []string{"workerCount", "2.5"}},
		{"a fraction for workerCount in JSON", "json", `{"eventbus": {"workerCount": 2.5}}`, ErrInvalidConfig, []string{"workerCount", "2.5"}},
		{"a bare number for eventTTL in JSON", "json", `{"eventbus": {"eventTTL": 30}}`, ErrInvalidConfig, []string{"eventTTL", "30", "unit"}},
		{"a bare number for publishBlockTimeout in YAML", "yaml", "eventbus:\n  publishBlockTimeout: 250\n", ErrInvalidConfig, []string{"publishBlockTimeout", "250", "unit"}},
		{"a queue size beyond int64 in JSON", "json", `{"eventbus": {"maxEventQueueSize": 1e30}}`, ErrInvalidConfig, []string{"maxEventQueueSize"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := initWithFile(t, tc.format, tc.body)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("app.Init() = %v, want an error wrapping %v", err, tc.sentinel)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
		})
	}
	t.Run("an unknown key in TOML is an error naming it", func(t *testing.T) {
		_, err := initWithFile(t, "toml", "[eventbus]\nengine = \"memory\"\nwrokerCount = 9\n")
		if err == nil || !strings.Contains(err.Error(), "wrokerCount") {
			t.Fatalf("app.Init() = %v, want an error naming wrokerCount", err)
		}
	})
	for _, format := range []string{"yaml", "json", "toml"} {
		t.Run("durations are Go duration strings in "+format, func(t *testing.T) {
			body := map[string]string{
				"yaml": "eventbus:\n  engine: memory\n  eventTTL: 2h\n  publishBlockTimeout: 250ms\n  workerCount: 3\n  engines:\n    - name: a\n      type: memory\n      config: {workerCount: 2, unsubscribeWait: 2s}\n",
				"json": `{"eventbus": {"engine": "memory", "eventTTL": "2h", "publishBlockTimeout": "250ms", "workerCount": 3, "engines": [{"name": "a", "type": "memory", "config": {"workerCount": 2, "unsubscribeWait": "2s"}}]}}`,
				"toml": "[eventbus]\nengine = \"memory\"\neventTTL = \"2h\"\npublishBlockTimeout = \"250ms\"\nworkerCount = 3\n[[eventbus.engines]]\nname = \"a\"\ntype = \"memory\"\n[eventbus.engines.config]\nworkerCount = 2\nunsubscribeWait = \"2s\"\n",
			}[format]
			m, err := initWithFile(t, format, body)
			if err != nil {
				t.Fatal(err)
			}
			c := m.config
			if c.EventTTL != 2*time.Hour || c.PublishBlockTimeout != 250*time.Millisecond || c.WorkerCount != 3 || len(c.Engines) != 1 || fmt.Sprint(c.Engines[0].Config["workerCount"]) != "2" {
				t.Fatalf("decoded %+v", c)
			}
		})
	}
}

// TestBaseConfigFeederDocumentsAreNotMistakenForTheSection covers modular's
// BaseConfigFeeder, which hands the whole merged document (every section)
// to the section's Unmarshaler: its other sections are not unknown keys of
// "eventbus", and the eventbus section in it is decoded strictly.
func TestBaseConfigFeederDocumentsAreNotMistakenForTheSection(t *testing.T) {
	run := func(t *testing.T, doc string) (*EventBusModule, error) {
		t.Helper()
		dir := t.TempDir()
		for _, d := range []string{"base", filepath.Join("environments", "test")} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "base", "default.yaml"), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
		app := modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
		app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{feeders.NewBaseConfigFeeder(dir, "test")})
		m := NewModule().(*EventBusModule)
		app.RegisterModule(m)
		return m, app.Init()
	}
	t.Run("other sections are not unknown keys", func(t *testing.T) {
		if _, err := run(t, "httpserver:\n  port: 8080\nlogging:\n  level: info\n"); err != nil {
			t.Fatalf("app.Init() = %v", err)
		}
	})
	t.Run("the eventbus section in the document is decoded", func(t *testing.T) {
		m, err := run(t, "httpserver:\n  port: 8080\neventbus:\n  engine: memory\n  workerCount: 3\n")
		if err != nil || m.config.Engine != "memory" || m.config.WorkerCount != 3 {
			t.Fatalf("app.Init() = %v, config %+v", err, m.config)
		}
	})
	t.Run("a typo in the eventbus section of the document is an error", func(t *testing.T) {
		if _, err := run(t, "httpserver:\n  port: 8080\neventbus:\n  wrokerCount: 3\n"); !errors.Is(err, ErrUnknownConfigKey) {
			t.Fatalf("app.Init() = %v, want enginekit.ErrUnknownConfigKey", err)
		}
	})
}
