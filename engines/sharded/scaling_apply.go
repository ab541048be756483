package sharded

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// ScalingChange describes one shard change made by ApplyScaling or by the
// scaling monitor, as reported to a ScalingObserver and logged.
type ScalingChange struct {
	// Auto is set for a change the monitor made (Config.Scaling.Auto),
	// unset for ApplyScaling.
	Auto bool
	// Decision is the decision applied, as proposed.
	Decision ScalingDecision
	// From and To are the shard counts before and after.
	From, To int
	// Changed is what ApplyScaling returned: the ids of the shards
	// started (a scale-up) or drained and removed (a scale-down).
	Changed []int
	// Utilization is the mean utilization of the sample the monitor
	// decided from (Auto only).
	Utilization float64
	// Started is when the change began; Took is how long the old shards
	// took to drain (up to Err, if the wait ended early).
	Started time.Time
	Took    time.Duration
	// Err is set when the change was made but waiting for the old shards
	// to drain ended early (ctx, or an expired Stop): the change still
	// completes in the background.
	Err error
}

// ScalingObserver is implemented by an observer (SetObserver) that wants
// to hear about shard changes: ShardsScaled is called once per change
// made by ApplyScaling or the monitor, after the old shards drained, on
// the goroutine that made it. It must not call ApplyScaling (it would
// wait for itself). Every change is also logged (log/slog, Info).
type ScalingObserver interface {
	ShardsScaled(change ScalingChange)
}

// ApplyScaling applies d through the lossless resize machinery (see
// Resize): no accepted event is lost and each key's events stay in order.
// It ignores the cooldown — it is an operator's decision — but not the
// budget: the count never goes above Config.Scaling.MaxShards by adding,
// nor below MinShards by removing. Remove entries that are not shards of
// the current set (a stale decision) are ignored; d.Add and the valid
// removals are netted.
//
// Every change moves keys between shards, so it replaces the whole set of
// shards with a new one (new ids, see ShardMetrics). ApplyScaling returns
// the ids that really changed: for a scale-up the ids of the shards it
// started, for a scale-down the ids of the shards it drained and removed
// (the whole previous set); nil when the decision, within the budget,
// changes nothing. It blocks until the previous shards have drained, or
// until ctx ends — it then returns the ids and ctx's error, and the change
// completes in the background.
//
// The change starts a new cooldown for the monitor, is counted
// (EngineStats.ScalingChanges) and reported (ScalingObserver, log). On a
// stopped engine it returns bus.ErrEventBusNotStarted; a negative d.Add is
// an error wrapping ErrInvalidScalingDecision. Safe for concurrent use:
// changes are applied one at a time.
func (b *EventBus) ApplyScaling(ctx context.Context, d ScalingDecision) ([]int, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if d.Add < 0 {
		return nil, fmt.Errorf("sharded engine: apply scaling: add %d: %w", d.Add, ErrInvalidScalingDecision)
	}
	b.scaling.mu.Lock()
	defer b.scaling.mu.Unlock()
	return b.applyLocked(ctx, d, false, 0)
}

// applyLocked makes the change d; b.scaling.mu must be held. auto and u
// describe the change for the report.
func (b *EventBus) applyLocked(ctx context.Context, d ScalingDecision, auto bool, u float64) ([]int, error) {
	p := b.scaling.policy
	started := time.Now()
	var from, to int
	stopped := false
	old, next, err := b.resizeSets(ctx, func(cur int) int {
		from, to = cur, cur
		set := b.set.Load()
		if b.run == nil || set == nil {
			stopped = true
			return cur
		}
		removed := 0
		for _, id := range d.Remove {
			if slices.ContainsFunc(set.shards, func(s *shard) bool { return s.id == id }) {
				removed++
			}
		}
		switch net := d.Add - removed; {
		case net > 0:
			to = max(cur, min(cur+net, p.MaxShards))
		case net < 0:
			to = min(cur, max(cur+net, p.MinShards, 1))
		}
		return to
	})
	if stopped {
		return nil, fmt.Errorf("sharded engine: apply scaling %s: %w", d, bus.ErrEventBusNotStarted)
	}
	if next == nil {
		return nil, err
	}
	changed := setIDs(next)
	if to < from {
		changed = setIDs(old)
	}
	took := time.Since(started)
	b.scaling.lastChange = mono() // after took: Started+Took <= the cooldown's start
	b.scaling.changes.Add(1)
	b.report(ScalingChange{Auto: auto, Decision: d, From: from, To: to, Changed: changed,
		Utilization: u, Started: started, Took: took, Err: err})
	return changed, err
}

// report logs a change and tells the observer, if it listens.
func (b *EventBus) report(c ScalingChange) {
	who := "ApplyScaling"
	if c.Auto {
		who = "scaling monitor"
	}
	attrs := []any{"by", who, "decision", c.Decision.String(), "from", c.From, "to", c.To, "took", c.Took}
	if c.Auto {
		attrs = append(attrs, "utilization", c.Utilization)
	}
	if c.Err != nil {
		attrs = append(attrs, "error", c.Err)
	}
	slog.Info("sharded engine: shard count changed", attrs...)
	if o := b.observer.Load(); o != nil {
		if so, ok := o.Observer.(ScalingObserver); ok {
			so.ShardsScaled(c)
		}
	}
}
