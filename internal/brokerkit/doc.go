// Package brokerkit is the plumbing Switchyard's broker engines (Redis
// Streams, Kafka, Kinesis) share, so that they behave the same way: the
// CloudEvents wire codec (binary and structured content modes, the
// Metadata key ↔ extension name mapping), the Dispatcher that runs a
// handler with retries, dead-lettering, ack modes, panic recovery and
// counters, the in-flight Limiter, the Epochs that make Flush a barrier,
// the Counters behind bus.EngineStats, and URL/secret redaction for
// error messages.
//
// It is internal: application code uses package broker (options, ack,
// delivery attributes, DecodePayload), whose package documentation also
// describes the wire format this package implements.
package brokerkit
