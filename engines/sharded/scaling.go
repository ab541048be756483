package sharded

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// ScalingConfig is the scaling policy (the `scaling:` block of the engine
// config): the shard-count budget, the utilization thresholds that make
// SuggestScaling propose a change, and whether a monitor applies the
// proposals by itself. The zero value is valid: every field has the
// default written on it.
type ScalingConfig struct {
	// Auto starts a monitor with the engine that samples ShardMetrics
	// every Interval and applies SuggestScaling's decisions, no more
	// often than Cooldown. Without it nothing changes the shard count
	// unless you call ApplyScaling or Resize. Default: false.
	Auto bool `json:"auto"`

	// MinShards is the fewest shards a scaling decision leaves. Default: 1.
	MinShards int `json:"minShards"`

	// MaxShards is the most shards a scaling decision creates: the budget
	// that every decision, automatic or applied with ApplyScaling,
	// respects (Resize does not). For CPU-bound handlers, more shards
	// than CPUs add no throughput; for handlers that wait (I/O, sleeps),
	// more can. Default: the largest of MinShards, Shards and GOMAXPROCS.
	// Max: 1024 (MaxShards).
	MaxShards int `json:"maxShards"`

	// ScaleUpAt is the mean shard utilization, in (0, 1], at or above
	// which SuggestScaling proposes more shards. Default: 0.8.
	ScaleUpAt float64 `json:"scaleUpAt"`

	// ScaleDownAt is the mean shard utilization, in (0, 1] and below
	// ScaleUpAt, at or below which SuggestScaling proposes fewer shards.
	// The gap between the two thresholds is the hysteresis that keeps the
	// count from flapping. Default: 0.3.
	ScaleDownAt float64 `json:"scaleDownAt"`

	// Interval is how often the monitor samples the shards (Auto only).
	// At least 1ms. Default: 1s.
	Interval bus.Duration `json:"interval"`

	// Cooldown is the least time between the end of one shard change and
	// the next automatic one (Auto only; ApplyScaling ignores it, and the
	// change it makes starts a new cooldown). Default: 10s.
	Cooldown bus.Duration `json:"cooldown"`
}

// Scaling defaults.
const (
	defaultScaleUpAt   = 0.8
	defaultScaleDownAt = 0.3
	defaultInterval    = time.Second
	defaultCooldown    = 10 * time.Second
)

// withDefaults returns c with every zero field given its default; shards
// is the engine's configured shard count (before defaults: 0 allowed).
func (c ScalingConfig) withDefaults(shards int) ScalingConfig {
	if c.MinShards == 0 {
		c.MinShards = 1
	}
	if c.MaxShards == 0 {
		c.MaxShards = min(max(c.MinShards, shards, runtime.GOMAXPROCS(0)), MaxShards)
	}
	if c.ScaleUpAt == 0 {
		c.ScaleUpAt = defaultScaleUpAt
	}
	if c.ScaleDownAt == 0 {
		c.ScaleDownAt = defaultScaleDownAt
	}
	if c.Interval == 0 {
		c.Interval = bus.Duration(defaultInterval)
	}
	if c.Cooldown == 0 {
		c.Cooldown = bus.Duration(defaultCooldown)
	}
	return c
}

// validate reports the first invalid field of the scaling block, named
// "scaling.<field>", as Config.Validate does.
func (c ScalingConfig) validate(bad func(field string, v any, rule string) error) error {
	switch {
	case c.MinShards < 0 || c.MinShards > MaxShards:
		return bad("scaling.minShards", c.MinShards, fmt.Sprintf("must be between 1 and %d", MaxShards))
	case c.MaxShards < 0 || c.MaxShards > MaxShards:
		return bad("scaling.maxShards", c.MaxShards, fmt.Sprintf("must be between 1 and %d", MaxShards))
	case c.MaxShards != 0 && c.MinShards > c.MaxShards:
		return bad("scaling.minShards", c.MinShards, fmt.Sprintf("must be <= scaling.maxShards (%d)", c.MaxShards))
	case !(c.ScaleUpAt >= 0 && c.ScaleUpAt <= 1):
		return bad("scaling.scaleUpAt", c.ScaleUpAt, "must be in (0, 1]")
	case !(c.ScaleDownAt >= 0 && c.ScaleDownAt <= 1):
		return bad("scaling.scaleDownAt", c.ScaleDownAt, "must be in (0, 1]")
	case c.Interval < 0 || (c.Interval > 0 && c.Interval.Std() < time.Millisecond):
		return bad("scaling.interval", c.Interval.Std(), "must be at least 1ms")
	case c.Cooldown < 0:
		return bad("scaling.cooldown", c.Cooldown.Std(), "must be >= 0")
	}
	if d := c.withDefaults(0); d.ScaleDownAt >= d.ScaleUpAt {
		return bad("scaling.scaleDownAt", d.ScaleDownAt, fmt.Sprintf("must be below scaling.scaleUpAt (%v)", d.ScaleUpAt))
	}
	return nil
}

// ScalingDecision is a proposed shard change: add Add shards, and remove
// the shards listed in Remove (ids as in ShardMetrics). The zero value
// means no change. SuggestScaling proposes either an addition or a
// removal, never both.
type ScalingDecision struct {
	// Add is the number of shards to add (>= 0).
	Add int `json:"add"`
	// Remove lists the ids of the shards to drain and remove.
	Remove []int `json:"remove"`
}

// IsZero reports whether d proposes no change.
func (d ScalingDecision) IsZero() bool { return d.Add == 0 && len(d.Remove) == 0 }

// String describes d for logs: "no change", "add 2", "remove [3 4]".
func (d ScalingDecision) String() string {
	switch {
	case d.IsZero():
		return "no change"
	case len(d.Remove) == 0:
		return fmt.Sprintf("add %d", d.Add)
	case d.Add == 0:
		return fmt.Sprintf("remove %v", d.Remove)
	}
	return fmt.Sprintf("add %d, remove %v", d.Add, d.Remove)
}

// scalingState is the engine's scaling bookkeeping.
type scalingState struct {
	policy ScalingConfig // effective (defaults applied)
	// public is the sampler of EventBus.ShardMetrics.
	public sampler
	// latest is the most recent sample, by ShardMetrics or the monitor.
	latest atomic.Pointer[[]ShardMetrics]
	// mu serializes scaling changes (ApplyScaling and the monitor), so
	// that each one decides from the shard set it changes.
	mu sync.Mutex
	// lastChange is mono() when the last scaling change ended (guarded
	// by mu); the monitor's cooldown counts from it.
	lastChange time.Duration
	changes    atomic.Uint64 // scaling changes applied
	monitor    *monitor      // guarded by EventBus.mu
}

// SuggestScaling proposes a shard change from the scaling policy
// (Config.Scaling) and the latest sample (ShardMetrics, or the monitor's
// when Auto is on). It changes nothing, so its decision can go through a
// policy of your own before ApplyScaling.
//
// The rules, over the shards of the current set (ids absent from the
// sample, or a set still draining after a change, give no change — sample
// again after the next interval):
//   - below MinShards, add up to it; above MaxShards, remove the least
//     utilized shards down to it;
//   - mean utilization u >= ScaleUpAt, or a backlog (events arrived
//     more than 10% faster than they were handled and the rings are over
//     half full), with fewer than MaxShards shards: add enough shards to
//     bring u to the middle of the two thresholds, at least one, within
//     MaxShards;
//   - u <= ScaleDownAt, no backlog, more than MinShards shards: remove the least
//     utilized shards, as many as leave u at most the middle of the
//     thresholds, at least one, keeping MinShards — unless even one fewer
//     shard would put u at or above ScaleUpAt (so a removal never
//     triggers the next addition);
//   - otherwise no change.
//
// Safe for concurrent use; returns the zero decision on a stopped engine.
func (b *EventBus) SuggestScaling() ScalingDecision {
	p := b.scaling.latest.Load()
	set := b.set.Load()
	if p == nil || set == nil {
		return ScalingDecision{}
	}
	return suggest(b.scaling.policy, *p, setIDs(set))
}

// setIDs returns the ids of a set's shards.
func setIDs(set *shardSet) []int {
	ids := make([]int, len(set.shards))
	for i, s := range set.shards {
		ids[i] = s.id
	}
	return ids
}

// suggest is SuggestScaling's pure rule: p is an effective policy, sample
// the latest metrics, current the ids of the current shard set.
func suggest(p ScalingConfig, sample []ShardMetrics, current []int) ScalingDecision {
	if len(current) == 0 {
		return ScalingDecision{}
	}
	var cur []ShardMetrics
	for _, m := range sample {
		if m.Draining {
			return ScalingDecision{} // a change (or Stop) is in progress
		}
		if slices.Contains(current, m.ID) {
			if m.Interval <= 0 {
				return ScalingDecision{} // not measured yet
			}
			cur = append(cur, m)
		}
	}
	n := len(current)
	if len(cur) != n {
		return ScalingDecision{} // the sample predates the current set
	}
	switch {
	case n < p.MinShards:
		return ScalingDecision{Add: p.MinShards - n}
	case n > p.MaxShards:
		return ScalingDecision{Remove: leastUtilized(cur, n-p.MaxShards)}
	}
	var work float64 // busy workers' worth of load: n × mean utilization
	var arrived, handled, depth, capacity uint64
	for _, m := range cur {
		work += m.Utilization
		arrived += m.Arrived
		handled += m.Handled
		depth += m.Depth
		capacity += m.Capacity
	}
	u := work / float64(n)
	// backlog: events arrive faster than they are handled and the rings
	// are over half full, although the workers are not all busy (they
	// wait for each other's subscriptions): more shards run more of them
	// side by side.
	backlog := arrived > handled+handled/10 && depth*2 >= capacity && capacity > 0
	mid := (p.ScaleUpAt + p.ScaleDownAt) / 2
	switch {
	case (u >= p.ScaleUpAt || backlog) && n < p.MaxShards:
		target := int(math.Ceil(work / mid))
		return ScalingDecision{Add: min(max(target-n, 1), p.MaxShards-n)}
	case u <= p.ScaleDownAt && !backlog && n > p.MinShards:
		target := min(max(int(math.Ceil(work/mid)), p.MinShards), n-1)
		if work/float64(n-1) >= p.ScaleUpAt {
			return ScalingDecision{}
		}
		return ScalingDecision{Remove: leastUtilized(cur, n-target)}
	}
	return ScalingDecision{}
}

// leastUtilized returns the ids of the k least utilized shards (the newest
// first among equals), sorted.
func leastUtilized(ms []ShardMetrics, k int) []int {
	ms = slices.Clone(ms)
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].Utilization != ms[j].Utilization {
			return ms[i].Utilization < ms[j].Utilization
		}
		return ms[i].ID > ms[j].ID
	})
	ids := make([]int, 0, k)
	for _, m := range ms[:k] {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return ids
}
