package core

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchyard-go/eventbus/engines/memory"
)

func TestRoutingRulesFirstMatchWinsAndDefaultCatchesTheRest(t *testing.T) {
	r := newRouter(t, &EventBusConfig{
		Engines: []EngineConfig{{Name: "fallback", Type: "memory"}, {Name: "users", Type: "memory"}, {Name: "orders", Type: "memory"}, {Name: "everything", Type: "memory"}},
		Routing: []RoutingRule{
			{Topics: []string{"user.*", "auth.login"}, Engine: "users"},
			{Topics: []string{"user.special", "order.*"}, Engine: "orders"},
		},
	})
	tests := map[string]string{
		"user.created": "users", "user.special": "users", // the first rule wins over the second
		"auth.login": "users", "auth.logout": "fallback", "order.placed": "orders",
		"orders": "fallback", "billing": "fallback",
	}
	for topic, want := range tests {
		if got := r.GetEngineForTopic(topic); got != want {
			t.Errorf("GetEngineForTopic(%q) = %q, want %q", topic, got, want)
		}
	}
	if got := strings.Join(r.GetEngineNames(), ","); got != "fallback,users,orders,everything" {
		t.Errorf("GetEngineNames() = %s, want configuration order", got)
	}
}

func TestStarRuleCatchesEveryTopicNotMatchedEarlier(t *testing.T) {
	r := newRouter(t, &EventBusConfig{
		Engines: []EngineConfig{{Name: "a", Type: "memory"}, {Name: "b", Type: "memory"}},
		Routing: []RoutingRule{{Topics: []string{"audit.*"}, Engine: "a"}, {Topics: []string{"*"}, Engine: "b"}},
	})
	for topic, want := range map[string]string{"audit.login": "a", "anything": "b", "*": "b"} {
		if got := r.GetEngineForTopic(topic); got != want {
			t.Errorf("GetEngineForTopic(%q) = %q, want %q", topic, got, want)
		}
	}
}

// trackedEngine wraps a memory engine to observe lifecycle calls.
type trackedEngine struct {
	EventBus
	startErr error
	stopErr  error
	stops    *atomic.Int32
}

func (e *trackedEngine) Start(ctx context.Context) error {
	if e.startErr != nil {
		return e.startErr
	}
	return e.EventBus.Start(ctx)
}

func (e *trackedEngine) Stop(ctx context.Context) error {
	e.stops.Add(1)
	if err := e.EventBus.Stop(ctx); err != nil {
		return err
	}
	return e.stopErr
}

func registerTracked(t *testing.T, name string, startErr, stopErr error, stops *atomic.Int32) {
	t.Helper()
	RegisterEngine(name, func(cfg map[string]interface{}) (EventBus, error) {
		b, err := memory.New(cfg)
		return &trackedEngine{EventBus: b, startErr: startErr, stopErr: stopErr, stops: stops}, err
	})
	t.Cleanup(func() { unregisterEngine(name) })
}

func TestStartFailureStopsTheEnginesAlreadyStarted(t *testing.T) {
	var okStops, badStops atomic.Int32
	registerTracked(t, "test-ok", nil, nil, &okStops)
	registerTracked(t, "test-bad", errors.New("broker unreachable"), nil, &badStops)
	r := newRouter(t, &EventBusConfig{Engines: []EngineConfig{{Name: "good", Type: "test-ok"}, {Name: "broken", Type: "test-bad"}}})
	err := r.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), `"broken"`) || !strings.Contains(err.Error(), "broker unreachable") {
		t.Fatalf("Start = %v, want an error naming engine broken and its cause", err)
	}
	if okStops.Load() != 1 {
		t.Fatalf("the started engine was stopped %d times, want 1 (rollback)", okStops.Load())
	}
	if err := r.Publish(context.Background(), Event{Topic: "x"}); !errors.Is(err, ErrEventBusNotStarted) {
		t.Fatalf("Publish after a failed Start = %v, want ErrEventBusNotStarted", err)
	}
}

func TestStopJoinsTheErrorsOfEveryEngine(t *testing.T) {
	var stops atomic.Int32
	registerTracked(t, "test-stop1", nil, errors.New("first failed"), &stops)
	registerTracked(t, "test-stop2", nil, errors.New("second failed"), &stops)
	r := newRouter(t, &EventBusConfig{Engines: []EngineConfig{{Name: "one", Type: "test-stop1"}, {Name: "two", Type: "test-stop2"}}})
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	err := r.Stop(context.Background())
	if err == nil || !strings.Contains(err.Error(), "first failed") || !strings.Contains(err.Error(), "second failed") || stops.Load() != 2 {
		t.Fatalf("Stop = %v (%d stops), want both engines stopped and both errors", err, stops.Load())
	}
}

func TestUnsubscribeNeverTouchesAnotherEngine(t *testing.T) {
	r := newRouter(t, &EventBusConfig{
		Engines: []EngineConfig{{Name: "a", Type: "memory"}, {Name: "b", Type: "memory"}},
		Routing: []RoutingRule{{Topics: []string{"a.*"}, Engine: "a"}, {Topics: []string{"b.*"}, Engine: "b"}},
	})
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(ctx) })
	noop := func(context.Context, Event) error { return nil }
	for i := 0; i < 20; i++ {
		sa, err := r.Subscribe(ctx, "a.x", noop)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := r.Subscribe(ctx, "b.x", noop)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Unsubscribe(ctx, sb); err != nil {
			t.Fatal(err)
		}
		if r.SubscriberCount("a.x") != 1 || r.SubscriberCount("b.x") != 0 {
			t.Fatalf("round %d: counts a=%d b=%d, want 1 and 0", i, r.SubscriberCount("a.x"), r.SubscriberCount("b.x"))
		}
		if err := sa.Cancel(); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.Topics(); len(got) != 0 {
		t.Fatalf("Topics() = %v after every subscription was removed", got)
	}
}

func TestPublishThroughTheRouterDoesNotAllocate(t *testing.T) {
	r := newRouter(t, &EventBusConfig{
		Engines: []EngineConfig{{Name: "a", Type: "memory"}, {Name: "b", Type: "memory"}},
		Routing: []RoutingRule{{Topics: []string{"audit.*"}, Engine: "a"}, {Topics: []string{"*"}, Engine: "b"}},
	})
	ctx := context.Background()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(ctx) })
	if _, err := r.Subscribe(ctx, "orders.placed", func(context.Context, Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ev := Event{Topic: "orders.placed", Payload: "p"}
	_ = r.Publish(ctx, ev) // warm the routing cache
	allocs := testing.AllocsPerRun(1000, func() {
		if err := r.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("router Publish allocates %.1f times per event, want 0", allocs)
	}
}
