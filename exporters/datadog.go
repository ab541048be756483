package exporters

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/switchyard-go/eventbus/bus"
)

// DefaultPrefix is the metric-name prefix used when the prefix given to
// NewDatadogStatsdExporter is empty.
const DefaultPrefix = "eventbus"

// DatadogStatsdExporter pushes an event bus's figures to a DogStatsD
// agent every interval (see Run). Counters are sent as counts of what
// happened during the interval (deltas), gauges as current values; every
// metric is tagged engine:<name> (plus topic:<topic> for the topic
// metrics) and the base tags.
//
// Metrics (prefix P, default "eventbus"):
//
//	P.published, P.delivered, P.dropped, P.failed, P.filtered,
//	P.panics, P.retried, P.dead_lettered                count   engine
//	P.in_flight, P.queue_depth, P.lag, P.lossy_shutdown gauge   engine
//	P.handler_latency_ms.avg|p50|p95|p99                gauge   engine (only intervals with calls)
//	P.topic.published|delivered|failed|dropped          count   engine, topic (only non-zero)
//	P.topic.retried|dead_lettered                       count   engine, topic (only non-zero)
//	P.delivered_total, P.dropped_total                  gauge   engine, also engine:_all
//
// delivered_total and dropped_total are the cumulative gauges the
// upstream exporter sent, kept so that existing dashboards still work.
//
// All methods are safe for concurrent use.
type DatadogStatsdExporter struct {
	src      StatsSource
	topics   TopicStatsSource
	limiter  *topicLimiter
	client   *statsd.Client
	interval time.Duration
	base     []string // our own copy of the caller's base tags

	running atomic.Bool

	mu         sync.Mutex // serializes report; guards prev and prevTopics
	prev       map[string]bus.EngineStats
	prevTopics map[string]map[string]bus.TopicStats

	closeOnce sync.Once
	closeErr  error
}

// NewDatadogStatsdExporter returns an exporter sending to the DogStatsD
// agent at addr (for example "127.0.0.1:8125"; "unix:///path" for a
// socket; empty uses DD_AGENT_HOST/DD_DOGSTATSD_PORT as statsd.New does).
// prefix defaults to DefaultPrefix. interval must be > 0
// (ErrInvalidInterval); src must not be nil (ErrNilSource). baseTags are
// copied: the caller may reuse its slice. The statsd client is created
// here and released by Close.
func NewDatadogStatsdExporter(src StatsSource, prefix, addr string, interval time.Duration, baseTags []string, opts ...Option) (*DatadogStatsdExporter, error) {
	if isNil(src) {
		return nil, ErrNilSource
	}
	if interval <= 0 {
		return nil, fmt.Errorf("%w: got %v", ErrInvalidInterval, interval)
	}
	if prefix == "" {
		prefix = DefaultPrefix
	}
	o := buildOptions(opts)
	sopts := append(slices.Clip(o.statsdOption), statsd.WithNamespace(strings.TrimSuffix(prefix, ".")+"."))
	client, err := statsd.New(addr, sopts...)
	if err != nil {
		return nil, fmt.Errorf("exporters: datadog client for %q: %w", addr, err)
	}
	e := &DatadogStatsdExporter{
		src:        src,
		client:     client,
		interval:   interval,
		base:       slices.Clone(baseTags),
		prev:       map[string]bus.EngineStats{},
		prevTopics: map[string]map[string]bus.TopicStats{},
	}
	e.topics, _ = src.(TopicStatsSource)
	if o.topicLimit > 0 {
		e.limiter = newTopicLimiter(o.topicLimit)
	}
	return e, nil
}

// Run reports every interval until ctx is cancelled, then reports once
// more (so the last partial interval is not lost) and returns. It blocks;
// run it in a goroutine you stop by cancelling ctx. A second Run while one
// is running returns at once. Send errors are not returned: DogStatsD is
// fire-and-forget, and the statsd client counts its own drops in its
// telemetry.
func (e *DatadogStatsdExporter) Run(ctx context.Context) {
	if !e.running.CompareAndSwap(false, true) {
		return
	}
	defer e.running.Store(false)
	t := time.NewTicker(e.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			e.report()
			return
		case <-t.C:
			e.report()
		}
	}
}

// Close flushes what the client buffered and closes it, after a report in
// progress finished. It is idempotent; reports after Close (a Run still
// going) send nothing.
func (e *DatadogStatsdExporter) Close() error {
	e.closeOnce.Do(func() {
		// Under mu: the statsd client's Flush blocks forever once the
		// client is closed, so report must never flush a closed client.
		e.mu.Lock()
		defer e.mu.Unlock()
		e.closeErr = e.client.Close()
	})
	return e.closeErr
}

// report sends one interval's figures and flushes the client.
func (e *DatadogStatsdExporter) report() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.client.IsClosed() {
		return
	}
	engines := readEngines(e.src)
	var allDelivered, allDropped uint64
	seen := make(map[string]bool, len(engines))
	for _, eng := range engines {
		seen[eng.name] = true
		cur, prev := eng.stats, e.prev[eng.name]
		e.prev[eng.name] = cur
		tags := e.tags("engine:" + tagValue(eng.name))
		allDelivered += cur.Delivered
		allDropped += cur.Dropped

		e.count("delivered", delta(cur.Delivered, prev.Delivered), tags)
		e.count("dropped", delta(cur.Dropped, prev.Dropped), tags)
		_ = e.client.Gauge("delivered_total", float64(cur.Delivered), tags, 1)
		_ = e.client.Gauge("dropped_total", float64(cur.Dropped), tags, 1)
		if !eng.detailed {
			continue
		}
		e.count("published", delta(cur.Published, prev.Published), tags)
		e.count("failed", delta(cur.Failed, prev.Failed), tags)
		e.count("filtered", delta(cur.Filtered, prev.Filtered), tags)
		e.count("panics", delta(cur.Panics, prev.Panics), tags)
		e.count("retried", delta(cur.Retried, prev.Retried), tags)
		e.count("dead_lettered", delta(cur.DeadLettered, prev.DeadLettered), tags)
		_ = e.client.Gauge("in_flight", float64(cur.InFlight), tags, 1)
		_ = e.client.Gauge("queue_depth", float64(cur.QueueDepth), tags, 1)
		_ = e.client.Gauge("lag", float64(cur.Lag), tags, 1)
		lossy := 0.0
		if cur.LossyShutdown {
			lossy = 1
		}
		_ = e.client.Gauge("lossy_shutdown", lossy, tags, 1)
		if d := cur.HandlerLatency.Sub(prev.HandlerLatency); d.Count > 0 {
			_ = e.client.Gauge("handler_latency_ms.avg", ms(d.Mean()), tags, 1)
			_ = e.client.Gauge("handler_latency_ms.p50", ms(d.Quantile(0.5)), tags, 1)
			_ = e.client.Gauge("handler_latency_ms.p95", ms(d.Quantile(0.95)), tags, 1)
			_ = e.client.Gauge("handler_latency_ms.p99", ms(d.Quantile(0.99)), tags, 1)
		}
	}
	for name := range e.prev {
		if !seen[name] {
			delete(e.prev, name)
		}
	}
	if len(engines) > 0 && !hasEngine(engines, AllEngines) {
		all := e.tags("engine:" + AllEngines)
		_ = e.client.Gauge("delivered_total", float64(allDelivered), all, 1)
		_ = e.client.Gauge("dropped_total", float64(allDropped), all, 1)
	}
	e.reportTopics()
	_ = e.client.Flush()
}

// reportTopics sends the per-topic counts of the interval (non-zero
// ones only, to keep the traffic proportional to activity).
func (e *DatadogStatsdExporter) reportTopics() {
	if e.limiter == nil || e.topics == nil {
		return
	}
	folded := e.limiter.fold(e.topics.EngineTopicStats())
	for _, engine := range sortedKeys(folded) {
		topics := folded[engine]
		prev := e.prevTopics[engine]
		for _, topic := range sortedKeys(topics) {
			cur, p := topics[topic], prev[topic]
			tags := e.tags("engine:"+tagValue(engine), "topic:"+tagValue(topic))
			for _, c := range []struct {
				name     string
				cur, old uint64
			}{
				{"topic.published", cur.Published, p.Published},
				{"topic.delivered", cur.Delivered, p.Delivered},
				{"topic.failed", cur.Failed, p.Failed},
				{"topic.dropped", cur.Dropped, p.Dropped},
				{"topic.retried", cur.Retried, p.Retried},
				{"topic.dead_lettered", cur.DeadLettered, p.DeadLettered},
			} {
				if d := delta(c.cur, c.old); d > 0 {
					e.count(c.name, d, tags)
				}
			}
		}
	}
	e.prevTopics = folded
}

func (e *DatadogStatsdExporter) count(name string, v uint64, tags []string) {
	_ = e.client.Count(name, int64(v), tags, 1)
}

// tags returns a new slice: the base tags then extra. It never appends to
// the caller's slice, so it cannot write into spare capacity the caller
// still uses.
func (e *DatadogStatsdExporter) tags(extra ...string) []string {
	out := make([]string, 0, len(e.base)+len(extra))
	out = append(out, e.base...)
	return append(out, extra...)
}

// delta is the growth of a monotonic counter since the previous report;
// a counter that went backwards was reset (a new engine), so its whole
// value is new.
func delta(cur, prev uint64) uint64 {
	if cur >= prev {
		return cur - prev
	}
	return cur
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// tagValue makes a topic or engine name safe inside a DogStatsD datagram:
// '|', ',' and '#' delimit fields and tags, and newlines end the metric.
func tagValue(s string) string {
	if !strings.ContainsAny(s, "|,#\n\r ") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '|', ',', '#', '\n', '\r', ' ':
			return '_'
		}
		return r
	}, s)
}
