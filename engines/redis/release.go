package redis

import (
	"context"
	"fmt"
	"strconv"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
)

// What a clean Stop leaves in Redis.
//
// A private consumer group belongs to one subscription of one process:
// its name holds the subscription's random id, so no other process ever
// resumes it. A clean Stop therefore removes it (XGROUP DESTROY) after
// noting, in the subscription, where the group stood: its last delivered
// id and its pending entries with their delivery counts. If the same
// process starts the bus again, the subscription recreates the group at
// that id and puts the pending entries back on its consumer (XCLAIM …
// FORCE RETRYCOUNT n JUSTID) before it reads: events published while the
// bus was stopped are delivered, entries read but not acknowledged are
// read again, and nothing acknowledged is delivered twice.
//
// A shared group (Config.Group) is kept; only this subscription's consumer
// is removed from it, when it has no pending entries.

// groupMark is where a released private group stood on one stream.
type groupMark struct {
	lastID  string
	pending map[int64][]string // delivery count -> entry ids
}

// releaseLimit bounds the pending entries noted per stream; a group with
// more is kept rather than released (its entries stay safe in Redis).
const releaseLimit = 10000

// releaseGroups runs at the end of a clean Stop, once the subscriptions'
// runs ended and their acknowledgements were sent.
func (b *EventBus) releaseGroups(ctx context.Context, rs *runState, subs []*subscription) {
	for _, s := range subs {
		for _, key := range s.streamList() {
			var err error
			if s.shared {
				err = deleteIdleConsumer(ctx, rs.client, key, s.group, s.consumer)
			} else {
				err = s.release(ctx, rs.client, key)
			}
			if err != nil && !isNoGroup(err) && ctx.Err() == nil {
				b.errs.Report(broker.ScopeAck, fmt.Errorf("stop: release group %s on %s: %w", s.group, key, err))
			}
		}
	}
}

// release notes where the subscription's private group stands on key and
// destroys it.
func (s *subscription) release(ctx context.Context, c *goredis.Client, key string) error {
	groups, err := c.XInfoGroups(ctx, key).Result()
	if err != nil {
		return err
	}
	mark := groupMark{pending: map[int64][]string{}}
	found := false
	for _, g := range groups {
		if g.Name == s.group {
			mark.lastID, found = g.LastDeliveredID, true
			if g.Pending > releaseLimit {
				return nil // kept: too much to note
			}
		}
	}
	if !found {
		return nil
	}
	list, err := c.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: key, Group: s.group, Start: "-", End: "+", Count: releaseLimit}).Result()
	if err != nil {
		return err
	}
	for _, p := range list {
		mark.pending[p.RetryCount] = append(mark.pending[p.RetryCount], p.ID)
	}
	if err := c.XGroupDestroy(ctx, key, s.group).Err(); err != nil {
		return err
	}
	s.marksMu.Lock()
	if s.marks == nil {
		s.marks = map[string]groupMark{}
	}
	s.marks[key] = mark
	s.marksMu.Unlock()
	return nil
}

// restoreGroups recreates the private groups released by the last Stop
// (see release). It returns false when it must be tried again.
func (r *subRun) restoreGroups() bool {
	s := r.s
	s.marksMu.Lock()
	marks := s.marks
	s.marksMu.Unlock()
	for key, m := range marks {
		if err := r.restore(key, m); err != nil {
			if !r.quitting() {
				s.b.errs.Report(broker.ScopeRead, fmt.Errorf("subscription %s: restore group %s on %s: %w", s.topic, s.group, key, err))
			}
			return false
		}
		s.marksMu.Lock()
		delete(s.marks, key)
		s.marksMu.Unlock()
	}
	return true
}

func (r *subRun) restore(key string, m groupMark) error {
	ctx, c := r.rs.life, r.rs.client
	if err := createGroup(ctx, c, key, r.s.group, m.lastID); err != nil {
		return err
	}
	for count, ids := range m.pending {
		for len(ids) > 0 {
			n := min(len(ids), refreshBatch)
			args := make([]any, 0, n+10)
			args = append(args, "XCLAIM", key, r.s.group, r.s.consumer, 0)
			for _, id := range ids[:n] {
				args = append(args, id)
			}
			args = append(args, "RETRYCOUNT", strconv.FormatInt(count, 10), "FORCE", "JUSTID")
			if err := c.Do(ctx, args...).Err(); err != nil {
				return fmt.Errorf("XCLAIM … FORCE: %w", err)
			}
			ids = ids[n:]
		}
	}
	return nil
}
