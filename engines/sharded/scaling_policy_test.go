package sharded

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// shardsAt builds a sample of shards with ids 1..n measured over one
// second at the given utilizations.
func shardsAt(utils ...float64) []ShardMetrics {
	ms := make([]ShardMetrics, len(utils))
	for i, u := range utils {
		ms[i] = ShardMetrics{ID: i + 1, Interval: time.Second, Utilization: u}
	}
	return ms
}

func ids(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestSuggestScaling(t *testing.T) {
	policy := ScalingConfig{MinShards: 1, MaxShards: 8, ScaleUpAt: 0.8, ScaleDownAt: 0.3}
	narrow := ScalingConfig{MinShards: 1, MaxShards: 8, ScaleUpAt: 0.5, ScaleDownAt: 0.3}
	draining := shardsAt(1, 1)
	draining[0].Draining = true
	unmeasured := shardsAt(1, 1)
	unmeasured[1].Interval = 0
	tests := []struct {
		name    string
		policy  ScalingConfig
		sample  []ShardMetrics
		current []int
		want    ScalingDecision
	}{
		{"no sample, no change", policy, nil, ids(2), ScalingDecision{}},
		{"a set still draining gives no change", policy, draining, ids(2), ScalingDecision{}},
		{"a shard not yet measured gives no change", policy, unmeasured, ids(2), ScalingDecision{}},
		{"a sample older than the current set gives no change", policy, shardsAt(1, 1), []int{3, 4, 5}, ScalingDecision{}},
		{"saturated shards double toward the middle threshold", policy, shardsAt(1, 1), ids(2), ScalingDecision{Add: 2}},
		{"at the scale-up threshold one shard is added", policy, shardsAt(0.8), ids(1), ScalingDecision{Add: 1}},
		{"just below the scale-up threshold nothing changes", policy, shardsAt(0.79, 0.79), ids(2), ScalingDecision{}},
		{"between the thresholds nothing changes", policy, shardsAt(0.5, 0.6, 0.4, 0.5), ids(4), ScalingDecision{}},
		{"just above the scale-down threshold nothing changes", policy, shardsAt(0.31, 0.31), ids(2), ScalingDecision{}},
		{"the budget caps an addition", policy, shardsAt(1, 1, 1, 1, 1, 1, 1), ids(7), ScalingDecision{Add: 1}},
		{"at maxShards nothing is added", policy, shardsAt(1, 1, 1, 1, 1, 1, 1, 1), ids(8), ScalingDecision{}},
		{"idle shards shrink to minShards, least utilized first", policy, shardsAt(0.05, 0, 0.02, 0.01), ids(4), ScalingDecision{Remove: []int{2, 3, 4}}},
		{"among equally idle shards the newest go", policy, shardsAt(0, 0, 0), ids(3), ScalingDecision{Remove: []int{2, 3}}},
		{"a scale-down keeps enough shards for the load", policy, shardsAt(0.3, 0.3, 0.3, 0.3), ids(4), ScalingDecision{Remove: []int{4}}},
		{"a deep scale-down is cut to what the load needs", policy, shardsAt(0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1), ids(8), ScalingDecision{Remove: []int{3, 4, 5, 6, 7, 8}}},
		{"at minShards nothing is removed", ScalingConfig{MinShards: 2, MaxShards: 8, ScaleUpAt: 0.8, ScaleDownAt: 0.3}, shardsAt(0, 0), ids(2), ScalingDecision{}},
		{"no removal that would cross the scale-up threshold", narrow, shardsAt(0.3, 0.3), ids(2), ScalingDecision{}},
		{"below minShards shards are added whatever the load", ScalingConfig{MinShards: 3, MaxShards: 8, ScaleUpAt: 0.8, ScaleDownAt: 0.3}, shardsAt(0), ids(1), ScalingDecision{Add: 2}},
		{"above maxShards the least utilized go whatever the load", ScalingConfig{MinShards: 1, MaxShards: 2, ScaleUpAt: 0.8, ScaleDownAt: 0.3}, shardsAt(1, 0.9, 0.95), ids(3), ScalingDecision{Remove: []int{2}}},
	}
	backlog := func(fill, arrived, handled uint64, utils ...float64) []ShardMetrics {
		ms := shardsAt(utils...)
		for i := range ms {
			ms[i].Capacity, ms[i].Depth, ms[i].Arrived, ms[i].Handled = 100, fill, arrived, handled
		}
		return ms
	}
	tests = append(tests, []struct {
		name    string
		policy  ScalingConfig
		sample  []ShardMetrics
		current []int
		want    ScalingDecision
	}{
		{"a filling backlog adds a shard below the threshold", policy, backlog(60, 120, 100, 0.5, 0.5), ids(2), ScalingDecision{Add: 1}},
		{"a full ring that keeps up is no backlog", policy, backlog(100, 105, 100, 0.5, 0.5), ids(2), ScalingDecision{}},
		{"arrivals outpacing a ring under half full are no backlog", policy, backlog(40, 200, 100, 0.5, 0.5), ids(2), ScalingDecision{}},
		{"a backlog is never scaled down", policy, backlog(60, 200, 100, 0.1, 0.1), ids(2), ScalingDecision{Add: 1}},
		{"a backlog respects maxShards", ScalingConfig{MinShards: 1, MaxShards: 2, ScaleUpAt: 0.8, ScaleDownAt: 0.3}, backlog(60, 200, 100, 0.5, 0.5), ids(2), ScalingDecision{}},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := suggest(tt.policy, tt.sample, tt.current)
			if got.Add != tt.want.Add || !slices.Equal(got.Remove, tt.want.Remove) {
				t.Errorf("suggest = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSuggestScalingDoesNotFlap follows the suggestions on a constant
// load: once settled, the count stays put.
func TestSuggestScalingDoesNotFlap(t *testing.T) {
	policy := ScalingConfig{MinShards: 1, MaxShards: 64, ScaleUpAt: 0.8, ScaleDownAt: 0.3}
	for _, load := range []float64{0.2, 0.5, 0.8, 1.3, 2.5, 7, 20} { // busy workers' worth
		n, lastDir := 1, 0
		for step := 0; step < 20; step++ {
			utils := make([]float64, n)
			for i := range utils {
				utils[i] = min(load/float64(n), 1) // a worker is busy at most all the time
			}
			d := suggest(policy, shardsAt(utils...), ids(n))
			if d.IsZero() {
				continue
			}
			dir := d.Add - len(d.Remove)
			if lastDir != 0 && (dir > 0) != (lastDir > 0) {
				t.Errorf("load %.1f: at %d shards the suggestion reversed (%v after a change of %+d): flapping", load, n, d, lastDir)
			}
			lastDir = dir
			n += dir
		}
		if u := load / float64(n); u >= policy.ScaleUpAt && n < policy.MaxShards || u <= policy.ScaleDownAt && n > 1 {
			t.Errorf("load %.1f settled at %d shards, utilization %.2f outside the thresholds", load, n, u)
		}
	}
}

func TestScalingConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  ScalingConfig
		want string
	}{
		{"min above max", ScalingConfig{MinShards: 5, MaxShards: 3}, "scaling.minShards: 5: must be <= scaling.maxShards (3)"},
		{"negative min", ScalingConfig{MinShards: -1}, "scaling.minShards: -1"},
		{"max above the limit", ScalingConfig{MaxShards: MaxShards + 1}, "scaling.maxShards: 1025"},
		{"threshold above one", ScalingConfig{ScaleUpAt: 1.5}, "scaling.scaleUpAt: 1.5: must be in (0, 1]"},
		{"negative threshold", ScalingConfig{ScaleDownAt: -0.1}, "scaling.scaleDownAt: -0.1"},
		{"scale-down not below scale-up", ScalingConfig{ScaleUpAt: 0.5, ScaleDownAt: 0.5}, "scaling.scaleDownAt: 0.5: must be below scaling.scaleUpAt (0.5)"},
		{"scale-down above the default scale-up", ScalingConfig{ScaleDownAt: 0.9}, "scaling.scaleDownAt: 0.9: must be below scaling.scaleUpAt (0.8)"},
		{"interval under a millisecond", ScalingConfig{Interval: bus.Duration(time.Microsecond)}, "scaling.interval: 1µs: must be at least 1ms"},
		{"negative cooldown", ScalingConfig{Cooldown: bus.Duration(-time.Second)}, "scaling.cooldown: -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewEventBus(Config{Scaling: tt.cfg})
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewEventBus: %v, want ErrInvalidConfig naming %q", err, tt.want)
			}
		})
	}
	t.Run("defaults", func(t *testing.T) {
		b, err := NewEventBus(Config{Shards: 3})
		if err != nil {
			t.Fatal(err)
		}
		c := b.Config().Scaling
		if c.Auto || c.MinShards != 1 || c.MaxShards < 3 || c.ScaleUpAt != 0.8 || c.ScaleDownAt != 0.3 ||
			c.Interval.Std() != time.Second || c.Cooldown.Std() != 10*time.Second {
			t.Errorf("scaling defaults = %+v", c)
		}
	})
	t.Run("the config map", func(t *testing.T) {
		eb, err := New(map[string]any{"scaling": map[string]any{"auto": true, "minShards": 2, "maxShards": 6,
			"scaleUpAt": 0.9, "scaleDownAt": 0.2, "interval": "250ms", "cooldown": "5s"}})
		if err != nil {
			t.Fatal(err)
		}
		c := eb.(*EventBus).Config().Scaling
		want := ScalingConfig{Auto: true, MinShards: 2, MaxShards: 6, ScaleUpAt: 0.9, ScaleDownAt: 0.2,
			Interval: bus.Duration(250 * time.Millisecond), Cooldown: bus.Duration(5 * time.Second)}
		if c != want {
			t.Errorf("decoded %+v, want %+v", c, want)
		}
	})
	t.Run("durations need a unit", func(t *testing.T) {
		_, err := New(map[string]any{"scaling": map[string]any{"interval": 5}})
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "scaling") || !strings.Contains(err.Error(), "unit") {
			t.Errorf("New with a bare interval: %v, want an error about the unit", err)
		}
	})
	t.Run("unknown keys", func(t *testing.T) {
		_, err := New(map[string]any{"scaling": map[string]any{"maxShard": 5}})
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "maxShard") {
			t.Errorf("New with a misspelt key: %v", err)
		}
	})
}
