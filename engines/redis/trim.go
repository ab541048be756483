package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
)

// trimmer keeps the engine's streams bounded by age (Config.Retention,
// Config.RetentionDays): one goroutine per run trims, every
// trimInterval, each stream under KeyPrefix (dead-letter streams
// included) to the entries younger than the retention (XTRIM … MINID, by
// the millisecond time in the entry id, that is the time Redis stored
// it).
//
// Trimming goes by age alone: an entry older than the retention is
// removed even when a consumer group has not read or acknowledged it (a
// group that stopped reading must not make the stream grow without
// bound). Before each trim the trimmer counts, per stream, the entries it
// is about to remove that some group has not acknowledged (read but
// pending, or not read yet); they are added to TrimmedEntries'
// unacknowledged figure and logged. A group reading concurrently may
// make that count a little high.
type trimmer struct {
	b    *EventBus
	rs   *runState
	quit chan struct{}
	done chan struct{}
}

// retentionLimit bounds the entries examined per group and stream when
// counting what a trim removes unacknowledged.
const retentionLimit = 10000

// retention returns how long entries are kept, 0 for ever.
func (c Config) retention() time.Duration {
	if c.Retention > 0 {
		return c.Retention.Std()
	}
	if c.RetentionDays > 0 {
		return time.Duration(c.RetentionDays) * 24 * time.Hour
	}
	return 0
}

// trimInterval is a tenth of the retention, between 10ms and a minute.
func (c Config) trimInterval() time.Duration {
	return min(max(c.retention()/10, 10*time.Millisecond), time.Minute)
}

func newTrimmer(b *EventBus, rs *runState) *trimmer {
	return &trimmer{b: b, rs: rs, quit: make(chan struct{}), done: make(chan struct{})}
}

func (t *trimmer) start() {
	if t.b.cfg.retention() <= 0 {
		close(t.done)
		return
	}
	go func() {
		defer close(t.done)
		tick := time.NewTicker(t.b.cfg.trimInterval())
		defer tick.Stop()
		for {
			select {
			case <-t.quit:
				return
			case now := <-tick.C:
				t.sweep(now)
			}
		}
	}()
}

func (t *trimmer) stop() {
	close(t.quit)
	<-t.done
}

// TrimmedEntries returns how many entries retention trimming removed from
// this engine's streams, and how many of those some consumer group had not
// acknowledged (read and pending, or not read), as counted just before
// each trim (at most retentionLimit per group and stream and trim).
func (b *EventBus) TrimmedEntries() (total, unacknowledged uint64) {
	return b.trimmed.Load(), b.trimmedUnacked.Load()
}

// trimCounters are the EventBus fields behind TrimmedEntries.
type trimCounters struct {
	trimmed, trimmedUnacked atomic.Uint64
}

func (t *trimmer) sweep(now time.Time) {
	ctx := t.rs.life
	keys, err := t.b.scanStreams(ctx, t.rs, "*")
	if err != nil {
		t.report(err)
		return
	}
	minID := strconv.FormatInt(now.Add(-t.b.cfg.retention()).UnixMilli(), 10) + "-0"
	for _, key := range keys {
		select {
		case <-t.quit:
			return
		default:
		}
		if err := t.trim(ctx, key, minID); err != nil {
			t.report(err)
		}
	}
}

// trim removes the entries of key older than minID, counting first those
// some group has not acknowledged.
func (t *trimmer) trim(ctx context.Context, key, minID string) error {
	oldest, err := t.rs.client.XRangeN(ctx, key, "-", "+", 1).Result()
	if err != nil {
		return fmt.Errorf("XRANGE %s: %w", key, err)
	}
	if len(oldest) == 0 || compareIDs(oldest[0].ID, minID) >= 0 {
		return nil // nothing old enough
	}
	groups, err := t.rs.client.XInfoGroups(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("XINFO GROUPS %s: %w", key, err)
	}
	lost := map[string]struct{}{}
	var behind []string
	for _, g := range groups {
		before := len(lost)
		if compareIDs(g.LastDeliveredID, minID) < 0 {
			unread, err := t.rs.client.XRangeN(ctx, key, "("+g.LastDeliveredID, "("+minID, retentionLimit).Result()
			if err != nil {
				return fmt.Errorf("XRANGE %s: %w", key, err)
			}
			for _, m := range unread {
				lost[m.ID] = struct{}{}
			}
		}
		if g.Pending > 0 {
			pending, err := t.rs.client.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: key, Group: g.Name, Start: "-", End: "(" + minID, Count: retentionLimit}).Result()
			if err != nil {
				return fmt.Errorf("XPENDING %s %s: %w", key, g.Name, err)
			}
			for _, p := range pending {
				lost[p.ID] = struct{}{}
			}
		}
		if len(lost) > before {
			behind = append(behind, g.Name)
		}
	}
	n, err := t.rs.client.XTrimMinID(ctx, key, minID).Result()
	if err != nil {
		return fmt.Errorf("XTRIM %s MINID %s: %w", key, minID, err)
	}
	t.b.trimmed.Add(uint64(n))
	if len(lost) > 0 {
		t.b.trimmedUnacked.Add(uint64(len(lost)))
		slog.Warn("switchyard redis engine trimmed entries older than the retention that consumer groups had not acknowledged",
			"stream", key, "unacknowledged", len(lost), "trimmed", n, "groups", strings.Join(behind, ","), "retention", t.b.cfg.retention())
	}
	return nil
}

func (t *trimmer) report(err error) {
	select {
	case <-t.quit:
		return // stopping: the connection is going away
	default:
	}
	t.b.errs.Report(broker.ScopeDiscover, fmt.Errorf("redis engine: retention trim: %w", err))
}

// compareIDs orders two stream ids ("ms-seq").
func compareIDs(a, b string) int {
	am, as := splitID(a)
	bm, bs := splitID(b)
	switch {
	case am != bm:
		if am < bm {
			return -1
		}
		return 1
	case as != bs:
		if as < bs {
			return -1
		}
		return 1
	}
	return 0
}

func splitID(id string) (ms, seq uint64) {
	m, s, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(m, 10, 64)
	seq, _ = strconv.ParseUint(s, 10, 64)
	return ms, seq
}
