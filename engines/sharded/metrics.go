package sharded

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Shard utilization
//
// Utilization is the fraction of an interval a shard's worker spent
// handling events. It is measured from the other side: the worker already
// reads the clock when it finds its ring empty (to bound its spin window),
// so it records when it went idle and, on leaving idle, adds the idle
// time to a counter. Nothing is added per event, and nothing at all while
// the ring keeps the worker busy (the worker never goes idle then); an
// idle entry costs one more clock read (~25 ns) and three atomic stores,
// paid when the worker had nothing to do anyway. A sampler reads the
// counter, plus the idle period in progress if any, and turns the
// difference between two samples into 1 - idle/elapsed.
//
// A worker that waits for a sync subscription another shard's worker is
// calling (a subscription's calls never overlap) counts that wait as idle
// too: more shards would not make it shorter. It reads the clock only when
// the subscription's lock is contended. Time a busy worker spends waiting
// for a CPU counts as busy: on an overloaded machine every shard looks
// saturated, which is why the scaling policy has a maxShards budget.

// idleClock is a shard worker's idle accounting. Protocol: the worker
// stores since (non-zero) when it goes idle; when it leaves idle it first
// clears since, then adds the idle time to total. A reader loads since,
// total, since again: if both loads of since agree, total does not yet
// include the period that began at since (the worker clears since before
// it adds), so the idle time is total plus now - since when since is set.
type idleClock struct {
	started atomic.Int64 // mono() when the worker started delivering; 0 before
	since   atomic.Int64 // mono() when the current idle period began; 0 when busy
	total   atomic.Int64 // idle nanoseconds of the finished idle periods
}

// start records that the worker begins delivering. Worker only.
func (c *idleClock) start() { c.started.Store(int64(mono()) | 1) }

// idle records the start of an idle period and returns its clock reading.
// Worker only.
func (c *idleClock) idle() time.Duration {
	now := mono()
	c.since.Store(int64(now) | 1)
	return now
}

// busy ends the idle period that began at start. Worker only.
func (c *idleClock) busy(start time.Duration) {
	now := mono()
	c.since.Store(0)
	c.total.Add(int64(now - start))
}

// read returns when the worker started (0: not yet) and its idle time up
// to now. Any goroutine.
func (c *idleClock) read(now time.Duration) (started, idle time.Duration) {
	started = time.Duration(c.started.Load())
	if started == 0 {
		return 0, 0
	}
	for {
		s1 := c.since.Load()
		total := c.total.Load()
		if s2 := c.since.Load(); s1 == s2 {
			idle = time.Duration(total)
			if s1 != 0 && now > time.Duration(s1) {
				idle += now - time.Duration(s1)
			}
			return started, idle
		}
	}
}

// sampler turns cumulative shard counters into per-interval metrics. Each
// sample is measured from the previous sample of the same sampler, so the
// scaling monitor keeps its own and a caller's ShardMetrics calls do not
// shorten its intervals.
type sampler struct {
	mu   sync.Mutex
	prev map[*shard]shardSample
}

// shardSample is a shard's cumulative state at one sample.
type shardSample struct {
	at, idle               time.Duration
	tail, head, dispatched uint64
}

// sample returns the metrics of every running shard (the current set and
// any set still draining), sorted by id, measured since this sampler's
// previous sample.
func (sp *sampler) sample(b *EventBus) []ShardMetrics {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	st := &b.stats
	st.mu.Lock()
	now := mono()
	next := make(map[*shard]shardSample, len(st.live))
	out := make([]ShardMetrics, 0, len(st.live))
	for s := range st.live {
		t, sealed := s.finalTail()
		m := ShardMetrics{
			ID:         s.id,
			Depth:      s.depth(),
			Ingested:   t + s.rejected.Load(),
			Dispatched: s.dispatched.Load(),
			Draining:   sealed,
			Capacity:   uint64(len(s.slots)),
		}
		started, idle := s.clock.read(now)
		if started != 0 {
			cur := shardSample{at: now, idle: idle, tail: t, head: s.head.Load(), dispatched: m.Dispatched}
			prev, ok := sp.prev[s]
			if !ok || prev.at < started {
				prev = shardSample{at: started}
			}
			m.Interval = cur.at - prev.at
			m.Arrived = cur.tail - prev.tail
			m.Taken = cur.head - prev.head
			m.Handled = cur.dispatched - prev.dispatched
			if m.Interval > 0 {
				busy := 1 - float64(cur.idle-prev.idle)/float64(m.Interval)
				m.Utilization = min(max(busy, 0), 1)
			}
			next[s] = cur
		}
		out = append(out, m)
	}
	st.mu.Unlock()
	sp.prev = next
	slices.SortFunc(out, func(a, b ShardMetrics) int { return a.ID - b.ID })
	return out
}

// ShardMetrics samples every running shard — the current ones and any
// still draining after a resize — and returns their figures sorted by id:
// queue depth and capacity, and for the interval since the previous call
// (or since the shard's worker started, if later) the events that arrived,
// were taken and handled, and the utilization. The first call after Start or after a
// resize measures from when each worker started delivering.
//
// Sampling reads a few atomic counters per shard; the workers do nothing
// extra per event to feed it. The sample also becomes the latest one
// SuggestScaling decides from. On a stopped engine it returns an empty
// slice. Safe for concurrent use; calls share one sampling interval, so
// poll from one place (the scaling monitor samples on its own).
func (b *EventBus) ShardMetrics() []ShardMetrics {
	ms := b.scaling.public.sample(b)
	b.scaling.latest.Store(&ms)
	return slices.Clone(ms)
}
