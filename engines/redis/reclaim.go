package redis

import (
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
)

// claimLoop keeps the entries this run holds fresh (every third of
// ClaimTimeout, from the start; see held.go) and, every ClaimInterval once
// the reader has re-read its own pending entries, takes over for each
// stream the entries idle longer than ClaimTimeout (XAUTOCLAIM: those of
// consumers of a shared group that stopped refreshing them, and this
// consumer's own entries left unacknowledged, for example by a failing
// handler or a failed dead-letter publish) and hands them to the reader;
// then it refreshes the pending and lag figures of EngineStats.
func (r *subRun) claimLoop() {
	cfg := r.s.b.cfg
	keep := time.NewTicker(max(cfg.ClaimTimeout.Std()/refreshDivisor, time.Millisecond))
	defer keep.Stop()
	ready := r.ready
	var claimC <-chan time.Time // nil until ready
	for {
		select {
		case <-r.quit:
			return
		case <-keep.C:
			r.refresh()
			continue
		case <-ready:
			ready = nil
			tick := time.NewTicker(cfg.ClaimInterval.Std())
			defer tick.Stop()
			claimC = tick.C
			continue
		case <-claimC:
		}
		var pending, lag int64
		for _, key := range r.s.streamList() {
			if !r.claim(key) {
				return
			}
			p, l := r.groupStats(key)
			pending += p
			lag += l
		}
		r.s.pending.Store(pending)
		r.s.lag.Store(lag)
	}
}

// claim takes over the idle entries of one stream; false when stopping.
func (r *subRun) claim(key string) bool {
	b := r.s.b
	start := "0-0"
	for page := 0; page < 16; page++ {
		r.beginClaim()
		msgs, next, err := r.rs.client.XAutoClaim(r.rs.life, &goredis.XAutoClaimArgs{
			Stream: key, Group: r.s.group, Consumer: r.s.consumer,
			MinIdle: b.cfg.ClaimTimeout.Std(), Start: start, Count: int64(b.cfg.ClaimCount),
		}).Result()
		if err != nil {
			r.untracked(key, nil)                 // ends the claim
			if !isNoGroup(err) && !r.quitting() { // NOGROUP: the reader recreates it
				b.errs.Report(broker.ScopeReclaim, fmt.Errorf("XAUTOCLAIM %s %s: %w", key, r.s.group, err))
			}
			return true
		}
		if fresh := r.untracked(key, msgs); len(fresh) > 0 {
			select {
			case r.reclaimed <- claimedBatch{stream: key, msgs: fresh}:
				r.nudge()
			case <-r.quit:
				return false
			}
		}
		if next == "0-0" || next == "" {
			return true
		}
		start = next
	}
	return true
}

// groupStats returns the subscription group's pending count and lag on
// one stream (XINFO GROUPS; lag is 0 when Redis cannot tell).
func (r *subRun) groupStats(key string) (pending, lag int64) {
	groups, err := r.rs.client.XInfoGroups(r.rs.life, key).Result()
	if err != nil {
		return 0, 0
	}
	for _, g := range groups {
		if g.Name == r.s.group {
			return g.Pending, max(g.Lag, 0)
		}
	}
	return 0, 0
}
