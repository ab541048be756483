package otelbus

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/switchyard-go/eventbus/bus"
)

// ScopeName is the instrumentation scope of the tracer.
const ScopeName = "github.com/switchyard-go/eventbus/otelbus"

// DefaultSystem is the messaging.system attribute value unless
// WithSystem says otherwise.
const DefaultSystem = "switchyard"

// Option configures Wrap.
type Option func(*config)

type config struct {
	tp     trace.TracerProvider
	prop   propagation.TextMapPropagator
	system string
}

// WithTracerProvider sets the tracer provider. Default: the global one
// (otel.GetTracerProvider()).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) {
		if tp != nil {
			c.tp = tp
		}
	}
}

// WithPropagator sets how the trace context is written to and read from
// Metadata. Default: W3C Trace Context plus W3C Baggage (the Metadata keys
// "traceparent", "tracestate" and "baggage"), whatever the global
// propagator is, because an engine's consumers must agree on the format.
func WithPropagator(p propagation.TextMapPropagator) Option {
	return func(c *config) {
		if p != nil {
			c.prop = p
		}
	}
}

// WithSystem sets the messaging.system attribute (for example "kafka"
// when wrapping the Kafka engine). Default: DefaultSystem.
func WithSystem(name string) Option {
	return func(c *config) {
		if name != "" {
			c.system = name
		}
	}
}

// EventBus is a traced engine: a bus.EventBus that delegates to the
// wrapped one. It also forwards the optional interfaces the module and
// the exporters look for (bus.StatsProvider, bus.EngineStatsProvider,
// bus.TopicStatsProvider, bus.Flusher, bus.Observable); when the wrapped
// engine lacks one, the forwarded method reports zeros, returns nil or
// does nothing. All methods are safe for concurrent use.
type EventBus struct {
	inner  bus.EventBus
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
	system attribute.KeyValue
}

var (
	_ bus.EventBus            = (*EventBus)(nil)
	_ bus.StatsProvider       = (*EventBus)(nil)
	_ bus.EngineStatsProvider = (*EventBus)(nil)
	_ bus.TopicStatsProvider  = (*EventBus)(nil)
	_ bus.Flusher             = (*EventBus)(nil)
	_ bus.Observable          = (*EventBus)(nil)
)

// Wrap returns inner with tracing. Options are resolved once, here.
func Wrap(inner bus.EventBus, opts ...Option) *EventBus {
	c := config{
		tp:     otel.GetTracerProvider(),
		prop:   propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		system: DefaultSystem,
	}
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return &EventBus{
		inner:  inner,
		tracer: c.tp.Tracer(ScopeName),
		prop:   c.prop,
		system: semconv.MessagingSystemKey.String(c.system),
	}
}

// WrapFactory wraps an engine factory (memory.New, a broker engine's New,
// …) so that every engine it builds is traced. The result can be passed to
// eventbus.RegisterEngine.
func WrapFactory(factory func(map[string]any) (bus.EventBus, error), opts ...Option) func(map[string]any) (bus.EventBus, error) {
	return func(cfg map[string]any) (bus.EventBus, error) {
		b, err := factory(cfg)
		if err != nil {
			return nil, err
		}
		return Wrap(b, opts...), nil
	}
}

// Unwrap returns the wrapped engine.
func (t *EventBus) Unwrap() bus.EventBus { return t.inner }

// Publish runs the wrapped Publish in a "send <topic>" producer span and
// injects the span's context into a copy of event.Metadata, replacing a
// trace context the event already carried. The send span's parent is the
// span in ctx or, when ctx has none, the trace context in event.Metadata
// (an event relayed from elsewhere keeps its trace).
func (t *EventBus) Publish(ctx context.Context, event bus.Event) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if !trace.SpanContextFromContext(ctx).IsValid() && len(event.Metadata) > 0 {
		ctx = t.prop.Extract(ctx, metadataCarrier(event.Metadata))
	}
	ctx, span := t.tracer.Start(ctx, "send "+event.Topic,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(t.system,
			semconv.MessagingDestinationName(event.Topic),
			semconv.MessagingOperationTypeSend,
			semconv.MessagingOperationName("publish")))
	defer span.End()
	event.Metadata = t.inject(ctx, event.Metadata)
	err := t.inner.Publish(ctx, event)
	if err != nil {
		fail(span, err)
	}
	return err
}

// inject returns a copy of meta carrying ctx's propagated fields. A field
// whose new value means the same as the one meta already held keeps the
// original text: W3C Baggage, for one, round-trips through a map, so
// re-encoding it would reorder its members and change bytes a consumer
// (or a signature over the metadata) may compare.
func (t *EventBus) inject(ctx context.Context, meta map[string]any) map[string]any {
	fields := make(metadataCarrier, 3)
	t.prop.Inject(ctx, fields)
	out := make(map[string]any, len(meta)+len(fields))
	for k, v := range meta {
		out[k] = v
	}
	for k, v := range fields {
		if old, ok := meta[k].(string); ok && k == baggageKey && sameBaggage(old, v.(string)) {
			continue
		}
		out[k] = v
	}
	return out
}

// baggageKey is the W3C Baggage header the default propagator writes.
const baggageKey = "baggage"

// sameBaggage reports whether two W3C Baggage strings hold the same
// members with the same values and properties, in any order.
func sameBaggage(a, b string) bool {
	if a == b {
		return true
	}
	ba, errA := baggage.Parse(a)
	bb, errB := baggage.Parse(b)
	if errA != nil || errB != nil || ba.Len() != bb.Len() {
		return false
	}
	for _, m := range ba.Members() {
		if bb.Member(m.Key()).String() != m.String() {
			return false
		}
	}
	return true
}

// Subscribe registers handler, traced, on the wrapped engine.
func (t *EventBus) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return t.inner.Subscribe(ctx, topic, t.traced(topic, handler))
}

// SubscribeAsync registers handler, traced, on the wrapped engine.
func (t *EventBus) SubscribeAsync(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return t.inner.SubscribeAsync(ctx, topic, t.traced(topic, handler))
}

// traced runs handler in a "process <topic>" consumer span whose parent
// is the trace context found in the event's Metadata, or else the one in
// the handler's context (in-process engines pass the publisher's context
// values). A nil handler stays nil so the engine rejects it.
func (t *EventBus) traced(pattern string, handler bus.EventHandler) bus.EventHandler {
	if handler == nil {
		return nil
	}
	return func(ctx context.Context, event bus.Event) (err error) {
		ctx = t.prop.Extract(ctx, metadataCarrier(event.Metadata))
		ctx, span := t.tracer.Start(ctx, "process "+event.Topic,
			trace.WithSpanKind(trace.SpanKindConsumer),
			trace.WithAttributes(t.system,
				semconv.MessagingDestinationName(event.Topic),
				semconv.MessagingDestinationSubscriptionName(pattern),
				semconv.MessagingOperationTypeProcess,
				semconv.MessagingOperationName("process")))
		defer func() {
			// The engine recovers handler panics; record and end the span
			// first, then let the panic continue to it.
			if r := recover(); r != nil {
				span.SetStatus(codes.Error, "handler panicked")
				span.SetAttributes(semconv.ErrorTypeKey.String("panic"))
				span.End()
				panic(r)
			}
			switch {
			case bus.IsFiltered(err):
				// The subscription's filter rejected the event
				// (bus.FilteredHandler): not a failure.
				span.SetAttributes(attribute.Bool("eventbus.filtered", true))
			case err != nil:
				fail(span, err)
			}
			span.End()
		}()
		return handler(ctx, event)
	}
}

func fail(span trace.Span, err error) {
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
	span.SetAttributes(semconv.ErrorType(err))
}

// Start starts the wrapped engine.
func (t *EventBus) Start(ctx context.Context) error { return t.inner.Start(ctx) }

// Stop stops the wrapped engine.
func (t *EventBus) Stop(ctx context.Context) error { return t.inner.Stop(ctx) }

// Unsubscribe removes a subscription of the wrapped engine (the
// subscriptions Subscribe returns are the wrapped engine's own).
func (t *EventBus) Unsubscribe(ctx context.Context, s bus.Subscription) error {
	return t.inner.Unsubscribe(ctx, s)
}

// Topics returns the wrapped engine's topics.
func (t *EventBus) Topics() []string { return t.inner.Topics() }

// SubscriberCount returns the wrapped engine's count.
func (t *EventBus) SubscriberCount(topic string) int { return t.inner.SubscriberCount(topic) }

// Stats forwards bus.StatsProvider (zeros when the engine lacks it).
func (t *EventBus) Stats() (delivered uint64, dropped uint64) {
	if s, ok := t.inner.(bus.StatsProvider); ok {
		return s.Stats()
	}
	return 0, 0
}

// EngineStats forwards bus.EngineStatsProvider (zeros when the engine
// lacks it).
func (t *EventBus) EngineStats() bus.EngineStats {
	if s, ok := t.inner.(bus.EngineStatsProvider); ok {
		return s.EngineStats()
	}
	return bus.EngineStats{}
}

// TopicStats forwards bus.TopicStatsProvider (an empty map when the
// engine lacks it).
func (t *EventBus) TopicStats() map[string]bus.TopicStats {
	if s, ok := t.inner.(bus.TopicStatsProvider); ok {
		return s.TopicStats()
	}
	return map[string]bus.TopicStats{}
}

// Poll forwards bus.Poller; an engine that cannot poll gives an error
// wrapping bus.ErrPollUnsupported. Polls are not traced.
func (t *EventBus) Poll(ctx context.Context, topic string, req bus.ConsumeRequest) (bus.ConsumeResponse, error) {
	if p, ok := t.inner.(bus.Poller); ok {
		return p.Poll(ctx, topic, req)
	}
	return bus.ConsumeResponse{}, fmt.Errorf("otelbus: wrapped engine %T: %w", t.inner, bus.ErrPollUnsupported)
}

// Flush forwards bus.Flusher (nil at once when the engine lacks it, as
// the router does for such engines).
func (t *EventBus) Flush(ctx context.Context) error {
	if f, ok := t.inner.(bus.Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

// SetObserver forwards bus.Observable (nothing when the engine lacks it).
func (t *EventBus) SetObserver(o bus.Observer) {
	if ob, ok := t.inner.(bus.Observable); ok {
		ob.SetObserver(o)
	}
}

// metadataCarrier lets a propagator read and write Event.Metadata. Only
// string values are read: the trace headers are strings on every engine
// (the conformance suite checks it).
type metadataCarrier map[string]any

func (m metadataCarrier) Get(key string) string {
	if s, ok := m[key].(string); ok {
		return s
	}
	return ""
}

func (m metadataCarrier) Set(key, value string) { m[key] = value }

func (m metadataCarrier) Keys() []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
