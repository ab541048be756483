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
package eventbus
