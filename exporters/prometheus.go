package exporters

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchyard-go/eventbus/bus"
)

// DefaultNamespace is the metric-name prefix used when the namespace
// given to NewPrometheusCollector is empty.
const DefaultNamespace = "modular_eventbus"

// PrometheusCollector is a prometheus.Collector over an event bus. It is
// pull-based: every Collect (scrape) reads the source's current figures
// and sends constant metrics, so it holds no series of its own and costs
// nothing between scrapes. Collect and Describe are safe for concurrent
// use; register it once per registry.
//
// Metrics (namespace N, default "modular_eventbus"):
//
//	N_delivered_total{engine}           counter   (also engine="_all")
//	N_dropped_total{engine}             counter   (also engine="_all")
//	N_published_total{engine}           counter
//	N_failed_total{engine}              counter
//	N_filtered_total{engine}            counter
//	N_panics_total{engine}              counter
//	N_retried_total{engine}             counter
//	N_dead_lettered_total{engine}       counter
//	N_in_flight{engine}                 gauge
//	N_queue_depth{engine}               gauge
//	N_lag{engine}                       gauge
//	N_lossy_shutdown{engine}            gauge (0 or 1)
//	N_handler_duration_seconds{engine}  histogram
//	N_topic_published_total{engine,topic}  counter
//	N_topic_delivered_total{engine,topic}  counter
//	N_topic_failed_total{engine,topic}     counter
//	N_topic_dropped_total{engine,topic}    counter
//	N_topic_retried_total{engine,topic}    counter
//	N_topic_dead_lettered_total{engine,topic} counter
//
// delivered_total and dropped_total cover every engine that reports
// bus.StatsProvider or bus.EngineStatsProvider; the other per-engine
// metrics cover bus.EngineStatsProvider engines; the topic metrics need a
// TopicStatsSource and engines that implement bus.TopicStatsProvider.
type PrometheusCollector struct {
	src      StatsSource // nil: emits nothing
	topics   TopicStatsSource
	limiter  *topicLimiter // nil: no topic metrics
	counters []engineMetric
	gauges   []engineMetric
	// delivered and dropped are kept apart for the "_all" series.
	delivered, dropped *prometheus.Desc
	latency            *prometheus.Desc
	topicDescs         []topicMetric
}

type engineMetric struct {
	desc  *prometheus.Desc
	value func(bus.EngineStats) float64
}

type topicMetric struct {
	desc  *prometheus.Desc
	value func(bus.TopicStats) float64
}

var (
	_ prometheus.Collector = (*PrometheusCollector)(nil)

	engineLabel = []string{"engine"}
	topicLabels = []string{"engine", "topic"}
)

// NewPrometheusCollector returns a collector reading src. namespace is
// the metric-name prefix (DefaultNamespace when empty). Keep it to
// [a-zA-Z_:][a-zA-Z0-9_:]*: client_golang accepts any UTF-8 name, but
// other names must be quoted in the exposition and some tools reject
// them; a namespace that is not valid UTF-8 makes registration fail with
// the descriptor's error. A nil src yields a collector that describes its
// metrics but collects none.
func NewPrometheusCollector(src StatsSource, namespace string, opts ...Option) *PrometheusCollector {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	o := buildOptions(opts)
	name := func(n string) string { return prometheus.BuildFQName(namespace, "", n) }
	engineDesc := func(n, help string) *prometheus.Desc { return prometheus.NewDesc(name(n), help, engineLabel, nil) }
	topicDesc := func(n, help string) *prometheus.Desc { return prometheus.NewDesc(name(n), help, topicLabels, nil) }

	c := &PrometheusCollector{
		delivered: engineDesc("delivered_total", "Total delivered events (cumulative)"),
		dropped:   engineDesc("dropped_total", "Total dropped events (cumulative)"),
		latency:   engineDesc("handler_duration_seconds", "Duration of event handler calls, per engine."),
	}
	if !isNil(src) {
		c.src = src
		c.topics, _ = src.(TopicStatsSource)
	}
	if o.topicLimit > 0 {
		c.limiter = newTopicLimiter(o.topicLimit)
	}
	c.counters = []engineMetric{
		{engineDesc("published_total", "Events accepted by Publish."), func(s bus.EngineStats) float64 { return float64(s.Published) }},
		{engineDesc("failed_total", "Handler calls that returned an error or panicked."), func(s bus.EngineStats) float64 { return float64(s.Failed) }},
		{engineDesc("filtered_total", "Events a subscription's filter rejected (neither delivered nor failed)."), func(s bus.EngineStats) float64 { return float64(s.Filtered) }},
		{engineDesc("panics_total", "Handler calls that panicked (a subset of failed)."), func(s bus.EngineStats) float64 { return float64(s.Panics) }},
		{engineDesc("retried_total", "Redeliveries after a failed handler call."), func(s bus.EngineStats) float64 { return float64(s.Retried) }},
		{engineDesc("dead_lettered_total", "Events moved to a dead-letter topic."), func(s bus.EngineStats) float64 { return float64(s.DeadLettered) }},
	}
	c.gauges = []engineMetric{
		{engineDesc("in_flight", "Handler calls running now."), func(s bus.EngineStats) float64 { return float64(s.InFlight) }},
		{engineDesc("queue_depth", "Accepted events waiting for a handler."), func(s bus.EngineStats) float64 { return float64(s.QueueDepth) }},
		{engineDesc("lag", "How far consumers are behind producers where the engine knows it (Kafka: records, Kinesis: milliseconds)."), func(s bus.EngineStats) float64 { return float64(s.Lag) }},
		{engineDesc("lossy_shutdown", "1 if a Stop deadline expired with events still queued (they are counted as dropped)."), func(s bus.EngineStats) float64 {
			if s.LossyShutdown {
				return 1
			}
			return 0
		}},
	}
	c.topicDescs = []topicMetric{
		{topicDesc("topic_published_total", "Events accepted by Publish, per topic (bounded: overflow topics are labelled other)."), func(s bus.TopicStats) float64 { return float64(s.Published) }},
		{topicDesc("topic_delivered_total", "Handler calls that returned, per topic (bounded: overflow topics are labelled other)."), func(s bus.TopicStats) float64 { return float64(s.Delivered) }},
		{topicDesc("topic_failed_total", "Handler calls that failed, per topic (bounded: overflow topics are labelled other)."), func(s bus.TopicStats) float64 { return float64(s.Failed) }},
		{topicDesc("topic_dropped_total", "Deliveries dropped, per topic (bounded: overflow topics are labelled other)."), func(s bus.TopicStats) float64 { return float64(s.Dropped) }},
		{topicDesc("topic_retried_total", "Handler calls repeated after a failure, per topic (bounded: overflow topics are labelled other)."), func(s bus.TopicStats) float64 { return float64(s.Retried) }},
		{topicDesc("topic_dead_lettered_total", "Events moved to a dead-letter topic, per topic (bounded: overflow topics are labelled other)."), func(s bus.TopicStats) float64 { return float64(s.DeadLettered) }},
	}
	return c
}

// Describe sends the descriptors of every metric the collector can emit.
func (c *PrometheusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.delivered
	ch <- c.dropped
	for _, m := range c.counters {
		ch <- m.desc
	}
	for _, m := range c.gauges {
		ch <- m.desc
	}
	ch <- c.latency
	if c.limiter != nil {
		for _, m := range c.topicDescs {
			ch <- m.desc
		}
	}
}

// Collect reads the source once and sends the current values as constant
// metrics. It never panics: a metric that cannot be built is sent as an
// invalid metric, which the registry reports as a scrape error.
func (c *PrometheusCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src == nil {
		return
	}
	engines := readEngines(c.src)
	var allDelivered, allDropped uint64
	for _, e := range engines {
		allDelivered += e.stats.Delivered
		allDropped += e.stats.Dropped
		ch <- constMetric(c.delivered, prometheus.CounterValue, float64(e.stats.Delivered), e.name)
		ch <- constMetric(c.dropped, prometheus.CounterValue, float64(e.stats.Dropped), e.name)
		if !e.detailed {
			continue
		}
		for _, m := range c.counters {
			ch <- constMetric(m.desc, prometheus.CounterValue, m.value(e.stats), e.name)
		}
		for _, m := range c.gauges {
			ch <- constMetric(m.desc, prometheus.GaugeValue, m.value(e.stats), e.name)
		}
		ch <- latencyHistogram(c.latency, e.stats.HandlerLatency, e.name)
	}
	if len(engines) > 0 && !hasEngine(engines, AllEngines) {
		ch <- constMetric(c.delivered, prometheus.CounterValue, float64(allDelivered), AllEngines)
		ch <- constMetric(c.dropped, prometheus.CounterValue, float64(allDropped), AllEngines)
	}
	if c.limiter == nil || c.topics == nil {
		return
	}
	folded := c.limiter.fold(c.topics.EngineTopicStats())
	for _, engine := range sortedKeys(folded) {
		topics := folded[engine]
		for _, topic := range sortedKeys(topics) {
			for _, m := range c.topicDescs {
				ch <- constMetric(m.desc, prometheus.CounterValue, m.value(topics[topic]), engine, topic)
			}
		}
	}
}

func constMetric(desc *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(desc, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}

// latencyHistogram turns a bus.LatencySnapshot into a Prometheus
// histogram with the bus's fixed bucket bounds, in seconds.
func latencyHistogram(desc *prometheus.Desc, s bus.LatencySnapshot, engine string) prometheus.Metric {
	bounds := bus.LatencyBounds()
	buckets := make(map[float64]uint64, len(bounds))
	var cum uint64
	for i, b := range bounds {
		cum += s.Buckets[i]
		buckets[b.Seconds()] = cum
	}
	m, err := prometheus.NewConstHistogram(desc, s.Count, s.Sum.Seconds(), buckets, engine)
	if err != nil {
		return prometheus.NewInvalidMetric(desc, err)
	}
	return m
}
