package eventbus

import "github.com/switchyard-go/eventbus/engines/custom"

// CustomMemoryConfig configures the "custom" engine, the worked example
// of a third-party engine (engines/custom).
type CustomMemoryConfig = custom.Config

// CustomMemoryEventBus is the "custom" engine (engines/custom): the
// memory engine wrapped with event filters and EventMetrics, registered
// as engine type "custom".
type CustomMemoryEventBus = custom.EventBus

// EventMetrics holds what the custom engine measured; read it through
// CustomMemoryEventBus.GetMetrics, which returns a copy.
type EventMetrics = custom.EventMetrics

// EventFilter decides whether an event is processed; the custom engine
// applies its filters on publish.
type EventFilter = custom.EventFilter

// TopicPrefixFilter lets through the events whose topic starts with one
// of AllowedPrefixes (all events when the list is empty).
type TopicPrefixFilter = custom.TopicPrefixFilter

// NewCustomMemoryEventBus is the "custom" engine factory (see
// engines/custom.New for the keys); the engine is returned stopped.
func NewCustomMemoryEventBus(config map[string]interface{}) (EventBus, error) {
	return custom.New(config)
}
