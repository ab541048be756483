package sharded

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

func TestConfigDefaults(t *testing.T) {
	b, err := NewEventBus(Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := b.Config()
	wantShards := min(max(1, runtime.GOMAXPROCS(0)/2), 8)
	if c.Shards != wantShards || c.RingSize != defaultRingSize || c.BatchMaxEvents != 256 ||
		c.Backpressure != BackpressureBlock || c.SpinWindow.Std() != 50*time.Microsecond ||
		c.AsyncQueueSize != 1024 || c.UnsubscribeWait.Std() != time.Second || c.StopGrace.Std() != time.Second {
		t.Errorf("defaults = %+v", c)
	}
}

func TestNewDecodesTheConfigMap(t *testing.T) {
	tests := []struct {
		name  string
		raw   map[string]any
		check func(Config) bool
	}{
		{"engine keys", map[string]any{"shards": 3, "ringSize": 1000.0, "batchMaxEvents": 16, "backpressure": "drop-oldest", "spinWindow": "5us", "batchMaxDelay": "1ms"},
			func(c Config) bool {
				return c.Shards == 3 && c.RingSize == 1024 && c.BatchMaxEvents == 16 && c.Backpressure == BackpressureDropOldest &&
					c.SpinWindow.Std() == 5*time.Microsecond && c.BatchMaxDelay.Std() == time.Millisecond
			}},
		{"module keys map to their engine fields", map[string]any{"maxEventQueueSize": 1000, "workerCount": 7, "deliveryMode": "drop", "publishBlockTimeout": "250ms", "eventTTL": "1h", "retentionDays": 7},
			func(c Config) bool {
				return c.AsyncQueueSize == 1000 && c.AsyncWorkers == 7 && c.Backpressure == BackpressureDropNewest &&
					c.PublishBlockTimeout.Std() == 250*time.Millisecond && c.RingSize == defaultRingSize
			}},
		{"engine keys win over module keys", map[string]any{"deliveryMode": "drop", "backpressure": "block", "workerCount": 7, "asyncWorkers": 2},
			func(c Config) bool { return c.Backpressure == BackpressureBlock && c.AsyncWorkers == 2 }},
		{"delivery mode timeout", map[string]any{"deliveryMode": "timeout"},
			func(c Config) bool { return c.Backpressure == BackpressureTimeout }},
		{"ring sizes round up to a power of two", map[string]any{"ringSize": 3},
			func(c Config) bool { return c.RingSize == 4 }},
		{"a negative spin window disables spinning", map[string]any{"spinWindow": "-1ns"},
			func(c Config) bool { return c.SpinWindow < 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eb, err := New(tt.raw)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c := eb.(*EventBus).Config(); !tt.check(c) {
				t.Errorf("decoded config = %+v", c)
			}
		})
	}
}

func TestInvalidConfigNamesFieldAndValue(t *testing.T) {
	tests := []struct {
		name string
		raw  map[string]any
		want []string
	}{
		{"negative shards", map[string]any{"shards": -1}, []string{"shards", "-1"}},
		{"too many shards", map[string]any{"shards": MaxShards + 1}, []string{"shards", "1025"}},
		{"negative ring", map[string]any{"ringSize": -5}, []string{"ringSize", "-5"}},
		{"huge ring", map[string]any{"ringSize": maxRingSize + 1}, []string{"ringSize"}},
		{"negative batch", map[string]any{"batchMaxEvents": -2}, []string{"batchMaxEvents", "-2"}},
		{"negative batch delay", map[string]any{"batchMaxDelay": "-1ms"}, []string{"batchMaxDelay", "-1ms"}},
		{"unknown backpressure", map[string]any{"backpressure": "drop-all"}, []string{"backpressure", `"drop-all"`}},
		{"unknown delivery mode", map[string]any{"deliveryMode": "lossy"}, []string{"deliveryMode", `"lossy"`}},
		{"negative timeout", map[string]any{"publishBlockTimeout": "-1s"}, []string{"publishBlockTimeout", "-1s"}},
		{"negative async workers", map[string]any{"asyncWorkers": -1}, []string{"asyncWorkers", "-1"}},
		{"negative async queue", map[string]any{"asyncQueueSize": -1}, []string{"asyncQueueSize", "-1"}},
		{"negative unsubscribe wait", map[string]any{"unsubscribeWait": "-1s"}, []string{"unsubscribeWait"}},
		{"negative stop grace", map[string]any{"stopGrace": "-1s"}, []string{"stopGrace"}},
		{"a typo", map[string]any{"ringsize": 8}, []string{"ringsize"}},
		{"a bad duration", map[string]any{"spinWindow": "fast"}, []string{"fast"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.raw)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, want ErrInvalidConfig", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestNewEventBusValidates(t *testing.T) {
	if _, err := NewEventBus(Config{Backpressure: "nope", PublishBlockTimeout: bus.Duration(-1)}); !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("NewEventBus = %v, want ErrInvalidConfig", err)
	}
}
