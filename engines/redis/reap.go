package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/switchyard-go/eventbus/broker"
)

// reaper removes the private consumer groups that subscriptions of dead
// processes left on the streams (see Config.StaleGroupTimeout). One
// goroutine per run, started only when the timeout is set.
//
// A private group belongs to exactly one subscription and is never
// resumed by another (its name holds the subscription's random id), so a
// group whose consumers have all been idle longer than the timeout can
// only be one whose process is gone: a live subscription touches its
// consumer with every XREADGROUP (at least every blockTimeout) and every
// XAUTOCLAIM (every claimInterval). Destroying it loses nothing a live
// subscriber could still receive. Shared groups (Config.Group), groups of
// other prefixes and this engine's own groups are never touched.
type reaper struct {
	b    *EventBus
	rs   *runState
	quit chan struct{}
	done chan struct{}
	// bare remembers when a private group without consumers was first
	// seen: a group is created just before its first read, so only one
	// that stays bare for the whole timeout is stale.
	bare map[string]time.Time // stream + "\x00" + group -> first seen
}

func newReaper(b *EventBus, rs *runState) *reaper {
	return &reaper{b: b, rs: rs, quit: make(chan struct{}), done: make(chan struct{}), bare: map[string]time.Time{}}
}

func (r *reaper) start() {
	if r.b.cfg.StaleGroupTimeout <= 0 {
		close(r.done)
		return
	}
	go func() {
		defer close(r.done)
		r.loop()
	}()
}

func (r *reaper) stop() {
	select {
	case <-r.quit:
	default:
		close(r.quit)
	}
	<-r.done
}

// sweepInterval is a quarter of the timeout, between 1s and 5 minutes, so
// that a stale group is gone at most 1.25 timeouts after its process died.
func (r *reaper) sweepInterval() time.Duration {
	d := r.b.cfg.StaleGroupTimeout.Std() / 4
	return min(max(d, time.Second), 5*time.Minute)
}

func (r *reaper) loop() {
	tick := time.NewTicker(r.sweepInterval())
	defer tick.Stop()
	r.sweep(time.Now())
	for {
		select {
		case <-r.quit:
			return
		case now := <-tick.C:
			r.sweep(now)
		}
	}
}

// privateGroupPrefix is the name prefix of every private group (see
// subscribe: KeyPrefix + "sub:" + subscription id).
func (b *EventBus) privateGroupPrefix() string { return b.cfg.KeyPrefix + "sub:" }

// sweep looks at every private group on the engine's streams and destroys
// the stale ones.
func (r *reaper) sweep(now time.Time) {
	ctx := r.rs.life
	keys, err := r.b.scanStreams(ctx, r.rs, "*")
	if err != nil {
		r.report(err)
		return
	}
	own := map[string]bool{}
	r.b.mu.Lock()
	for _, s := range r.b.subs {
		own[s.group] = true
	}
	r.b.mu.Unlock()
	timeout := r.b.cfg.StaleGroupTimeout.Std()
	prefix := r.b.privateGroupPrefix()
	seen := map[string]bool{}
	for _, key := range keys {
		groups, err := r.rs.client.XInfoGroups(ctx, key).Result()
		if err != nil {
			r.report(fmt.Errorf("XINFO GROUPS %s: %w", key, err))
			continue
		}
		for _, g := range groups {
			if !strings.HasPrefix(g.Name, prefix) || own[g.Name] {
				continue
			}
			id := key + "\x00" + g.Name
			seen[id] = true
			stale, err := r.stale(ctx, key, g.Name, g.Consumers, id, now, timeout)
			if err != nil {
				r.report(err)
				continue
			}
			if !stale {
				continue
			}
			if err := r.rs.client.XGroupDestroy(ctx, key, g.Name).Err(); err != nil {
				r.report(fmt.Errorf("XGROUP DESTROY %s %s: %w", key, g.Name, err))
				continue
			}
			delete(r.bare, id)
			r.b.staleGroupsRemoved.Add(1)
			slog.Info("switchyard redis engine removed a stale private consumer group",
				"stream", key, "group", g.Name, "pending", g.Pending, "idleOver", timeout)
		}
	}
	for id := range r.bare {
		if !seen[id] {
			delete(r.bare, id) // gone, or now in use
		}
	}
}

// stale reports whether the group's consumers have all been idle longer
// than timeout, or the group has had none for that long.
func (r *reaper) stale(ctx context.Context, key, group string, consumers int64, id string, now time.Time, timeout time.Duration) (bool, error) {
	if consumers == 0 {
		first, ok := r.bare[id]
		if !ok {
			r.bare[id] = now
			return false, nil
		}
		return now.Sub(first) > timeout, nil
	}
	delete(r.bare, id)
	list, err := r.rs.client.XInfoConsumers(ctx, key, group).Result()
	if err != nil {
		return false, fmt.Errorf("XINFO CONSUMERS %s %s: %w", key, group, err)
	}
	if len(list) == 0 {
		return false, nil // a consumer left between the two calls: look again next sweep
	}
	for _, c := range list {
		if c.Idle <= timeout {
			return false, nil
		}
	}
	return true, nil
}

func (r *reaper) report(err error) {
	select {
	case <-r.quit:
		return // stopping: the connection is going away
	default:
	}
	r.b.errs.Report(broker.ScopeDiscover, fmt.Errorf("redis engine: stale group sweep: %w", err))
}
