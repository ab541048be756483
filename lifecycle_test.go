package eventbus

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/GoCodeAlone/modular"
	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// typeRecorder is a subject that records the types it is notified of.
type typeRecorder struct {
	mu    sync.Mutex
	types []string
}

func (r *typeRecorder) RegisterObserver(modular.Observer, ...string) error { return nil }
func (r *typeRecorder) UnregisterObserver(modular.Observer) error          { return nil }
func (r *typeRecorder) GetObservers() []modular.ObserverInfo               { return nil }
func (r *typeRecorder) NotifyObservers(_ context.Context, e cloudevents.Event) error {
	r.mu.Lock()
	r.types = append(r.types, e.Type())
	r.mu.Unlock()
	return nil
}

func (r *typeRecorder) count(eventType string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, t := range r.types {
		if t == eventType {
			n++
		}
	}
	return n
}

func TestCancelAndUnsubscribeEmitSubscriptionRemovedOnce(t *testing.T) {
	m := NewModule().(*EventBusModule)
	rec := &typeRecorder{}
	if err := m.RegisterObservers(rec); err != nil {
		t.Fatal(err)
	}
	if err := m.initWith(nil, &EventBusConfig{}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	noop := func(context.Context, Event) error { return nil }
	s1, _ := m.Subscribe(ctx, "a", noop)
	s2, _ := m.SubscribeAsync(ctx, "a", noop)
	if err := s1.Cancel(); err != nil {
		t.Fatal(err)
	}
	if err := m.Unsubscribe(ctx, s1); err != nil {
		t.Fatal(err)
	}
	if err := m.Unsubscribe(ctx, s2); err != nil {
		t.Fatal(err)
	}
	if err := s2.Cancel(); err != nil {
		t.Fatal(err)
	}
	if got := rec.count(EventTypeSubscriptionCreated); got != 2 {
		t.Errorf("subscription.created emitted %d times, want 2", got)
	}
	if got := rec.count(EventTypeSubscriptionRemoved); got != 2 {
		t.Errorf("subscription.removed emitted %d times, want once per subscription (2)", got)
	}
	if got := rec.count(EventTypeTopicCreated) + rec.count(EventTypeTopicDeleted); got != 2 {
		t.Errorf("topic.created + topic.deleted = %d, want 2", got)
	}
}

func TestApplicationStopDrainsEverythingAccepted(t *testing.T) {
	app := newApp(t, "eventbus:\n  engine: memory\n  defaultEventBufferSize: 64\n", false)
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
	ctx := context.Background()
	var handled atomic.Int64
	slow := func(context.Context, Event) error { time.Sleep(200 * time.Microsecond); handled.Add(1); return nil }
	if _, err := eb.Subscribe(ctx, "work", slow); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.SubscribeAsync(ctx, "work", slow); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := 0; i < n; i++ {
		if err := eb.Publish(ctx, "work", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Stop(); err != nil { // PreStop drains, then Stop
		t.Fatal(err)
	}
	if got := handled.Load(); got != 2*n {
		t.Fatalf("handled %d of %d accepted deliveries by the time app.Stop returned", got, 2*n)
	}
}

func TestCollectMetricsReportsEngineFigures(t *testing.T) {
	m := newTestModule(t, &EventBusConfig{Engine: "memory"})
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	if _, err := m.Subscribe(ctx, "m", func(context.Context, Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := m.Publish(ctx, "m", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	v := m.CollectMetrics(ctx).Values
	if v["delivered_count"] != 3 || v["topic_count"] != 1 || v["subscriber_count"] != 1 ||
		v["default.published"] != 3 || v["default.handler_calls"] != 3 {
		t.Fatalf("CollectMetrics = %v", v)
	}
}
