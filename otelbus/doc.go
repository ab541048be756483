// Package otelbus adds OpenTelemetry tracing to any Switchyard engine, by
// wrapping it: Publish runs in a "send" span (kind producer) whose
// context is injected into the event's Metadata as a W3C traceparent
// (and baggage), and every handler call runs in a "process" span (kind
// consumer) that continues the trace extracted from the Metadata. Span
// names and attributes follow the OpenTelemetry messaging semantic
// conventions (messaging.system, messaging.destination.name,
// messaging.operation.type send/process, error.type).
//
// It lives in its own package so that the core module's users who do not
// trace never link OpenTelemetry. The conformance suite checks that every
// engine carries the traceparent Metadata key intact, in process and over
// each broker's wire format, so the trace continues across engines.
//
// Use it on an engine directly:
//
//	traced := otelbus.Wrap(engine, otelbus.WithTracerProvider(tp))
//
// or for every engine of a type the module builds:
//
//	eventbus.RegisterEngine("traced-memory", otelbus.WrapFactory(memory.New, otelbus.WithTracerProvider(tp)))
//
// Cost: tracing is opt-in; a wrapped Publish allocates (the span, and a
// copy of Metadata with the trace context, so the caller's map is never
// modified). Unwrapped engines pay nothing.
package otelbus
