// Package exporters publishes an event bus's figures to monitoring
// systems: PrometheusCollector (pull: a prometheus.Collector that builds
// constant metrics on every scrape) and DatadogStatsdExporter (push:
// DogStatsD counts and gauges every interval).
//
// Both read a StatsSource: *eventbus.EventBusModule satisfies it, and
// also TopicStatsSource for per-topic figures. Neither touches the
// publish or delivery path: engines keep their counters and latency
// histograms (bus.EngineStats, bus.TopicStats) whether or not an exporter
// reads them, and an exporter only reads them on a scrape or a tick.
//
// Label and tag sets are bounded: `engine` (the configured engine names)
// and `topic`, capped by WithTopicLimit (default DefaultTopicLimit) with
// every further topic counted under bus.OtherTopic ("other"). Admission
// is first come, first kept, so every series stays monotonic.
//
// docs/observability.md lists every metric name with its labels, type
// and meaning, and shows a scrape.
package exporters
