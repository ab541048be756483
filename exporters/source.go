package exporters

import (
	"reflect"
	"slices"
	"sync"

	"github.com/DataDog/datadog-go/v5/statsd"

	"github.com/switchyard-go/eventbus/bus"
)

// StatsSource is what the exporters read: *eventbus.EventBusModule
// satisfies it. Both maps are keyed by engine name and must be fresh
// copies (the exporters do not keep them).
type StatsSource interface {
	// PerEngineStats returns delivered and dropped counts of the engines
	// that report bus.StatsProvider.
	PerEngineStats() map[string]bus.DeliveryStats
	// EngineStats returns the detailed figures of the engines that
	// report bus.EngineStatsProvider.
	EngineStats() map[string]bus.EngineStats
}

// TopicStatsSource is implemented by sources that also report per-topic
// figures, by engine name then topic (*eventbus.EventBusModule does, for
// the engines that implement bus.TopicStatsProvider). The exporters check
// for it once, at construction.
type TopicStatsSource interface {
	EngineTopicStats() map[string]map[string]bus.TopicStats
}

// DefaultTopicLimit is the number of distinct `topic` label (or tag)
// values an exporter emits before folding further topics into
// bus.OtherTopic. It is bus.DefaultTopicLimit, the number of topics an
// engine with a default topicLimit counts apart, so that by default every
// topic an engine reports gets its own series and "other" means the same
// in the engine's figures and in the exported ones. It applies across
// engines (distinct topic names of all engines together); lower it with
// WithTopicLimit when many engines each report many topics.
const DefaultTopicLimit = bus.DefaultTopicLimit

// AllEngines is the `engine` label value of the aggregate series of
// delivered_total and dropped_total, kept from the upstream exporters.
// It is left out when an engine is itself named "_all".
const AllEngines = "_all"

// Option configures an exporter.
type Option func(*options)

type options struct {
	topicLimit   int
	statsdOption []statsd.Option
}

func buildOptions(opts []Option) options {
	o := options{topicLimit: DefaultTopicLimit}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}

// WithTopicLimit sets how many distinct topics get their own `topic`
// label value (Prometheus) or tag (Datadog); later topics are reported as
// bus.OtherTopic. A negative n turns per-topic figures off; 0 keeps the
// default. Default: DefaultTopicLimit (256).
func WithTopicLimit(n int) Option {
	return func(o *options) {
		if n != 0 {
			o.topicLimit = n
		}
	}
}

// WithStatsdOptions passes options to statsd.New (for example
// statsd.WithoutTelemetry() or statsd.WithTags). The exporter always sets
// statsd.WithNamespace(prefix + "."). PrometheusCollector ignores it.
func WithStatsdOptions(opts ...statsd.Option) Option {
	return func(o *options) { o.statsdOption = append(o.statsdOption, opts...) }
}

// isNil reports whether src is nil or a typed nil pointer (a nil
// *EventBusModule passed as a StatsSource).
func isNil(src StatsSource) bool {
	if src == nil {
		return true
	}
	v := reflect.ValueOf(src)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// engineFigures merges the two views of a source into one EngineStats per
// engine, sorted by name. An engine that only reports bus.StatsProvider
// contributes Delivered and Dropped; detailed is false for it.
type engineFigures struct {
	name     string
	stats    bus.EngineStats
	detailed bool
}

func readEngines(src StatsSource) []engineFigures {
	per := src.PerEngineStats()
	det := src.EngineStats()
	out := make([]engineFigures, 0, max(len(per), len(det)))
	for name, s := range det {
		out = append(out, engineFigures{name: name, stats: s, detailed: true})
	}
	for name, s := range per {
		if _, ok := det[name]; ok {
			continue
		}
		out = append(out, engineFigures{name: name, stats: bus.EngineStats{Delivered: s.Delivered, Dropped: s.Dropped}})
	}
	slices.SortFunc(out, func(a, b engineFigures) int {
		switch {
		case a.name < b.name:
			return -1
		case a.name > b.name:
			return 1
		}
		return 0
	})
	return out
}

// hasEngine reports whether an engine is named name.
func hasEngine(list []engineFigures, name string) bool {
	for _, e := range list {
		if e.name == name {
			return true
		}
	}
	return false
}

// topicLimiter bounds the topic label values an exporter emits. Topics
// are admitted first come, first kept (in sorted order within one read,
// so the choice is deterministic); once limit topics are admitted every
// other topic is folded into bus.OtherTopic for the life of the
// exporter. Because an admitted topic never leaves and a topic is
// admitted the first time it is seen, a topic's series and the "other"
// series only ever grow.
type topicLimiter struct {
	limit    int
	mu       sync.Mutex
	admitted map[string]struct{}
}

func newTopicLimiter(limit int) *topicLimiter {
	return &topicLimiter{limit: limit, admitted: map[string]struct{}{}}
}

// fold returns in with topics beyond the limit merged into
// bus.OtherTopic, per engine. Safe for concurrent use.
func (l *topicLimiter) fold(in map[string]map[string]bus.TopicStats) map[string]map[string]bus.TopicStats {
	var fresh []string
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, topics := range in {
		for t := range topics {
			if _, ok := l.admitted[t]; !ok && t != bus.OtherTopic {
				fresh = append(fresh, t)
			}
		}
	}
	slices.Sort(fresh)
	fresh = slices.Compact(fresh)
	for _, t := range fresh {
		if len(l.admitted) >= l.limit {
			break
		}
		l.admitted[t] = struct{}{}
	}
	out := make(map[string]map[string]bus.TopicStats, len(in))
	for engine, topics := range in {
		m := make(map[string]bus.TopicStats, min(len(topics), l.limit+1))
		for t, s := range topics {
			label := t
			if _, ok := l.admitted[t]; !ok {
				label = bus.OtherTopic
			}
			m[label] = m[label].Add(s)
		}
		out[engine] = m
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
