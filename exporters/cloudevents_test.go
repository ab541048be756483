package exporters_test

// These tests check the module's lifecycle CloudEvents (the third
// observability channel next to the two exporters) with a real
// modular.ObservableApplication and observer: the type, source, subject
// and data of every documented event, and the moment it is emitted. The
// table in docs/observability.md is written from them.

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/GoCodeAlone/modular"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/switchyard-go/eventbus"
)

// ceRecorder is a modular observer that records the event bus's
// CloudEvents in arrival order.
type ceRecorder struct {
	mu     sync.Mutex
	events []cloudevents.Event
}

func (r *ceRecorder) observe(_ context.Context, e cloudevents.Event) error {
	if !strings.HasPrefix(e.Type(), "com.modular.eventbus.") {
		return nil
	}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	return nil
}

func (r *ceRecorder) snapshot() []cloudevents.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]cloudevents.Event(nil), r.events...)
}

func (r *ceRecorder) types() []string {
	var out []string
	for _, e := range r.snapshot() {
		out = append(out, strings.TrimPrefix(e.Type(), "com.modular.eventbus."))
	}
	return out
}

// last returns the last recorded event of eventType, failing if none.
func (r *ceRecorder) last(t *testing.T, eventType string) (cloudevents.Event, map[string]any) {
	t.Helper()
	evs := r.snapshot()
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Type() == eventType {
			var data map[string]any
			if err := evs[i].DataAs(&data); err != nil {
				t.Fatalf("%s data: %v", eventType, err)
			}
			return evs[i], data
		}
	}
	t.Fatalf("no %s among %v", eventType, r.types())
	return cloudevents.Event{}, nil
}

func (r *ceRecorder) count(eventType string) int {
	n := 0
	for _, e := range r.snapshot() {
		if e.Type() == eventType {
			n++
		}
	}
	return n
}

func observedBus(t *testing.T, yaml string) (*modular.ObservableApplication, *eventbus.EventBusModule, *ceRecorder) {
	t.Helper()
	app := newApp(t, yaml)
	rec := &ceRecorder{}
	if err := app.RegisterObserver(modular.NewFunctionalObserver("cloudevents-test", rec.observe)); err != nil {
		t.Fatal(err)
	}
	return app, startBus(t, app), rec
}

func TestLifecycleCloudEventsCarrySourceSubjectAndDataAtTheRightMoment(t *testing.T) {
	app, eb, rec := observedBus(t, twoEngines+"  messageEvents: true\n")
	ctx := testCtx(t)

	t.Run("config.loaded then bus.started on Init and Start", func(t *testing.T) {
		if got := rec.types(); len(got) != 2 || got[0] != "config.loaded" || got[1] != "bus.started" {
			t.Fatalf("events after Start: %v, want [config.loaded bus.started]", got)
		}
		e, data := rec.last(t, eventbus.EventTypeConfigLoaded)
		if e.Source() != eventbus.EventSource || e.Subject() != "" || e.SpecVersion() != "1.0" || e.ID() == "" {
			t.Errorf("config.loaded: source %q subject %q spec %q id %q", e.Source(), e.Subject(), e.SpecVersion(), e.ID())
		}
		if data["multiEngine"] != true || len(data["engines"].([]any)) != 2 {
			t.Errorf("config.loaded data %v", data)
		}
		if _, data := rec.last(t, eventbus.EventTypeBusStarted); len(data["engines"].([]any)) != 2 {
			t.Errorf("bus.started data %v, want the two engines", data)
		}
	})

	received := make(chan bool, 2)
	var sub eventbus.Subscription
	t.Run("topic.created and subscription.created before Subscribe returns", func(t *testing.T) {
		var err error
		sub, err = eb.Subscribe(ctx, "orders.*", func(_ context.Context, e eventbus.Event) error {
			// message.received is emitted before the handler runs.
			received <- rec.count(eventbus.EventTypeMessageReceived) > 0
			if e.Payload == "bad" {
				return errors.New("card declined")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		e, data := rec.last(t, eventbus.EventTypeTopicCreated)
		if e.Subject() != "orders.*" || data["topic"] != "orders.*" || data["engine"] != "fast" {
			t.Errorf("topic.created subject %q data %v", e.Subject(), data)
		}
		e, data = rec.last(t, eventbus.EventTypeSubscriptionCreated)
		if e.Subject() != "orders.*" || data["subscription_id"] != sub.ID() || data["async"] != false || data["engine"] != "fast" {
			t.Errorf("subscription.created subject %q data %v", e.Subject(), data)
		}
	})

	t.Run("message.published after Publish, message.received before the handler", func(t *testing.T) {
		mustPublish(t, eb, "orders.placed", "ok")
		e, data := rec.last(t, eventbus.EventTypeMessagePublished)
		if e.Subject() != "orders.placed" || data["topic"] != "orders.placed" || data["engine"] != "fast" {
			t.Errorf("message.published subject %q data %v", e.Subject(), data)
		}
		if !<-received {
			t.Errorf("the handler ran before message.received was emitted")
		}
		e, data = rec.last(t, eventbus.EventTypeMessageReceived)
		if e.Subject() != "orders.placed" || data["subscription_id"] != sub.ID() {
			t.Errorf("message.received subject %q data %v", e.Subject(), data)
		}
	})

	t.Run("message.failed for a failing handler and for a refused publish", func(t *testing.T) {
		mustPublish(t, eb, "orders.placed", "bad")
		<-received
		flush(t, eb)
		e, data := rec.last(t, eventbus.EventTypeMessageFailed)
		if e.Subject() != "orders.placed" || data["stage"] != "handle" || data["error"] != "card declined" || data["subscription_id"] != sub.ID() {
			t.Errorf("handler message.failed subject %q data %v", e.Subject(), data)
		}
		if err := eb.Publish(ctx, "orders.*", "wildcards cannot be published"); err == nil {
			t.Fatal("publishing to a pattern was accepted")
		}
		e, data = rec.last(t, eventbus.EventTypeMessageFailed)
		if e.Subject() != "orders.*" || data["stage"] != "publish" || data["error"] == "" {
			t.Errorf("publish message.failed subject %q data %v", e.Subject(), data)
		}
	})

	t.Run("subscription.removed and topic.deleted before Unsubscribe returns", func(t *testing.T) {
		if err := eb.Unsubscribe(ctx, sub); err != nil {
			t.Fatal(err)
		}
		e, data := rec.last(t, eventbus.EventTypeSubscriptionRemoved)
		if e.Subject() != "orders.*" || data["subscription_id"] != sub.ID() {
			t.Errorf("subscription.removed subject %q data %v", e.Subject(), data)
		}
		if e, _ := rec.last(t, eventbus.EventTypeTopicDeleted); e.Subject() != "orders.*" {
			t.Errorf("topic.deleted subject %q", e.Subject())
		}
	})

	t.Run("bus.stopped last on Stop", func(t *testing.T) {
		if err := app.Stop(); err != nil {
			t.Fatal(err)
		}
		got := rec.types()
		if got[len(got)-1] != "bus.stopped" {
			t.Fatalf("last event %s, want bus.stopped (all: %v)", got[len(got)-1], got)
		}
		for _, want := range eb.GetRegisteredEventTypes() {
			if rec.count(want) == 0 {
				t.Errorf("%s was never emitted", want)
			}
		}
		for _, e := range rec.snapshot() {
			if e.Source() != eventbus.EventSource {
				t.Errorf("%s has source %q, want %q", e.Type(), e.Source(), eventbus.EventSource)
			}
		}
	})
}

func TestPerMessageCloudEventsAreOnByDefaultAndFreeWhenTurnedOff(t *testing.T) {
	t.Run("on by default with an observer", func(t *testing.T) {
		_, eb, rec := observedBus(t, twoEngines)
		ctx := testCtx(t)
		if _, err := eb.Subscribe(ctx, "orders.*", func(context.Context, eventbus.Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
		mustPublish(t, eb, "orders.placed", 1)
		flush(t, eb)
		if p, r := rec.count(eventbus.EventTypeMessagePublished), rec.count(eventbus.EventTypeMessageReceived); p != 1 || r != 1 {
			t.Fatalf("message.published %d, message.received %d with messageEvents unset, want 1 and 1", p, r)
		}
	})
	_, eb, rec := observedBus(t, twoEngines+"  messageEvents: false\n")
	ctx := testCtx(t)
	if _, err := eb.Subscribe(ctx, "orders.*", func(context.Context, eventbus.Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, eb, "orders.placed", 1)
	flush(t, eb)
	if n := rec.count(eventbus.EventTypeMessagePublished) + rec.count(eventbus.EventTypeMessageReceived); n != 0 {
		t.Fatalf("%d per-message events with messageEvents: false", n)
	}
	// An observer is registered, but per-message events are off: the
	// publish path must not allocate for it.
	var payload any = "boxed once"
	allocs := testing.AllocsPerRun(500, func() { _ = eb.Publish(ctx, "orders.placed", payload) })
	if allocs != 0 {
		t.Fatalf("Publish allocates %.1f times per event with an observer registered and messageEvents off, want 0", allocs)
	}
}

// BenchmarkPublishWithObserver measures Publish through the module with a
// modular observer registered, per-message CloudEvents off and on: off
// must report 0 allocs/op.
func BenchmarkPublishWithObserver(b *testing.B) {
	for _, tc := range []struct{ name, yaml string }{
		{"messageEvents off", twoEngines + "  messageEvents: false\n"},
		{"messageEvents on (default)", twoEngines},
	} {
		b.Run(tc.name, func(b *testing.B) {
			app := newAppB(b, tc.yaml)
			if err := app.RegisterObserver(modular.NewFunctionalObserver("bench", func(context.Context, cloudevents.Event) error { return nil })); err != nil {
				b.Fatal(err)
			}
			eb := startBusB(b, app)
			ctx := context.Background()
			if _, err := eb.Subscribe(ctx, "orders.*", func(context.Context, eventbus.Event) error { return nil }); err != nil {
				b.Fatal(err)
			}
			var payload any = "boxed once"
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := eb.Publish(ctx, "orders.placed", payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
