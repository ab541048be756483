// Package bus is the contract every Switchyard engine shares: the Event
// value, the EventHandler and Subscription types, the EventBus interface,
// topic-pattern matching, delivery statistics, the observer hook and the
// sentinel errors callers branch on.
//
// It imports nothing of this module, so engines (engines/<name>) and the
// root package (github.com/switchyard-go/eventbus, which re-exports these
// names with type aliases) can both depend on it without an import cycle.
//
// The conformance suite in package eventbustest checks that an engine
// honours every guarantee documented here.
package bus
