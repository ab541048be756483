package core

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateConfigRejectsEveryInvalidValueNamingFieldAndValue(t *testing.T) {
	tests := []struct {
		name     string
		cfg      EventBusConfig
		sentinel error
		mentions []string
	}{
		{"unknown engine type", EventBusConfig{Engine: "rabbitmq"}, ErrUnknownEngineType, []string{"engine", `"rabbitmq"`, "registered: "}},
		{"negative queue size", EventBusConfig{MaxEventQueueSize: -5}, ErrInvalidConfig, []string{"maxEventQueueSize", "-5"}},
		{"negative buffer size", EventBusConfig{DefaultEventBufferSize: -1}, ErrInvalidConfig, []string{"defaultEventBufferSize", "-1"}},
		{"negative worker count", EventBusConfig{WorkerCount: -2}, ErrInvalidConfig, []string{"workerCount", "-2"}},
		{"negative retention", EventBusConfig{RetentionDays: -7}, ErrInvalidConfig, []string{"retentionDays", "-7"}},
		{"unknown delivery mode", EventBusConfig{DeliveryMode: "sometimes"}, ErrInvalidConfig, []string{"deliveryMode", `"sometimes"`, "block, timeout, drop"}},
		{"negative block timeout", EventBusConfig{PublishBlockTimeout: -time.Second}, ErrInvalidConfig, []string{"publishBlockTimeout", "-1s"}},
		{"routing without engines", EventBusConfig{Routing: []RoutingRule{{Topics: []string{"*"}, Engine: "x"}}}, ErrInvalidConfig, []string{"routing"}},
		{"duplicate engine name", EventBusConfig{Engines: []EngineConfig{{Name: "a", Type: "memory"}, {Name: "a", Type: "memory"}}}, ErrDuplicateEngineName, []string{"engines[1].name", `"a"`}},
		{"empty engine name", EventBusConfig{Engines: []EngineConfig{{Name: "", Type: "memory"}}}, ErrInvalidConfig, []string{"engines[0].name"}},
		{"engine type not built", EventBusConfig{Engines: []EngineConfig{{Name: "q", Type: "rabbitmq"}}}, ErrUnknownEngineType, []string{"engines[0].type", `"rabbitmq"`}},
		{"rule to missing engine", EventBusConfig{Engines: []EngineConfig{{Name: "a", Type: "memory"}}, Routing: []RoutingRule{{Topics: []string{"x.*"}, Engine: "b"}}}, ErrUnknownEngineRef, []string{"routing[0].engine", `"b"`}},
		{"rule without topics", EventBusConfig{Engines: []EngineConfig{{Name: "a", Type: "memory"}}, Routing: []RoutingRule{{Engine: "a"}}}, ErrInvalidConfig, []string{"routing[0].topics"}},
		{"empty topic pattern", EventBusConfig{Engines: []EngineConfig{{Name: "a", Type: "memory"}}, Routing: []RoutingRule{{Topics: []string{"x.*", " "}, Engine: "a"}}}, ErrInvalidConfig, []string{"routing[0].topics[1]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			err := cfg.ValidateConfig()
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("ValidateConfig() = %v, want an error wrapping %v", err, tc.sentinel)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
		})
	}
}

func TestValidateConfigAppliesDefaultsOnce(t *testing.T) {
	var cfg EventBusConfig
	if err := cfg.ValidateConfig(); err != nil {
		t.Fatal(err)
	}
	want := EventBusConfig{Engine: DefaultEngineType, MaxEventQueueSize: 1000, DefaultEventBufferSize: 10, WorkerCount: 5,
		RetentionDays: 7, EventTTL: time.Hour, DeliveryMode: "block"}
	if cfg.Engine != want.Engine || cfg.MaxEventQueueSize != want.MaxEventQueueSize || cfg.DefaultEventBufferSize != want.DefaultEventBufferSize ||
		cfg.WorkerCount != want.WorkerCount || cfg.RetentionDays != want.RetentionDays || cfg.EventTTL != want.EventTTL || cfg.DeliveryMode != want.DeliveryMode {
		t.Fatalf("defaults = %+v, want %+v", cfg, want)
	}
	again := cfg
	if err := again.ValidateConfig(); err != nil || again.Engine != cfg.Engine || again.WorkerCount != cfg.WorkerCount {
		t.Fatalf("second ValidateConfig changed the config or failed: %v", err)
	}
	if cfg.GetDefaultEngine() != "default" || cfg.IsMultiEngine() {
		t.Fatalf("single-engine config: GetDefaultEngine=%q IsMultiEngine=%v", cfg.GetDefaultEngine(), cfg.IsMultiEngine())
	}
	multi := EventBusConfig{Engines: []EngineConfig{{Name: "fast", Type: "memory"}, {Name: "slow", Type: "memory"}}}
	if multi.GetDefaultEngine() != "fast" || !multi.IsMultiEngine() {
		t.Fatalf("multi-engine config: GetDefaultEngine=%q IsMultiEngine=%v", multi.GetDefaultEngine(), multi.IsMultiEngine())
	}
}

func TestEngineConfigUnknownKeyIsRejectedNamingIt(t *testing.T) {
	_, err := NewEngineRouter(&EventBusConfig{Engines: []EngineConfig{{Name: "m", Type: "memory", Config: map[string]interface{}{"wokerCount": 3}}}})
	if err == nil || !strings.Contains(err.Error(), "wokerCount") || !strings.Contains(err.Error(), `engine m (memory)`) {
		t.Fatalf("NewEngineRouter = %v, want an error naming engine m and the key wokerCount", err)
	}
}
