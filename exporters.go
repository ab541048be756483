package eventbus

import (
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/exporters"
)

// PrometheusCollector is a prometheus.Collector over the module's
// figures; see exporters.PrometheusCollector for the metric names.
type PrometheusCollector = exporters.PrometheusCollector

// NewPrometheusCollector returns a collector for eventBus. namespace is
// the metric-name prefix (default if empty: "modular_eventbus"). Register
// it with a prometheus.Registerer; it reads the module on every scrape. A
// nil eventBus yields a collector that collects nothing. For options
// (topic label limit) use exporters.NewPrometheusCollector with the module
// as the source.
func NewPrometheusCollector(eventBus *EventBusModule, namespace string) *PrometheusCollector {
	if eventBus == nil {
		return exporters.NewPrometheusCollector(nil, namespace)
	}
	return exporters.NewPrometheusCollector(eventBus, namespace)
}

// DatadogStatsdExporter pushes the module's figures to DogStatsD; see
// exporters.DatadogStatsdExporter for the metric names and tags.
type DatadogStatsdExporter = exporters.DatadogStatsdExporter

// NewDatadogStatsdExporter creates a new exporter. addr example:
// "127.0.0.1:8125". prefix defaults to "eventbus" if empty. interval must
// be > 0 (exporters.ErrInvalidInterval); a nil eventBus returns
// exporters.ErrNilSource. baseTags are copied. Call Run(ctx) to report
// until ctx is cancelled and Close to release the client.
func NewDatadogStatsdExporter(eventBus *EventBusModule, prefix, addr string, interval time.Duration, baseTags []string) (*DatadogStatsdExporter, error) {
	if eventBus == nil {
		return exporters.NewDatadogStatsdExporter(nil, prefix, addr, interval, baseTags)
	}
	return exporters.NewDatadogStatsdExporter(eventBus, prefix, addr, interval, baseTags)
}

// EngineTopicStats returns per-topic figures by engine name, then topic,
// for the engines that implement bus.TopicStatsProvider (an empty map
// before Init). Each engine bounds its own topic count (topics beyond it
// are under OtherTopic). It makes the module an
// exporters.TopicStatsSource.
func (m *EventBusModule) EngineTopicStats() map[string]map[string]TopicStats {
	r := m.router
	if r == nil {
		return map[string]map[string]TopicStats{}
	}
	out := make(map[string]map[string]TopicStats, len(r.engines))
	for _, e := range r.engines {
		if tp, ok := e.bus.(bus.TopicStatsProvider); ok {
			out[e.name] = tp.TopicStats()
		}
	}
	return out
}

var (
	_ exporters.StatsSource      = (*EventBusModule)(nil)
	_ exporters.TopicStatsSource = (*EventBusModule)(nil)
)
