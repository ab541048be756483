package core

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

// shardedDefault returns the config of the sharded engine the module
// built as its single engine.
func shardedDefault(t *testing.T, m *EventBusModule) sharded.Config {
	t.Helper()
	e, err := m.router.Engine(DefaultEngineName)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := e.(*sharded.EventBus)
	if !ok {
		t.Fatalf("default engine is %T, want *sharded.EventBus", e)
	}
	return s.Config()
}

func TestEngineConfigReachesTheSingleEnginesOwnKeys(t *testing.T) {
	for _, format := range []string{"yaml", "json", "toml"} {
		t.Run("the sharded engine's ringSize, shards and spinWindow from "+format, func(t *testing.T) {
			body := map[string]string{
				"yaml": "eventbus:\n  workerCount: 3\n  engineConfig:\n    ringSize: 4096\n    shards: 2\n    spinWindow: 5us\n",
				"json": `{"eventbus": {"workerCount": 3, "engineConfig": {"ringSize": 4096, "shards": 2, "spinWindow": "5us"}}}`,
				"toml": "[eventbus]\nworkerCount = 3\n[eventbus.engineConfig]\nringSize = 4096\nshards = 2\nspinWindow = \"5us\"\n",
			}[format]
			m, err := initWithFile(t, format, body)
			if err != nil {
				t.Fatal(err)
			}
			c := shardedDefault(t, m)
			if c.RingSize != 4096 || c.Shards != 2 || c.SpinWindow.Std() != 5*time.Microsecond {
				t.Fatalf("sharded config ringSize=%d shards=%d spinWindow=%v, want 4096, 2, 5µs", c.RingSize, c.Shards, c.SpinWindow.Std())
			}
			if c.AsyncWorkers != 3 {
				t.Fatalf("asyncWorkers = %d, want 3 from the module-level workerCount", c.AsyncWorkers)
			}
		})
	}
	t.Run("the engine's own key wins over the module-level one", func(t *testing.T) {
		m, err := initWithFile(t, "yaml", "eventbus:\n  workerCount: 3\n  engineConfig:\n    asyncWorkers: 6\n")
		if err != nil {
			t.Fatal(err)
		}
		if c := shardedDefault(t, m); c.AsyncWorkers != 6 {
			t.Fatalf("asyncWorkers = %d, want 6 from engineConfig", c.AsyncWorkers)
		}
	})
	t.Run("it reaches an engine chosen with engine:", func(t *testing.T) {
		m, err := initWithFile(t, "yaml", "eventbus:\n  engine: memory\n  engineConfig:\n    unsubscribeWait: 3s\n")
		if err != nil {
			t.Fatal(err)
		}
		e, err := m.router.Engine(DefaultEngineName)
		if err != nil {
			t.Fatal(err)
		}
		mem, ok := e.(*memory.EventBus)
		if !ok {
			t.Fatalf("default engine is %T, want *memory.EventBus", e)
		}
		if got := mem.Config().UnsubscribeWait.Std(); got != 3*time.Second {
			t.Fatalf("memory unsubscribeWait = %v, want 3s from engineConfig", got)
		}
	})
}

func TestEngineConfigErrorsNameTheKeyAndValue(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		sentinel error
		mentions []string
	}{
		{"a negative ringSize", "eventbus:\n  engineConfig:\n    ringSize: -5\n", sharded.ErrInvalidConfig, []string{"engine default (sharded)", "ringSize: -5"}},
		{"a ringSize beyond its bound", "eventbus:\n  engineConfig:\n    ringSize: 1099511627776\n", sharded.ErrInvalidConfig, []string{"ringSize: 1099511627776"}},
		{"a spinWindow without a unit", "eventbus:\n  engineConfig:\n    spinWindow: 50\n", sharded.ErrInvalidConfig, []string{"spinWindow", "50", "unit"}},
		{"a misspelt engine key", "eventbus:\n  engineConfig:\n    ringSzie: 4096\n", ErrUnknownConfigKey, []string{"ringSzie", "ringSize"}},
		{"a key of another engine", "eventbus:\n  engine: memory\n  engineConfig:\n    ringSize: 4096\n", ErrUnknownConfigKey, []string{"engine default (memory)", "ringSize"}},
		{"not a mapping", "eventbus:\n  engineConfig: 4096\n", ErrInvalidConfig, []string{"eventbus.engineConfig", "4096", "mapping"}},
		{"together with engines", "eventbus:\n  engineConfig: {ringSize: 4096}\n  engines: [{name: a, type: sharded}]\n", ErrInvalidConfig, []string{"engineConfig", "engines[i].config"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := initWithFile(t, "yaml", tc.body)
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
}
