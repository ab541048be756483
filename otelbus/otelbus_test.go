package otelbus_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/eventbustest"
	"github.com/switchyard-go/eventbus/otelbus"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newTracer(t *testing.T) (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return tp, rec
}

func newTraced(t *testing.T, opts ...otelbus.Option) *otelbus.EventBus {
	t.Helper()
	inner, err := memory.NewEventBus(memory.Config{})
	if err != nil {
		t.Fatal(err)
	}
	b := otelbus.Wrap(inner, opts...)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Stop(context.Background()) })
	return b
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		out[kv.Key] = kv.Value.String()
	}
	return out
}

func spanNamed(t *testing.T, rec *tracetest.SpanRecorder, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, s := range rec.Ended() {
			if s.Name() == name {
				return s
			}
		}
		if time.Now().After(deadline) {
			var names []string
			for _, s := range rec.Ended() {
				names = append(names, s.Name())
			}
			t.Fatalf("no ended span %q (have %v)", name, names)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestPublishAndProcessSpansFollowTheMessagingConventions(t *testing.T) {
	tp, rec := newTracer(t)
	b := newTraced(t, otelbus.WithTracerProvider(tp), otelbus.WithSystem("switchyard"))
	ctx := context.Background()
	got := make(chan trace.SpanContext, 1)
	if _, err := b.SubscribeAsync(ctx, "orders.*", func(ctx context.Context, e bus.Event) error {
		got <- trace.SpanContextFromContext(ctx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	parentCtx, parent := tp.Tracer("test").Start(ctx, "checkout")
	callerMeta := map[string]any{"source": "web"}
	if err := b.Publish(parentCtx, bus.Event{Topic: "orders.placed", Metadata: callerMeta}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	handlerSpan := <-got

	send := spanNamed(t, rec, "send orders.placed")
	process := spanNamed(t, rec, "process orders.placed")
	if send.SpanKind() != trace.SpanKindProducer || process.SpanKind() != trace.SpanKindConsumer {
		t.Errorf("kinds: send %v, process %v", send.SpanKind(), process.SpanKind())
	}
	if send.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Errorf("send span is not a child of the publisher's span")
	}
	if process.Parent().SpanID() != send.SpanContext().SpanID() || process.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Errorf("process span is not a child of the send span in the same trace")
	}
	if handlerSpan.SpanID() != process.SpanContext().SpanID() {
		t.Errorf("the handler's context does not carry the process span")
	}
	for span, want := range map[sdktrace.ReadOnlySpan]map[attribute.Key]string{
		send: {"messaging.system": "switchyard", "messaging.destination.name": "orders.placed", "messaging.operation.type": "send"},
		process: {"messaging.system": "switchyard", "messaging.destination.name": "orders.placed",
			"messaging.operation.type": "process", "messaging.destination.subscription.name": "orders.*"},
	} {
		a := attrs(span)
		for k, v := range want {
			if a[k] != v {
				t.Errorf("%s: %s = %q, want %q", span.Name(), k, a[k], v)
			}
		}
	}
	if len(callerMeta) != 1 {
		t.Errorf("Publish modified the caller's Metadata: %v", callerMeta)
	}
}

func TestFailingAndPanickingHandlersMarkTheirSpans(t *testing.T) {
	tp, rec := newTracer(t)
	b := newTraced(t, otelbus.WithTracerProvider(tp))
	ctx := context.Background()
	handled := make(chan struct{}, 2)
	if _, err := b.Subscribe(ctx, "pay.*", func(_ context.Context, e bus.Event) error {
		defer func() { handled <- struct{}{} }()
		if e.Topic == "pay.panic" {
			panic("boom")
		}
		return errors.New("card declined")
	}); err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{"pay.error", "pay.panic"} {
		if err := b.Publish(ctx, bus.Event{Topic: topic}); err != nil {
			t.Fatal(err)
		}
		<-handled
	}
	for name, errType := range map[string]string{"process pay.error": "*errors.errorString", "process pay.panic": "panic"} {
		s := spanNamed(t, rec, name)
		if s.Status().Code != codes.Error || attrs(s)["error.type"] != errType {
			t.Errorf("%s: status %v, error.type %q; want Error and %q", name, s.Status(), attrs(s)["error.type"], errType)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if s := b.EngineStats(); s.Failed != 2 || s.Panics != 1 {
		t.Errorf("the wrapped engine counted %+v, want 2 failures, 1 panic", s)
	}
}

func TestARefusedPublishMarksTheSendSpan(t *testing.T) {
	tp, rec := newTracer(t)
	b := newTraced(t, otelbus.WithTracerProvider(tp))
	if err := b.Publish(context.Background(), bus.Event{Topic: "a.*"}); err == nil {
		t.Fatal("publishing to a pattern was accepted")
	}
	if s := spanNamed(t, rec, "send a.*"); s.Status().Code != codes.Error {
		t.Fatalf("status %v, want Error", s.Status())
	}
}

// The wrapper is itself an engine: it must pass the conformance suite.
// With the default propagator it rewrites traceparent to its own send
// span (by design: the process span continues the send span), which the
// suite's "Metadata reaches handlers unchanged" check would flag; with a
// baggage-only propagator it must pass Metadata through untouched.
func TestWrappedEnginePassesTheConformanceSuite(t *testing.T) {
	tp, _ := newTracer(t)
	eventbustest.Run(t, eventbustest.Config{New: func(t *testing.T) bus.EventBus {
		inner, err := memory.NewEventBus(memory.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return otelbus.Wrap(inner, otelbus.WithTracerProvider(tp), otelbus.WithPropagator(propagation.Baggage{}))
	}})
}

func TestAnEventThatAlreadyCarriesATraceKeepsItsTraceID(t *testing.T) {
	tp, rec := newTracer(t)
	b := newTraced(t, otelbus.WithTracerProvider(tp))
	const upstream = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	got := make(chan bus.Event, 1)
	if _, err := b.Subscribe(context.Background(), "relay", func(_ context.Context, e bus.Event) error { got <- e; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), bus.Event{Topic: "relay", Metadata: map[string]any{"traceparent": upstream}}); err != nil {
		t.Fatal(err)
	}
	e := <-got
	send := spanNamed(t, rec, "send relay")
	if send.SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || send.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("send span %v (parent %v) does not continue the upstream trace", send.SpanContext(), send.Parent())
	}
	if tp, _ := e.Metadata["traceparent"].(string); tp == upstream || len(tp) != len(upstream) {
		t.Fatalf("delivered traceparent %q, want the send span's context", tp)
	}
}

func TestWrapFactoryTracesEveryEngineTheModuleBuilds(t *testing.T) {
	tp, rec := newTracer(t)
	eventbus.RegisterEngine("otelbus-test-memory", otelbus.WrapFactory(memory.New, otelbus.WithTracerProvider(tp)))
	router, err := eventbus.NewEngineRouter(&eventbus.EventBusConfig{Engine: "otelbus-test-memory"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := router.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer router.Stop(ctx)
	done := make(chan struct{})
	if _, err := router.Subscribe(ctx, "x", func(context.Context, bus.Event) error { close(done); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := router.Publish(ctx, bus.Event{Topic: "x"}); err != nil {
		t.Fatal(err)
	}
	<-done
	spanNamed(t, rec, "process x")
	if per := router.CollectEngineStats(); per["default"].Published != 1 {
		t.Errorf("engine stats through the wrapper: %+v", per)
	}
	if _, err := otelbus.WrapFactory(memory.New)(map[string]any{"workerCount": -1}); err == nil {
		t.Errorf("a factory error was swallowed")
	}
	names := []string{}
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	if !slices.Contains(names, "send x") {
		t.Errorf("spans %v lack send x", names)
	}
}

// Baggage round-trips through a map inside the propagator, so a naive
// re-inject reorders its members. The wrapper must hand handlers the
// publisher's baggage text byte for byte when its meaning is unchanged,
// and the new text when the publisher's context carries other baggage.
func TestBaggageTextIsKeptWhenItsMeaningIsUnchanged(t *testing.T) {
	tp, _ := newTracer(t)
	b := newTraced(t, otelbus.WithTracerProvider(tp))
	got := make(chan bus.Event, 64)
	if _, err := b.Subscribe(context.Background(), "bag", func(_ context.Context, e bus.Event) error { got <- e; return nil }); err != nil {
		t.Fatal(err)
	}
	const text = "userId=alice,serverNode=DF%2028,tenant=t1;prio=high,region=eu"
	for i := 0; i < 32; i++ { // map order varies per run; 32 tries make a reorder near-certain
		if err := b.Publish(context.Background(), bus.Event{Topic: "bag", Metadata: map[string]any{"baggage": text}}); err != nil {
			t.Fatal(err)
		}
		if e := <-got; e.Metadata["baggage"] != text {
			t.Fatalf("try %d: baggage %q, want the publisher's text %q", i, e.Metadata["baggage"], text)
		}
	}

	m, err := baggage.NewMember("userId", "carol")
	if err != nil {
		t.Fatal(err)
	}
	bg, err := baggage.New(m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := baggage.ContextWithBaggage(context.Background(), bg)
	ctx, span := tp.Tracer("test").Start(ctx, "caller")
	defer span.End()
	if err := b.Publish(ctx, bus.Event{Topic: "bag", Metadata: map[string]any{"baggage": text}}); err != nil {
		t.Fatal(err)
	}
	if e := <-got; e.Metadata["baggage"] != "userId=carol" {
		t.Fatalf("baggage %q, want the publisher context's %q", e.Metadata["baggage"], "userId=carol")
	}
}

func TestAFilteredEventIsNotAFailedSpan(t *testing.T) {
	tp, rec := newTracer(t)
	b := newTraced(t, otelbus.WithTracerProvider(tp))
	ctx := context.Background()
	if _, err := b.Subscribe(ctx, "pay.*", bus.FilteredHandler(bus.Eq("ok", true), func(context.Context, bus.Event) error { return nil })); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(ctx, bus.Event{Topic: "pay.skip", Payload: map[string]any{"ok": false}}); err != nil {
		t.Fatal(err)
	}
	s := spanNamed(t, rec, "process pay.skip")
	if s.Status().Code == codes.Error || attrs(s)["eventbus.filtered"] != "true" {
		t.Errorf("span of a filtered event: status %v, attributes %v; want no error and eventbus.filtered=true", s.Status(), attrs(s))
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := b.EngineStats(); st.Filtered != 1 || st.Failed != 0 {
		t.Errorf("the wrapped engine counted %+v, want 1 filtered, 0 failed", st)
	}
	if _, err := b.Poll(ctx, "pay.*", bus.ConsumeRequest{Limit: 1}); !errors.Is(err, bus.ErrPollUnsupported) {
		t.Errorf("Poll through the wrapper of the memory engine: %v, want ErrPollUnsupported", err)
	}
}
