package core

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

// The README Quickstart's earlier shape — Subscribe, Publish, Cancel at
// once, Stop — on every in-process engine: the event is either handled or
// counted as dropped, in Stats, PerEngineStats and EngineStats alike.
func TestAnEventSkippedByACancelledSubscriptionIsCountedOnEveryEngine(t *testing.T) {
	for _, engine := range []string{"sharded", "memory", "custom"} {
		t.Run(engine, func(t *testing.T) {
			for run := 0; run < 5; run++ {
				m := NewModule().(*EventBusModule)
				if err := m.initWith(nil, &EventBusConfig{Engine: engine}); err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if err := m.Start(ctx); err != nil {
					t.Fatal(err)
				}
				var handled atomic.Int64
				sub, err := m.Subscribe(ctx, "user.*", func(context.Context, Event) error { handled.Add(1); return nil })
				if err != nil {
					t.Fatal(err)
				}
				if err := m.Publish(ctx, "user.created", "ada"); err != nil {
					t.Fatal(err)
				}
				if err := sub.Cancel(); err != nil {
					t.Fatal(err)
				}
				if err := m.Stop(ctx); err != nil {
					t.Fatal(err)
				}
				delivered, dropped := m.Stats()
				if delivered != uint64(handled.Load()) || delivered+dropped != 1 {
					t.Fatalf("run %d: handled %d; Stats delivered %d dropped %d: want delivered = handled and delivered + dropped = 1", run, handled.Load(), delivered, dropped)
				}
				var pd, px, ed, ex uint64
				for _, s := range m.PerEngineStats() {
					pd, px = pd+s.Delivered, px+s.Dropped
				}
				for _, s := range m.EngineStats() {
					ed, ex = ed+s.Delivered, ex+s.Dropped
				}
				if pd != delivered || px != dropped || ed != delivered || ex != dropped {
					t.Fatalf("run %d: Stats %d/%d, PerEngineStats %d/%d, EngineStats %d/%d (delivered/dropped): want the same figures", run, delivered, dropped, pd, px, ed, ex)
				}
			}
		})
	}
}
