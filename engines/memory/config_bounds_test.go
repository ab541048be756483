package memory_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchyard-go/eventbus/engines/memory"
)

func TestConfigMapSizesAboveTheirBoundAreErrorsNamingKeyAndValue(t *testing.T) {
	tests := []struct {
		key   string
		value any
	}{
		{"maxEventQueueSize", 9223372036854775807},
		{"maxEventQueueSize", 1000000000},
		{"defaultEventBufferSize", 9223372036854775807},
		{"defaultEventBufferSize", 1000000000},
		{"workerCount", 1000000000},
		{"workerCount", 4097},
		{"topicLimit", 1 << 40},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.key, tc.value), func(t *testing.T) {
			_, err := memory.New(map[string]any{tc.key: tc.value})
			want := fmt.Sprintf("%s: %v: must be between", tc.key, tc.value)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("New = %v, want an error containing %q", err, want)
			}
		})
	}
}

func TestConfigMapDurationsNeedAUnit(t *testing.T) {
	for _, key := range []string{"publishBlockTimeout", "unsubscribeWait"} {
		t.Run("a bare number for "+key+" is an error naming it", func(t *testing.T) {
			_, err := memory.New(map[string]any{key: 250})
			if err == nil || !strings.Contains(err.Error(), key+": 250") || !strings.Contains(err.Error(), "unit") {
				t.Fatalf("New = %v, want an error naming %s and the missing unit", err, key)
			}
		})
	}
}

func TestEveryConfigErrorWrapsErrInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		err  func() error
	}{
		{"an unknown key in the config map", func() error { _, err := memory.New(map[string]any{"workerCont": 2}); return err }},
		{"a value of the wrong type in the config map", func() error { _, err := memory.New(map[string]any{"workerCount": "five"}); return err }},
		{"a size out of range in the config map", func() error { _, err := memory.New(map[string]any{"workerCount": 4097}); return err }},
		{"a negative size given to NewEventBus", func() error { _, err := memory.NewEventBus(memory.Config{MaxEventQueueSize: -1}); return err }},
		{"an unknown delivery mode given to Validate", func() error { return memory.Config{DeliveryMode: "sometimes"}.Validate() }},
		{"a negative duration given to Validate", func() error { return memory.Config{UnsubscribeWait: -1}.Validate() }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, memory.ErrInvalidConfig) {
				t.Fatalf("err = %v, want one wrapping memory.ErrInvalidConfig", err)
			}
		})
	}
}
