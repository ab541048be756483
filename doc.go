// Package eventbus is Switchyard: an event bus module for the
// GoCodeAlone/modular framework, API-compatible with the upstream modular
// eventbus package and built to beat it.
//
//	app.RegisterModule(eventbus.NewModule())
//
// registers the module; it reads the "eventbus" config section (YAML,
// JSON, TOML or EVENTBUS_* environment variables), builds an EngineRouter
// over one or more engines, and provides itself as the service
// "eventbus.provider".
//
// Engines: "sharded" (the default; a lock-free sharded ring engine),
// "memory" (the channel engine of the upstream design), and the broker
// engines "redis" (Streams), "kafka" and "kinesis" as they are registered.
// Routing rules map topic patterns to named engines; the first match wins.
//
// Differences from upstream that users can rely on: delivery is lossless
// by default (publishers wait for room; drops happen only in modes the
// user chose, and are counted and returned); Stop delivers every accepted
// event; handler panics are recovered and counted; subscriptions survive a
// restart; handler contexts carry the publisher's values; calling the
// module before Init returns an error instead of panicking.
//
// The shared types (Event, EventHandler, Subscription, EventBus,
// DeliveryStats) are aliases of package bus, so engines and applications
// share them without import cycles. Package eventbustest is the
// conformance suite for third-party engines.
//
// Figures: the module has five stats accessors, all zero or empty before
// Init. Stats (delivered and dropped summed over the engines) and
// PerEngineStats (the same two counts by engine name) are the upstream
// API. EngineStats gives every figure by engine name (published, failed,
// retried, dead-lettered, queue depth, lag, handler latency…): read it for
// dashboards and alerts. EngineTopicStats gives TopicStats by engine name
// then published topic, bounded by each engine's topicLimit (default
// bus.DefaultTopicLimit, the rest under OtherTopic). CollectMetrics is the
// modular.MetricsProvider view: the same figures as a flat map of floats.
// The exporters (PrometheusCollector, DatadogStatsdExporter) read
// PerEngineStats, EngineStats and EngineTopicStats; docs/observability.md
// lists what they export.
package eventbus
