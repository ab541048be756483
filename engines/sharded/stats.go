package sharded

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
)

// Counters live where they are written, each group on its own cache lines
// (see shard): producers only touch tail, so the number of events ingested
// is read from the ring itself rather than counted; workers add their
// counters once per batch; slow paths (refusals, evictions) have their
// own lines. Reading them is a handful of atomic loads, so Metrics can be
// polled freely.

// engineStats holds the totals of shards whose workers have exited and
// the set of shards still running.
type engineStats struct {
	mu    sync.Mutex
	live  map[*shard]struct{}
	total counts // folded from exited shards
	// latency is the sync handler latency folded from exited shards.
	latency bus.LatencySnapshot
	lossy   atomic.Bool
	// topics holds the per-topic counters (TopicStats), bounded by
	// Config.TopicLimit.
	topics bus.TopicTable
}

// asyncStats counts async handler calls; written by pool workers.
type asyncStats struct {
	_         padding
	delivered atomic.Uint64
	failed    atomic.Uint64
	filtered  atomic.Uint64
	panics    atomic.Uint64
	skipped   atomic.Uint64
	// latency times every async handler call (see latency.go).
	latency bus.LatencyHistogram
	_       padding
}

type counts struct {
	ingested, rejected, evicted, stranded   uint64
	dispatched, batches                     uint64
	delivered, failed, panics, skippedCalls uint64
	filtered                                uint64
}

func (c *counts) add(s *shard) {
	t, _ := s.finalTail()
	rej := s.rejected.Load()
	c.ingested += t + rej
	c.rejected += rej
	c.evicted += s.evicted.Load()
	c.stranded += s.stranded.Load()
	c.dispatched += s.dispatched.Load()
	c.batches += s.batches.Load()
	c.delivered += s.delivered.Load()
	c.failed += s.failed.Load()
	c.panics += s.panics.Load()
	c.skippedCalls += s.skipped.Load()
	c.filtered += s.filtered.Load()
}

func (st *engineStats) register(shards []*shard) {
	st.mu.Lock()
	for _, s := range shards {
		st.live[s] = struct{}{}
	}
	st.mu.Unlock()
}

// fold moves an exited shard's counters into the totals.
func (b *EventBus) fold(s *shard) {
	st := &b.stats
	st.mu.Lock()
	st.total.add(s)
	st.latency = st.latency.Add(s.latency.Snapshot())
	delete(st.live, s)
	st.mu.Unlock()
}

// Metrics is a snapshot of the engine's counters, cumulative over the
// engine's life (restarts and resizes included). Once Flush has returned
// with nothing published since, EventsDispatched + Dropped == Ingested.
type Metrics struct {
	// Ingested counts events offered to a ring: accepted plus Rejected.
	Ingested uint64 `json:"ingested"`
	// Accepted counts events Publish accepted (returned nil for).
	Accepted uint64 `json:"accepted"`
	// EventsDispatched counts accepted events handed to the matching
	// subscriptions (sync handlers called, async jobs queued).
	EventsDispatched uint64 `json:"eventsDispatched"`
	// BatchesDispatched counts the batches the workers took from the
	// rings; EventsDispatched / BatchesDispatched is the mean batch size.
	BatchesDispatched uint64 `json:"batchesDispatched"`
	// Dropped is Rejected + Evicted + Stranded.
	Dropped uint64 `json:"dropped"`
	// Rejected counts events refused by backpressure: drop-newest,
	// timeout, or the Publish ctx ending while blocked. Publish returned
	// an error for each.
	Rejected uint64 `json:"rejected"`
	// Evicted counts queued events evicted by drop-oldest.
	Evicted uint64 `json:"evicted"`
	// Stranded counts accepted events left undelivered by a Stop whose
	// ctx expired.
	Stranded uint64 `json:"stranded"`
	// Delivered counts handler calls that returned (sync and async).
	Delivered uint64 `json:"delivered"`
	// Failed counts handler calls that returned an error or panicked.
	Failed uint64 `json:"failed"`
	// Filtered counts handler calls whose subscription's filter rejected
	// the event (bus.FilteredHandler, bus.ErrEventFiltered): counted in
	// neither Delivered nor Failed.
	Filtered uint64 `json:"filtered"`
	// Panics counts handler calls that panicked (a subset of Failed).
	Panics uint64 `json:"panics"`
	// Skipped counts handler calls not made for a dispatched event: the
	// subscription was removed while the event was queued for it, or an
	// expired Stop abandoned it.
	Skipped uint64 `json:"skipped"`
	// AsyncQueued is the number of async jobs waiting for a pool worker.
	AsyncQueued int `json:"asyncQueued"`
	// LossyShutdown is set once a Stop deadline expired with events
	// still queued.
	LossyShutdown bool `json:"lossyShutdown"`
	// Shards describes the running shards (the current set and any set
	// still draining after a resize), by id.
	Shards []ShardMetrics `json:"shards"`
}

// ShardMetrics describes one running shard.
type ShardMetrics struct {
	// ID identifies the shard for the engine's life; a resize creates
	// shards with new ids.
	ID int `json:"id"`
	// Depth is the number of accepted events not yet dispatched.
	Depth uint64 `json:"depth"`
	// Ingested and Dispatched are the shard's own counters.
	Ingested   uint64 `json:"ingested"`
	Dispatched uint64 `json:"dispatched"`
	// Draining is set for a sealed shard: stopping, or replaced by a
	// resize and delivering what it still holds.
	Draining bool `json:"draining"`
}

// Metrics returns a snapshot of the engine's counters. Safe at any time.
func (b *EventBus) Metrics() Metrics {
	st := &b.stats
	st.mu.Lock()
	c := st.total
	shards := make([]ShardMetrics, 0, len(st.live))
	for s := range st.live {
		var one counts
		one.add(s)
		c.ingested += one.ingested
		c.rejected += one.rejected
		c.evicted += one.evicted
		c.stranded += one.stranded
		c.dispatched += one.dispatched
		c.batches += one.batches
		c.delivered += one.delivered
		c.failed += one.failed
		c.panics += one.panics
		c.skippedCalls += one.skippedCalls
		c.filtered += one.filtered
		_, sealed := s.finalTail()
		shards = append(shards, ShardMetrics{ID: s.id, Depth: s.depth(), Ingested: one.ingested, Dispatched: one.dispatched, Draining: sealed})
	}
	st.mu.Unlock()
	slices.SortFunc(shards, func(a, b ShardMetrics) int { return a.ID - b.ID })
	m := Metrics{
		Ingested:          c.ingested,
		Accepted:          c.ingested - c.rejected,
		EventsDispatched:  c.dispatched,
		BatchesDispatched: c.batches,
		Rejected:          c.rejected,
		Evicted:           c.evicted,
		Stranded:          c.stranded,
		Dropped:           c.rejected + c.evicted + c.stranded,
		Delivered:         c.delivered + b.async.delivered.Load(),
		Failed:            c.failed + b.async.failed.Load(),
		Filtered:          c.filtered + b.async.filtered.Load(),
		Panics:            c.panics + b.async.panics.Load(),
		Skipped:           c.skippedCalls + b.async.skipped.Load(),
		LossyShutdown:     st.lossy.Load(),
		Shards:            shards,
	}
	if set := b.set.Load(); set != nil {
		m.AsyncQueued = len(set.run.pool.q)
	}
	return m
}

// handlerLatency returns the handler latency of every shard that ever ran
// and of the async pool.
func (b *EventBus) handlerLatency() bus.LatencySnapshot {
	st := &b.stats
	st.mu.Lock()
	l := st.latency
	for s := range st.live {
		l = l.Add(s.latency.Snapshot())
	}
	st.mu.Unlock()
	return l.Add(b.async.latency.Snapshot())
}

// TopicStats returns the figures per published topic
// (bus.TopicStatsProvider): at most Config.TopicLimit topics, the rest
// under bus.OtherTopic. Safe at any time.
//
// The shard worker counts an event as Published when it takes it from the
// ring (or drops it), one atomic add per run of one topic, so a topic's
// Published trails EngineStats.Published by the events still queued, and
// agrees with it after Flush. Delivered and Failed count handler calls.
// Dropped counts events evicted (drop-oldest), stranded by an expired Stop
// (if their publisher had finished writing them) or refused by
// backpressure (these are not counted in Published, as in EngineStats),
// plus handler calls skipped because the subscription was removed while
// the event was queued.
func (b *EventBus) TopicStats() map[string]bus.TopicStats {
	return b.stats.topics.Snapshot()
}

// EngineStats reports the engine's figures in the shared shape:
// Published = Accepted, Dropped = Dropped + Skipped, QueueDepth = events
// in the rings plus async jobs queued, HandlerLatency = sync and async
// handler calls (see latency.go for how sync calls are timed). InFlight
// is not tracked (zero).
func (b *EventBus) EngineStats() bus.EngineStats {
	m := b.Metrics()
	var depth uint64
	for _, s := range m.Shards {
		depth += s.Depth
	}
	return bus.EngineStats{
		Published:      m.Accepted,
		Delivered:      m.Delivered,
		Dropped:        m.Dropped + m.Skipped,
		Failed:         m.Failed,
		Filtered:       m.Filtered,
		Panics:         m.Panics,
		QueueDepth:     int64(depth) + int64(m.AsyncQueued),
		LossyShutdown:  m.LossyShutdown,
		HandlerLatency: b.handlerLatency(),
	}
}

// Stats returns handler calls that returned and events or calls dropped
// (bus.StatsProvider, used by the module's router).
func (b *EventBus) Stats() (delivered uint64, dropped uint64) {
	m := b.Metrics()
	return m.Delivered, m.Dropped + m.Skipped
}

var (
	_ bus.EventBus            = (*EventBus)(nil)
	_ bus.EngineStatsProvider = (*EventBus)(nil)
	_ bus.StatsProvider       = (*EventBus)(nil)
	_ bus.Observable          = (*EventBus)(nil)
	_ bus.TopicStatsProvider  = (*EventBus)(nil)
)
