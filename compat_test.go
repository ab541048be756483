package eventbus

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// The documented API (../shared/seeds/004_…), name by name, with the
// documented signatures: if any of these stops compiling, code written
// against the upstream documentation would too.
var (
	_ func() []string                                                                                = GetRegisteredEngines
	_ func() modular.Module                                                                          = NewModule
	_ func(string, EngineFactory)                                                                    = RegisterEngine
	_ func(*EventBusConfig) (*EngineRouter, error)                                                   = NewEngineRouter
	_ func(*EventBusConfig) *MemoryEventBus                                                          = NewMemoryEventBus
	_ func(map[string]interface{}) (EventBus, error)                                                 = NewCustomMemoryEventBus
	_ func(map[string]interface{}) (EventBus, error)                                                 = NewRedisEventBus
	_ func(map[string]interface{}) (EventBus, error)                                                 = NewKafkaEventBus
	_ func(map[string]interface{}) (EventBus, error)                                                 = NewKinesisEventBus
	_ func(*EventBusModule, string) *PrometheusCollector                                             = NewPrometheusCollector
	_ func(*EventBusModule, string, string, time.Duration, []string) (*DatadogStatsdExporter, error) = NewDatadogStatsdExporter
	_ EngineFactory                                                                                  = func(map[string]interface{}) (EventBus, error) { return nil, nil }
	_ EventHandler                                                                                   = func(context.Context, Event) error { return nil }

	// EventBusModule
	_ func(*EventBusModule) modular.ModuleConstructor                                    = (*EventBusModule).Constructor
	_ func(*EventBusModule) []string                                                     = (*EventBusModule).Dependencies
	_ func(*EventBusModule, context.Context, cloudevents.Event) error                    = (*EventBusModule).EmitEvent
	_ func(*EventBusModule) []string                                                     = (*EventBusModule).GetRegisteredEventTypes
	_ func(*EventBusModule) *EngineRouter                                                = (*EventBusModule).GetRouter
	_ func(*EventBusModule, modular.Application) error                                   = (*EventBusModule).Init
	_ func(*EventBusModule) string                                                       = (*EventBusModule).Name
	_ func(*EventBusModule) map[string]DeliveryStats                                     = (*EventBusModule).PerEngineStats
	_ func(*EventBusModule) []modular.ServiceProvider                                    = (*EventBusModule).ProvidesServices
	_ func(*EventBusModule, context.Context, string, interface{}) error                  = (*EventBusModule).Publish
	_ func(*EventBusModule, modular.Application) error                                   = (*EventBusModule).RegisterConfig
	_ func(*EventBusModule, modular.Subject) error                                       = (*EventBusModule).RegisterObservers
	_ func(*EventBusModule) []modular.ServiceDependency                                  = (*EventBusModule).RequiresServices
	_ func(*EventBusModule, context.Context) error                                       = (*EventBusModule).Start
	_ func(*EventBusModule) (uint64, uint64)                                             = (*EventBusModule).Stats
	_ func(*EventBusModule, context.Context) error                                       = (*EventBusModule).Stop
	_ func(*EventBusModule, context.Context, string, EventHandler) (Subscription, error) = (*EventBusModule).Subscribe
	_ func(*EventBusModule, context.Context, string, EventHandler) (Subscription, error) = (*EventBusModule).SubscribeAsync
	_ func(*EventBusModule, string) int                                                  = (*EventBusModule).SubscriberCount
	_ func(*EventBusModule) []string                                                     = (*EventBusModule).Topics
	_ func(*EventBusModule, context.Context, Subscription) error                         = (*EventBusModule).Unsubscribe

	// EngineRouter
	_ func(*EngineRouter) map[string]DeliveryStats = (*EngineRouter).CollectPerEngineStats
	_ func(*EngineRouter) (uint64, uint64)         = (*EngineRouter).CollectStats
	_ func(*EngineRouter, string) string           = (*EngineRouter).GetEngineForTopic
	_ func(*EngineRouter) []string                 = (*EngineRouter).GetEngineNames
	_ func(*EngineRouter, *EventBusModule)         = (*EngineRouter).SetModuleReference
	_ EventBus                                     = (*EngineRouter)(nil)

	// Engines and their extra methods
	_ EventBus                                                                                       = (*MemoryEventBus)(nil)
	_ func(*MemoryEventBus, *EventBusModule)                                                         = (*MemoryEventBus).SetModule
	_ func(*MemoryEventBus) (uint64, uint64)                                                         = (*MemoryEventBus).Stats
	_ EventBus                                                                                       = (*CustomMemoryEventBus)(nil)
	_ func(*CustomMemoryEventBus) *EventMetrics                                                      = (*CustomMemoryEventBus).GetMetrics
	_ EventBus                                                                                       = (*RedisEventBus)(nil)
	_ EventBus                                                                                       = (*KafkaEventBus)(nil)
	_ EventBus                                                                                       = (*KinesisEventBus)(nil)
	_ sarama.ConsumerGroupHandler                                                                    = (*KafkaConsumerGroupHandler)(nil)
	_ func(*KafkaConsumerGroupHandler, sarama.ConsumerGroupSession) error                            = (*KafkaConsumerGroupHandler).Setup
	_ func(*KafkaConsumerGroupHandler, sarama.ConsumerGroupSession) error                            = (*KafkaConsumerGroupHandler).Cleanup
	_ func(*KafkaConsumerGroupHandler, sarama.ConsumerGroupSession, sarama.ConsumerGroupClaim) error = (*KafkaConsumerGroupHandler).ConsumeClaim
	_ EventFilter                                                                                    = (*TopicPrefixFilter)(nil)

	// Exporters
	_ prometheus.Collector                          = (*PrometheusCollector)(nil)
	_ func(*DatadogStatsdExporter, context.Context) = (*DatadogStatsdExporter).Run
	_ func(*DatadogStatsdExporter) error            = (*DatadogStatsdExporter).Close

	// Config methods
	_ func(*EventBusConfig) string = (*EventBusConfig).GetDefaultEngine
	_ func(*EventBusConfig) bool   = (*EventBusConfig).IsMultiEngine
	_ func(*EventBusConfig) error  = (*EventBusConfig).ValidateConfig

	// Errors and constants
	_ = []error{ErrDuplicateEngineName, ErrUnknownEngineRef, ErrUnknownEngineType, ErrEngineNotFound, ErrSubscriptionNotFound,
		ErrEventBusNotStarted, ErrEventBusShutdownTimeout, ErrEventHandlerNil, ErrInvalidSubscriptionType, ErrInvalidShardCount,
		ErrNoSubjectForEventEmission}
	_ = []string{ModuleName, ServiceName, EventTypeMessagePublished, EventTypeMessageReceived, EventTypeMessageFailed,
		EventTypeTopicCreated, EventTypeTopicDeleted, EventTypeSubscriptionCreated, EventTypeSubscriptionRemoved,
		EventTypeBusStarted, EventTypeBusStopped, EventTypeConfigLoaded}
)

// Composite literals with the documented field names and types.
var (
	_ = Event{Topic: "t", Payload: 1, Metadata: map[string]interface{}{}, CreatedAt: time.Time{}, ProcessingStarted: (*time.Time)(nil), ProcessingCompleted: (*time.Time)(nil)}
	_ = DeliveryStats{Delivered: 1, Dropped: 2}
	_ = EngineConfig{Name: "n", Type: "memory", Config: map[string]interface{}{}}
	_ = RoutingRule{Topics: []string{"*"}, Engine: "n"}
	_ = RedisConfig{URL: "", DB: 0, Username: "", Password: "", PoolSize: 0}
	_ = KafkaConfig{Brokers: []string{}, GroupID: "", SecurityConfig: map[string]string{}, ProducerConfig: map[string]string{}, ConsumerConfig: map[string]string{}}
	_ = KinesisConfig{Region: "", StreamName: "", AccessKeyID: "", SecretAccessKey: "", SessionToken: "", ShardCount: int32(1)}
	_ = CustomMemoryConfig{MaxEventQueueSize: 1, DefaultEventBufferSize: 1, EnableMetrics: true, MetricsInterval: time.Second, EventFilters: []map[string]interface{}{}}
	_ = EventMetrics{TotalEvents: int64(1), EventsPerTopic: map[string]int64{}, AverageProcessingTime: time.Second, LastResetTime: time.Time{}}
	_ = TopicPrefixFilter{AllowedPrefixes: []string{}}
	_ = EventBusConfig{Engine: "", MaxEventQueueSize: 1, DefaultEventBufferSize: 1, WorkerCount: 1, DeliveryMode: "", PublishBlockTimeout: time.Second,
		RotateSubscriberOrder: true, EventTTL: time.Second, RetentionDays: 1, ExternalBrokerURL: "", ExternalBrokerUser: "", ExternalBrokerPassword: "",
		Engines: []EngineConfig{}, Routing: []RoutingRule{}}
)

func TestStructTagsMatchTheDocumentation(t *testing.T) {
	tests := []struct {
		typ  any
		tags map[string]string
	}{
		{Event{}, map[string]string{
			"Topic": `json:"topic"`, "Payload": `json:"payload"`, "Metadata": `json:"metadata,omitempty"`, "CreatedAt": `json:"createdAt"`,
			"ProcessingStarted": `json:"processingStarted,omitempty"`, "ProcessingCompleted": `json:"processingCompleted,omitempty"`}},
		{DeliveryStats{}, map[string]string{"Delivered": `json:"delivered" yaml:"delivered"`, "Dropped": `json:"dropped" yaml:"dropped"`}},
		{EngineConfig{}, map[string]string{
			"Name":   `json:"name" yaml:"name" validate:"required"`,
			"Type":   `json:"type" yaml:"type" validate:"required,oneof=memory redis kafka kinesis custom"`,
			"Config": `json:"config,omitempty" yaml:"config,omitempty"`}},
		{RoutingRule{}, map[string]string{"Topics": `json:"topics" yaml:"topics" validate:"required,min=1"`, "Engine": `json:"engine" yaml:"engine" validate:"required"`}},
		{EventBusConfig{}, map[string]string{
			"Engine":                 `json:"engine,omitempty" yaml:"engine,omitempty" validate:"omitempty,oneof=memory redis kafka kinesis" env:"ENGINE"`,
			"MaxEventQueueSize":      `json:"maxEventQueueSize,omitempty" yaml:"maxEventQueueSize,omitempty" validate:"omitempty,min=1" env:"MAX_EVENT_QUEUE_SIZE"`,
			"DefaultEventBufferSize": `json:"defaultEventBufferSize,omitempty" yaml:"defaultEventBufferSize,omitempty" validate:"omitempty,min=1" env:"DEFAULT_EVENT_BUFFER_SIZE"`,
			"WorkerCount":            `json:"workerCount,omitempty" yaml:"workerCount,omitempty" validate:"omitempty,min=1" env:"WORKER_COUNT"`,
			"DeliveryMode":           `json:"deliveryMode,omitempty" yaml:"deliveryMode,omitempty" validate:"omitempty,oneof=drop block timeout" env:"DELIVERY_MODE"`,
			"PublishBlockTimeout":    `json:"publishBlockTimeout,omitempty" yaml:"publishBlockTimeout,omitempty" env:"PUBLISH_BLOCK_TIMEOUT"`,
			"RotateSubscriberOrder":  `json:"rotateSubscriberOrder,omitempty" yaml:"rotateSubscriberOrder,omitempty" env:"ROTATE_SUBSCRIBER_ORDER"`,
			"EventTTL":               `json:"eventTTL,omitempty" yaml:"eventTTL,omitempty" env:"EVENT_TTL" default:"3600s"`,
			"RetentionDays":          `json:"retentionDays,omitempty" yaml:"retentionDays,omitempty" validate:"omitempty,min=1" env:"RETENTION_DAYS"`,
			"ExternalBrokerURL":      `json:"externalBrokerURL,omitempty" yaml:"externalBrokerURL,omitempty" env:"EXTERNAL_BROKER_URL"`,
			"ExternalBrokerUser":     `json:"externalBrokerUser,omitempty" yaml:"externalBrokerUser,omitempty" env:"EXTERNAL_BROKER_USER"`,
			"ExternalBrokerPassword": `json:"externalBrokerPassword,omitempty" yaml:"externalBrokerPassword,omitempty" env:"EXTERNAL_BROKER_PASSWORD"`,
			"Engines":                `json:"engines,omitempty" yaml:"engines,omitempty" validate:"dive"`,
			"Routing":                `json:"routing,omitempty" yaml:"routing,omitempty" validate:"dive"`}},
		{RedisConfig{}, map[string]string{"URL": `json:"url"`, "DB": `json:"db"`, "Username": `json:"username"`, "Password": `json:"password"`, "PoolSize": `json:"poolSize"`}},
		{KafkaConfig{}, map[string]string{"Brokers": `json:"brokers"`, "GroupID": `json:"groupId"`, "SecurityConfig": `json:"security"`,
			"ProducerConfig": `json:"producer"`, "ConsumerConfig": `json:"consumer"`}},
		{KinesisConfig{}, map[string]string{"Region": `json:"region"`, "StreamName": `json:"streamName"`, "AccessKeyID": `json:"accessKeyId"`,
			"SecretAccessKey": `json:"secretAccessKey"`, "SessionToken": `json:"sessionToken"`, "ShardCount": `json:"shardCount"`}},
		{CustomMemoryConfig{}, map[string]string{"MaxEventQueueSize": `json:"maxEventQueueSize"`, "DefaultEventBufferSize": `json:"defaultEventBufferSize"`,
			"EnableMetrics": `json:"enableMetrics"`, "MetricsInterval": `json:"metricsInterval"`, "EventFilters": `json:"eventFilters"`}},
		{EventMetrics{}, map[string]string{"TotalEvents": `json:"totalEvents"`, "EventsPerTopic": `json:"eventsPerTopic"`,
			"AverageProcessingTime": `json:"averageProcessingTime"`, "LastResetTime": `json:"lastResetTime"`}},
	}
	for _, tc := range tests {
		typ := reflect.TypeOf(tc.typ)
		for field, want := range tc.tags {
			f, ok := typ.FieldByName(field)
			if !ok {
				t.Errorf("%s has no field %s", typ.Name(), field)
				continue
			}
			if string(f.Tag) != want {
				t.Errorf("%s.%s tag = `%s`, want `%s`", typ.Name(), field, f.Tag, want)
			}
		}
	}
}
