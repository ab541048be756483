package eventbustest

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
)

// refPoller is a small, obviously correct poller over a memory engine, so
// that the poll checks can be shown to pass against a right
// implementation and to fail against broken ones. Events are kept in
// refShards logs by partition key, shared by the engines of one Config
// (as a broker's are); a cursor is "ref:" and the next position of each
// log.
type refPoller struct {
	bus.EventBus
	*refStore

	// Bugs to plant.
	duplicate, ignoreFilter, ignoreShards, noGap, noResume bool
}

const refShards = 4

type refStore struct {
	mu   sync.Mutex
	logs [refShards]refLog
	seq  int
}

type refLog struct {
	base int // position of evs[0]: events below it were trimmed
	evs  []refEntry
}

type refEntry struct {
	ev  bus.Event
	seq int // publish order across logs, to merge
}

func (r *refPoller) Publish(ctx context.Context, e bus.Event) error {
	if err := r.EventBus.Publish(ctx, e); err != nil {
		return err
	}
	h := fnv.New32a()
	h.Write([]byte(bus.EventKey(ctx, e)))
	r.mu.Lock()
	defer r.mu.Unlock()
	l := &r.logs[h.Sum32()%refShards]
	r.seq++
	l.evs = append(l.evs, refEntry{e, r.seq})
	return nil
}

func (r *refPoller) trim(topic string, keep int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.logs {
		l := &r.logs[i]
		n := 0
		for j := len(l.evs) - 1; j >= 0; j-- {
			if l.evs[j].ev.Topic == topic {
				n++
				if n > keep {
					l.base += j + 1
					l.evs = l.evs[j+1:]
					break
				}
			}
		}
	}
}

func (r *refPoller) Poll(_ context.Context, topic string, req bus.ConsumeRequest) (bus.ConsumeResponse, error) {
	if err := bus.ValidateConsumeRequest(topic, req); err != nil {
		return bus.ConsumeResponse{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var pos [refShards]int
	var resp bus.ConsumeResponse
	switch {
	case req.Cursor == bus.CursorLatest:
		for i := range pos {
			pos[i] = r.logs[i].base + len(r.logs[i].evs)
		}
	case req.Cursor != "" && !r.noResume:
		parts := strings.Split(strings.TrimPrefix(req.Cursor, "ref:"), ",")
		if !strings.HasPrefix(req.Cursor, "ref:") || len(parts) != refShards {
			return resp, fmt.Errorf("%w: %q", bus.ErrInvalidCursor, req.Cursor)
		}
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n < 0 {
				return resp, fmt.Errorf("%w: %q", bus.ErrInvalidCursor, req.Cursor)
			}
			pos[i] = n
		}
	}
	want := [refShards]bool{true, true, true, true}
	if len(req.Shards) > 0 && !r.ignoreShards {
		want = [refShards]bool{}
		for _, s := range req.Shards {
			if s >= refShards {
				return resp, fmt.Errorf("%w: shard %d", bus.ErrInvalidConsumeRequest, s)
			}
			want[s] = true
		}
	}
	for i := range pos {
		if pos[i] < r.logs[i].base {
			pos[i] = r.logs[i].base
			resp.Gap = !r.noGap
		}
	}
	for len(resp.Events) < req.Limit {
		best := -1
		for i := range pos {
			if want[i] && pos[i]-r.logs[i].base < len(r.logs[i].evs) &&
				(best < 0 || r.logs[i].evs[pos[i]-r.logs[i].base].seq < r.logs[best].evs[pos[best]-r.logs[best].base].seq) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		e := r.logs[best].evs[pos[best]-r.logs[best].base].ev
		pos[best]++
		if e.Topic != topic || (req.Filter != nil && !r.ignoreFilter && !req.Filter.Match(e)) {
			continue
		}
		resp.Events = append(resp.Events, e)
		if r.duplicate && len(resp.Events) == 3 {
			resp.Events = append(resp.Events, e)
		}
	}
	s := make([]string, refShards)
	for i, p := range pos {
		s[i] = strconv.Itoa(p)
	}
	resp.Cursor = "ref:" + strings.Join(s, ",")
	return resp, nil
}

func refConfig(plant func(*refPoller)) Config {
	store := &refStore{}
	return Config{
		New: func(t *testing.T) bus.EventBus {
			b, err := memory.NewEventBus(memory.Config{})
			if err != nil {
				t.Fatal(err)
			}
			r := &refPoller{EventBus: b, refStore: store}
			plant(r)
			return r
		},
		PollShards: func(*testing.T, bus.EventBus, string) []int { return []int{0, 1, 2, 3} },
		TrimTopic: func(_ *testing.T, b bus.EventBus, topic string, keep int) {
			b.(*refPoller).trim(topic, keep)
		},
		Features: Features{Poll: true, PollGap: true, PollRestart: true, DeliveryTimeout: 500 * time.Millisecond},
	}
}

func TestPollChecksPassAgainstAReferencePoller(t *testing.T) {
	cfg := refConfig(func(*refPoller) {})
	for _, c := range checks {
		if !strings.Contains(c.name, "poll") && !strings.Contains(c.name, "cursor") && !strings.Contains(c.name, "paging") {
			continue
		}
		t.Run(c.name, func(t *testing.T) { c.fn(newChecker(t, t, cfg)) })
	}
}

func TestPollChecksCatchBrokenPollers(t *testing.T) {
	for _, tc := range []struct {
		bug   string
		check string
		plant func(*refPoller)
	}{
		{"returns an event twice", "paging through 1,000 events in pages of 37 returns each once and in order per key", func(r *refPoller) { r.duplicate = true }},
		{"ignores the filter", "poll filters with $and $or $not over nested paths and arrays select exactly the matching events", func(r *refPoller) { r.ignoreFilter = true }},
		{"ignores Shards", "polls restricted to single shards together read every event once", func(r *refPoller) { r.ignoreShards = true }},
		{"restarts from the oldest event", "a poll cursor resumes on a new engine after a restart", func(r *refPoller) { r.noResume = true }},
		{"does not report gaps", "a stale poll cursor reports a gap and continues from the oldest retained event", func(r *refPoller) { r.noGap = true }},
	} {
		t.Run(tc.bug, func(t *testing.T) {
			rec := runCheck(t, tc.check, refConfig(tc.plant))
			if !rec.failed {
				t.Fatalf("%q passed against a poller that %s", tc.check, tc.bug)
			}
			t.Logf("caught: %.300s", fmt.Sprint(rec.msgs))
		})
	}
}

// unfilteredStats reports filtered calls as failed deliveries, as an
// engine that does not know bus.ErrEventFiltered would.
type unfilteredStats struct{ *memory.EventBus }

func (u unfilteredStats) EngineStats() bus.EngineStats {
	s := u.EventBus.EngineStats()
	s.Delivered += s.Filtered
	s.Failed += s.Filtered
	s.Filtered = 0
	return s
}

func TestFilteredHandlerCheckCatchesAnEngineThatCountsRejectionsAsFailures(t *testing.T) {
	cfg := Config{
		New: func(t *testing.T) bus.EventBus {
			b, err := memory.NewEventBus(memory.Config{})
			if err != nil {
				t.Fatal(err)
			}
			return unfilteredStats{b}
		},
		Features: Features{DeliveryTimeout: 300 * time.Millisecond},
	}
	rec := runCheck(t, "a filtered subscription receives only matching events and counts the rest as filtered", cfg)
	if !rec.failed {
		t.Fatalf("the check passed against an engine that counts filtered events as failed deliveries")
	}
	t.Logf("caught: %v", rec.msgs)
}
