package memory_test

import (
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
