package sharded

import (
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// The replay log (Config.RetainEvents)
//
// Why the worker writes it, not Publish: a shard's ring already numbers
// its events (ring positions, one sequence per shard) and its worker
// already copies every event out of the ring, in position order, with
// CreatedAt stamped (one clock read per batch). Appending that batch to a
// per-shard log under one lock per batch costs a copy per event on the
// worker, and nothing at all on the publishers: Publish is the same code
// whether retention is on or off. The price is visibility: Poll sees an
// event once the worker has taken it from the ring (before its handlers
// run), not the instant Publish returns; after Flush, every accepted
// event is visible.
//
// Each log is a ring of the last RetainEvents entries a shard's worker
// took, in position order (increasing; drop-oldest evictions leave holes,
// which are not gaps: those events were never retained). Invariants,
// under replayLog.mu:
//
//   - entries[i % len(entries)] for i in [first, count) are retained, with
//     strictly increasing positions;
//   - evicted is the position after the newest entry ever overwritten or
//     trimmed: a cursor position p < evicted points at events no longer
//     retained (a gap); positions >= evicted are either retained or not
//     logged yet.
//
// A resize (and every Start) creates shards with new ids, hence new logs.
// The engine keeps the logs of the current shards and of the shards they
// replaced (one generation back), so that a cursor taken before a resize
// or a restart stays valid: it reads the rest of the old logs, then the
// new ones, merged by time. A log two generations old is dropped; a
// cursor still positioned inside it gets Gap.

// replayEntry is one retained event and its ring position: 56 bytes
// rather than a bus.Event's 80 plus the position, since the worker writes
// one per event (memory traffic is what retention costs). CreatedAt is
// kept as Unix nanoseconds; the Processing* fields describe a handler
// call, which a polled event is not, and are not kept.
type replayEntry struct {
	topic    string
	payload  any
	metadata map[string]any
	created  int64 // CreatedAt.UnixNano()
	pos      uint64
}

// event returns the retained event.
func (e *replayEntry) event() bus.Event {
	return bus.Event{Topic: e.topic, Payload: e.payload, Metadata: e.metadata, CreatedAt: time.Unix(0, e.created)}
}

// replayLog is one shard's retained events. The shard's worker appends;
// Poll reads.
type replayLog struct {
	id    int
	shard *shard // its ring's tail is where CursorLatest starts

	mu      sync.RWMutex
	entries []replayEntry
	first   uint64 // index of the oldest retained entry
	count   uint64 // entries ever appended
	w       int    // count % len(entries), kept without a division
	evicted uint64 // position after the newest entry dropped
}

func newReplayLog(id, size int) *replayLog {
	return &replayLog{id: id, entries: make([]replayEntry, size)}
}

// append logs the batch evs taken at ring position base (consecutive
// positions). Called by the shard's worker once per batch.
func (l *replayLog) append(evs []bus.Event, base uint64) {
	size := uint64(len(l.entries))
	l.mu.Lock()
	for k := range evs {
		e := &l.entries[l.w]
		if l.count-l.first == size { // full: e is the oldest entry
			l.evicted = e.pos + 1
			l.first++
		}
		ev := &evs[k]
		e.topic, e.payload, e.metadata = ev.Topic, ev.Payload, ev.Metadata
		e.created, e.pos = ev.CreatedAt.UnixNano(), base+uint64(k)
		l.count++
		if l.w++; l.w == len(l.entries) {
			l.w = 0
		}
	}
	l.mu.Unlock()
}

// read copies into buf, from position p on, up to cap(buf) retained
// entries. When p points at events no longer retained it reports a gap
// and copies from the oldest retained entry instead; from is the position
// the copy started from (p, or the first position after the gap). end is
// the position after the newest entry logged so far.
func (l *replayLog) read(p uint64, buf []replayEntry) (out []replayEntry, gap bool, from, end uint64) {
	size := uint64(len(l.entries))
	l.mu.RLock()
	defer l.mu.RUnlock()
	end = l.evicted
	if l.count > l.first {
		end = l.entries[(l.count-1)%size].pos + 1
	}
	if p < l.evicted {
		gap, p = true, l.evicted
	}
	from = p
	// The first retained index whose position is >= p.
	n := l.count - l.first
	i := l.first + uint64(sort.Search(int(n), func(k int) bool {
		return l.entries[(l.first+uint64(k))%size].pos >= p
	}))
	for ; i < l.count && len(buf) < cap(buf); i++ {
		buf = append(buf, l.entries[i%size])
	}
	return buf, gap, from, end
}

// trim drops every retained entry of topic but the newest keep, and every
// entry of any topic older than those, as if the log had overflowed.
func (l *replayLog) trim(topic string, keep int) {
	size := uint64(len(l.entries))
	l.mu.Lock()
	defer l.mu.Unlock()
	seen := 0
	for i := l.count; i > l.first; i-- {
		e := &l.entries[(i-1)%size]
		if e.topic != topic {
			continue
		}
		if seen++; seen > keep {
			for l.first < i {
				l.evicted = l.entries[l.first%size].pos + 1
				l.entries[l.first%size] = replayEntry{}
				l.first++
			}
			return
		}
	}
}

// end returns the position after the newest entry logged so far.
func (l *replayLog) end() uint64 {
	_, _, _, end := l.read(0, nil)
	return end
}

// replayRegistry holds the engine's replay logs: those of the current
// shards and of the shards they replaced. Dropped logs leave a tombstone:
// the position after their last entry, so that a cursor that had read a
// dropped log to its end gets no Gap.
type replayRegistry struct {
	size  int    // Config.RetainEvents
	nonce uint64 // this engine value's cursors carry it (cursor.go)

	mu         sync.RWMutex
	current    []*replayLog
	previous   []*replayLog
	tombstones map[int]uint64
	nextID     int // ids below it were given to shards
}

func newReplayRegistry(size int) *replayRegistry {
	return &replayRegistry{size: size, nonce: rand.Uint64(), tombstones: map[int]uint64{}}
}

// maxTombstones bounds the tombstone map: ids are dropped oldest first (a
// cursor naming a forgotten id gets Gap).
const maxTombstones = 4 * MaxShards

// rotate gives each shard of a new set its log, retires the current logs
// and drops those retired before. Called with the engine's mu held,
// before the new shards' workers start.
func (r *replayRegistry) rotate(shards []*shard) {
	logs := make([]*replayLog, len(shards))
	for i, s := range shards {
		logs[i] = newReplayLog(s.id, r.size)
		logs[i].shard = s
		s.retain = logs[i]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range shards {
		r.nextID = max(r.nextID, s.id+1)
	}
	for _, l := range r.previous {
		r.tombstones[l.id] = l.end()
	}
	if len(r.tombstones) > maxTombstones {
		ids := make([]int, 0, len(r.tombstones))
		for id := range r.tombstones {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids[:len(ids)-maxTombstones] {
			delete(r.tombstones, id)
		}
	}
	r.previous, r.current = r.current, logs
}

// logs returns the retained logs, previous generation first, in id order.
func (r *replayRegistry) logs() []*replayLog {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*replayLog, 0, len(r.previous)+len(r.current))
	out = append(out, r.previous...)
	return append(out, r.current...)
}

// dropped tells what became of the log of shard id, which logs no longer
// lists: known says the id was given to a shard of this engine; end is
// the position after its last entry when it was dropped (remembered: ok).
func (r *replayRegistry) dropped(id int) (end uint64, ok, known bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	end, ok = r.tombstones[id]
	return end, ok, id < r.nextID
}
