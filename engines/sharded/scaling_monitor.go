package sharded

import (
	"context"
	"time"
)

// monitor is the scaling monitor goroutine (Config.Scaling.Auto). Start
// creates one per run; Stop cancels it and waits for it to return before
// it stops the shards, so a change the monitor is making is either fully
// installed (and then drained by Stop like any other set) or not made.
type monitor struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// startMonitorLocked starts the monitor if the policy asks for one.
// b.lifeMu and b.mu must be held (Start). A monitor of a previous run that
// a Stop is still waiting for is already cancelled; it is replaced.
func (b *EventBus) startMonitorLocked() {
	if !b.scaling.policy.Auto {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &monitor{cancel: cancel, done: make(chan struct{})}
	b.scaling.monitor = m
	go b.monitorLoop(ctx, m)
}

// stopMonitor cancels the monitor, if any, and waits for it to return.
// It must be called without b.lifeMu (the monitor may be waiting for it).
func (b *EventBus) stopMonitor() {
	b.mu.Lock()
	m := b.scaling.monitor
	b.mu.Unlock()
	if m == nil {
		return
	}
	m.cancel()
	<-m.done
	b.mu.Lock()
	if b.scaling.monitor == m {
		b.scaling.monitor = nil
	}
	b.mu.Unlock()
}

// monitorLoop samples every Interval and applies SuggestScaling's
// decision when the last change ended at least Cooldown ago. After each
// change it takes a new baseline, so that the next decision measures the
// new shards only (not the time they waited for the old ones to drain).
func (b *EventBus) monitorLoop(ctx context.Context, m *monitor) {
	defer close(m.done)
	p := b.scaling.policy
	tick := time.NewTicker(p.Interval.Std())
	defer tick.Stop()
	var sp sampler
	sp.sample(b) // baseline
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ms := sp.sample(b)
		b.scaling.latest.Store(&ms)
		set := b.set.Load()
		if set == nil {
			continue
		}
		d := suggest(p, ms, setIDs(set))
		if d.IsZero() || !b.scaling.mu.TryLock() {
			continue // nothing to do, or ApplyScaling is changing the set
		}
		if b.scaling.lastChange != 0 && mono()-b.scaling.lastChange < p.Cooldown.Std() {
			b.scaling.mu.Unlock()
			continue
		}
		var work float64
		for _, s := range ms {
			work += s.Utilization
		}
		_, _ = b.applyLocked(ctx, d, true, work/float64(max(len(ms), 1)))
		b.scaling.mu.Unlock()
		sp.sample(b) // the next decision measures the new set from here
	}
}
