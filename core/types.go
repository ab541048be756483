package core

import (
	"context"

	"github.com/switchyard-go/eventbus/bus"
)

// Event is a message in the event bus; see bus.Event.
type Event = bus.Event

// EventHandler handles one event; see bus.EventHandler.
type EventHandler = bus.EventHandler

// Subscription is a registered handler; see bus.Subscription.
type Subscription = bus.Subscription

// EventBus is the interface every engine implements; see bus.EventBus.
type EventBus = bus.EventBus

// DeliveryStats are delivered and dropped counts of an engine or an
// aggregate; see bus.DeliveryStats.
type DeliveryStats = bus.DeliveryStats

// EngineStats are the detailed figures an engine reports; see
// bus.EngineStats.
type EngineStats = bus.EngineStats

// TopicStats are an engine's figures for one published topic, as
// EngineTopicStats returns them; see bus.TopicStats.
type TopicStats = bus.TopicStats

// OtherTopic is the topic under which an engine (and an exporter) counts
// the topics beyond its topic limit; see bus.OtherTopic.
const OtherTopic = bus.OtherTopic

// EngineFactory creates an engine from its configuration map
// (EngineConfig.Config, or the module-level settings in single-engine
// mode). The engine is returned stopped; the router starts it.
type EngineFactory func(config map[string]interface{}) (EventBus, error)

// ModuleName is the module's name and its config section.
const ModuleName = "eventbus"

// ServiceName is the name under which the module provides itself.
const ServiceName = "eventbus.provider"

// CloudEvents types the module emits to modular observers.
const (
	EventTypeMessagePublished = "com.modular.eventbus.message.published"
	EventTypeMessageReceived  = "com.modular.eventbus.message.received"
	EventTypeMessageFailed    = "com.modular.eventbus.message.failed"

	EventTypeTopicCreated = "com.modular.eventbus.topic.created"
	EventTypeTopicDeleted = "com.modular.eventbus.topic.deleted"

	EventTypeSubscriptionCreated = "com.modular.eventbus.subscription.created"
	EventTypeSubscriptionRemoved = "com.modular.eventbus.subscription.removed"

	EventTypeBusStarted = "com.modular.eventbus.bus.started"
	EventTypeBusStopped = "com.modular.eventbus.bus.stopped"

	EventTypeConfigLoaded = "com.modular.eventbus.config.loaded"
)

// WithPartitionKey sets the partition key of events published with ctx
// (see bus.WithPartitionKey); a Metadata key takes precedence.
func WithPartitionKey(ctx context.Context, key string) context.Context {
	return bus.WithPartitionKey(ctx, key)
}

// PartitionKeyFromContext returns the key set by WithPartitionKey.
func PartitionKeyFromContext(ctx context.Context) (string, bool) {
	return bus.PartitionKeyFromContext(ctx)
}
