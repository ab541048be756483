// Package custom is the "custom" engine: the worked example of a
// third-party engine, built by composition over the memory engine. It
// applies event filters on publish (TopicPrefixFilter) and measures
// EventMetrics around every handler, and it passes the conformance suite
// in package eventbustest.
//
// It imports only the contract (package bus) and the memory engine, as a
// third-party engine would; the root package registers it as engine type
// "custom" and re-exports its names (CustomMemoryEventBus,
// CustomMemoryConfig, EventMetrics, EventFilter, TopicPrefixFilter) for
// the upstream API.
package custom
