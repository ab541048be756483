package core

import "github.com/switchyard-go/eventbus/bus"

// EngineTopicStats returns per-topic figures by engine name, then topic,
// for the engines that implement bus.TopicStatsProvider (an empty map
// before Init). Each engine bounds its own topic count (topics beyond it
// are under bus.OtherTopic). It makes the module an
// exporters.TopicStatsSource.
func (m *EventBusModule) EngineTopicStats() map[string]map[string]bus.TopicStats {
	r := m.router
	if r == nil {
		return map[string]map[string]bus.TopicStats{}
	}
	out := make(map[string]map[string]bus.TopicStats, len(r.engines))
	for _, e := range r.engines {
		if tp, ok := e.bus.(bus.TopicStatsProvider); ok {
			out[e.name] = tp.TopicStats()
		}
	}
	return out
}
