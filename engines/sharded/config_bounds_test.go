package sharded

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestConfigMapSizesAboveTheirBoundAreErrorsNamingKeyAndValue(t *testing.T) {
	tests := []struct {
		key   string
		value any
	}{
		{"maxEventQueueSize", 9223372036854775807},
		{"maxEventQueueSize", 1000000000},
		{"asyncQueueSize", 9223372036854775807},
		{"asyncQueueSize", 1000000000},
		{"asyncWorkers", 1000000000},
		{"asyncWorkers", 4097},
		{"workerCount", 1000000000},
		{"batchMaxEvents", 1 << 40},
		{"ringSize", 1 << 40},
		{"shards", 1 << 40},
		{"topicLimit", 1 << 40},
		{"retainEvents", 1 << 40},
		{"retainEvents", -1},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.key, tc.value), func(t *testing.T) {
			_, err := New(map[string]any{tc.key: tc.value})
			want := fmt.Sprintf("%s: %v: must be between", tc.key, tc.value)
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), want) {
				t.Fatalf("New = %v, want ErrInvalidConfig containing %q", err, want)
			}
		})
	}
}

func TestConfigMapDurationsNeedAUnit(t *testing.T) {
	for _, key := range []string{"stopGrace", "publishBlockTimeout", "batchMaxDelay", "spinWindow", "unsubscribeWait"} {
		t.Run("a bare number for "+key+" is an error naming it", func(t *testing.T) {
			_, err := New(map[string]any{key: 5})
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), key+": 5") || !strings.Contains(err.Error(), "unit") {
				t.Fatalf("New = %v, want an error naming %s and the missing unit", err, key)
			}
		})
	}
	t.Run("a duration string is accepted", func(t *testing.T) {
		b, err := New(map[string]any{"stopGrace": "5s"})
		if err != nil || b.(*EventBus).cfg.StopGrace.Std().String() != "5s" {
			t.Fatalf("New = %v", err)
		}
	})
}
