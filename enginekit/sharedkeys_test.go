package enginekit

import (
	"slices"
	"testing"
)

func TestSharedConfigKeys(t *testing.T) {
	t.Run("every shared key is accepted by DecodeConfig without a field for it", func(t *testing.T) {
		for _, k := range SharedConfigKeys() {
			var target struct {
				Own int `json:"own"`
			}
			if err := DecodeConfig(map[string]any{k: 1, "own": 2}, &target); err != nil || target.Own != 2 {
				t.Errorf("DecodeConfig with shared key %q = %v (own %d), want nil (own 2)", k, err, target.Own)
			}
		}
	})
	t.Run("the list is sorted and changing a returned copy changes nothing", func(t *testing.T) {
		keys := SharedConfigKeys()
		if len(keys) == 0 || !slices.IsSorted(keys) {
			t.Fatalf("SharedConfigKeys() = %v, want a sorted non-empty list", keys)
		}
		want := slices.Clone(keys)
		for i := range keys {
			keys[i] = "bogus"
		}
		if got := SharedConfigKeys(); !slices.Equal(got, want) {
			t.Errorf("after changing a copy SharedConfigKeys() = %v, want %v", got, want)
		}
		var target struct{}
		if err := DecodeConfig(map[string]any{"bogus": 1}, &target); err == nil {
			t.Error(`DecodeConfig accepted "bogus" after a caller changed its copy of the shared keys`)
		}
	})
}
