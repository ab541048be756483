package eventbus

import (
	"context"
	"errors"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// foreignSubscription is a subscription no engine or router created.
type foreignSubscription struct{}

func (foreignSubscription) Topic() string { return "foreign" }
func (foreignSubscription) ID() string    { return "foreign-subscription" }
func (foreignSubscription) IsAsync() bool { return false }
func (foreignSubscription) Cancel() error { return nil }

// TestDocumentedErrorsCompareWithEqualsOnTheRouterAndTheModule checks,
// with == as code written for upstream does, the router and module paths
// where upstream returned its documented error values bare. The engine
// paths are checked on every engine by the conformance suite
// (eventbustest, "documented errors are returned as the values
// themselves"), which the router, the module and the custom engine run
// too (conformance_test.go, custom_test.go).
func TestDocumentedErrorsCompareWithEqualsOnTheRouterAndTheModule(t *testing.T) {
	ctx := context.Background()
	noop := func(context.Context, Event) error { return nil }
	router := newRouter(t, &EventBusConfig{Engine: "memory"})
	other := newRouter(t, &EventBusConfig{Engine: "memory"})
	for _, r := range []*EngineRouter{router, other} {
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Stop(ctx) })
	}
	othersSub, err := other.Subscribe(ctx, "x", noop)
	if err != nil {
		t.Fatal(err)
	}
	stopped := newTestModule(t, &EventBusConfig{})
	running := newTestModule(t, &EventBusConfig{Engine: "custom"})
	if err := running.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = running.Stop(ctx) })

	cases := []struct {
		name string
		call func() error
		want error
	}{
		{"router Unsubscribe of a subscription no engine owns", func() error { return router.Unsubscribe(ctx, foreignSubscription{}) }, ErrSubscriptionNotFound},
		{"router Unsubscribe of another router's subscription", func() error { return router.Unsubscribe(ctx, othersSub) }, ErrSubscriptionNotFound},
		{"router Unsubscribe of nil", func() error { return router.Unsubscribe(ctx, nil) }, ErrSubscriptionNotFound},
		{"router Subscribe with a nil handler", func() error { _, err := router.Subscribe(ctx, "x", nil); return err }, ErrEventHandlerNil},
		{"module EmitEvent without an observer subject", func() error { return stopped.EmitEvent(ctx, cloudevents.NewEvent()) }, ErrNoSubjectForEventEmission},
		{"module Publish before Start", func() error { return stopped.Publish(ctx, "x", 1) }, ErrEventBusNotStarted},
		{"module Subscribe before Start", func() error { _, err := stopped.Subscribe(ctx, "x", noop); return err }, ErrEventBusNotStarted},
		{"module SubscribeAsync with a nil handler", func() error { _, err := running.SubscribeAsync(ctx, "x", nil); return err }, ErrEventHandlerNil},
		{"module Unsubscribe of a subscription no engine owns", func() error { return running.Unsubscribe(ctx, foreignSubscription{}) }, ErrSubscriptionNotFound},
		{"custom engine Unsubscribe of another engine's subscription", func() error {
			custom, err := running.GetRouter().Engine(DefaultEngineName)
			if err != nil {
				return err
			}
			return custom.Unsubscribe(ctx, othersSub)
		}, ErrInvalidSubscriptionType},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != tc.want {
				t.Errorf("got %v (%T), want the value %q itself (== fails)", err, err, tc.want)
			}
		})
	}
}

// TestErrorsUpstreamWrappedStayWrappedWithContext pins the documented
// errors upstream itself returned wrapped (naming the engine, field or
// value): ours wrap them too, with the field path, so errors.Is holds and
// == does not, exactly as on upstream.
func TestErrorsUpstreamWrappedStayWrappedWithContext(t *testing.T) {
	cases := []struct {
		name string
		err  func() error
		want error
	}{
		{"a duplicate engine name", func() error {
			return (&EventBusConfig{Engines: []EngineConfig{{Name: "a", Type: "memory"}, {Name: "a", Type: "memory"}}}).ValidateConfig()
		}, ErrDuplicateEngineName},
		{"a routing rule naming no engine", func() error {
			return (&EventBusConfig{Engines: []EngineConfig{{Name: "a", Type: "memory"}}, Routing: []RoutingRule{{Topics: []string{"x"}, Engine: "b"}}}).ValidateConfig()
		}, ErrUnknownEngineRef},
		{"an unknown engine type", func() error { return (&EventBusConfig{Engine: "nope"}).ValidateConfig() }, ErrUnknownEngineType},
		{"an engine name the router does not have", func() error {
			_, err := newRouter(t, &EventBusConfig{}).Engine("nope")
			return err
		}, ErrEngineNotFound},
		{"a shard count below one", func() error {
			_, err := NewEngineRouter(&EventBusConfig{Engines: []EngineConfig{{Name: "k", Type: "kinesis", Config: map[string]interface{}{"shardCount": -1, "region": "us-east-1", "streamName": "s"}}}})
			return err
		}, ErrInvalidShardCount},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want an error wrapping %q", err, tc.want)
			}
			if err == tc.want {
				t.Errorf("got the bare value %q: the error should name what was wrong", err)
			}
		})
	}
}

// TestPublishAfterAppStopMatchesNotStartedAndDraining: modular's Stop
// calls PreStop (draining) then Stop; a later Publish is refused with an
// error that matches ErrEventBusNotStarted, as README and
// docs/getting-started.md say, and still matches ErrDraining.
func TestPublishAfterAppStopMatchesNotStartedAndDraining(t *testing.T) {
	app := newApp(t, "eventbus:\n  engine: memory\n", false)
	if err := app.Init(); err != nil {
		t.Fatal(err)
	}
	var eb *EventBusModule
	if err := app.GetService(ServiceName, &eb); err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(); err != nil {
		t.Fatal(err)
	}
	err := eb.Publish(context.Background(), "late", 1)
	if !errors.Is(err, ErrEventBusNotStarted) {
		t.Errorf("Publish after app.Stop() = %v: errors.Is(err, ErrEventBusNotStarted) is false", err)
	}
	if !errors.Is(err, ErrDraining) {
		t.Errorf("Publish after app.Stop() = %v: errors.Is(err, ErrDraining) is false", err)
	}
}
