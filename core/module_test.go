package core

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/switchyard-go/eventbus/engines/memory"
)

// newApp builds a modular application fed by a YAML file (and the env),
// with the event bus module and any extra modules registered.
func newApp(t *testing.T, yaml string, observable bool, extra ...modular.Module) modular.Application {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	var app modular.Application
	if observable {
		app = modular.NewObservableApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	} else {
		app = modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	}
	app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{feeders.NewYamlFeeder(path), feeders.NewEnvFeeder()})
	app.RegisterModule(NewModule())
	for _, m := range extra {
		app.RegisterModule(m)
	}
	return app
}

// Publisher is how a consumer module would declare the bus it needs
// (matched by interface against the module's method set).
type Publisher interface {
	Publish(ctx context.Context, topic string, payload interface{}) error
	Subscribe(ctx context.Context, topic string, handler EventHandler) (Subscription, error)
}

// consumer is a module that gets the bus injected by name and by
// interface through its constructor.
type consumer struct {
	byName      *EventBusModule
	byInterface Publisher
}

func (c *consumer) Name() string                   { return "consumer" }
func (c *consumer) Init(modular.Application) error { return nil }
func (c *consumer) ProvidesServices() []modular.ServiceProvider {
	return nil
}
func (c *consumer) RequiresServices() []modular.ServiceDependency {
	return []modular.ServiceDependency{
		{Name: ServiceName, Required: true},
		{Name: "bus", Required: true, MatchByInterface: true, SatisfiesInterface: reflect.TypeOf((*Publisher)(nil)).Elem()},
	}
}
func (c *consumer) Constructor() modular.ModuleConstructor {
	return func(_ modular.Application, services map[string]any) (modular.Module, error) {
		m, ok := services[ServiceName].(*EventBusModule)
		if !ok {
			return nil, errors.New("eventbus.provider not injected")
		}
		p, ok := services["bus"].(Publisher)
		if !ok {
			return nil, errors.New("bus not injected by interface")
		}
		c.byName, c.byInterface = m, p
		return c, nil
	}
}

func TestModuleInARealApplicationWithYAMLAndInjection(t *testing.T) {
	c := &consumer{}
	app := newApp(t, "eventbus:\n  engine: memory\n  workerCount: 3\n  deliveryMode: block\n", false, c)
	if err := app.Init(); err != nil {
		t.Fatalf("Init: %v", err)
	}
	var eb *EventBusModule
	if err := app.GetService(ServiceName, &eb); err != nil {
		t.Fatalf("GetService: %v", err)
	}
	if c.byName != eb || c.byInterface == nil {
		t.Fatalf("consumer got byName=%p byInterface=%v, want the module %p", c.byName, c.byInterface, eb)
	}
	if err := app.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	got := make(chan Event, 1)
	if _, err := c.byInterface.Subscribe(context.Background(), "user.*", func(_ context.Context, e Event) error { got <- e; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.byInterface.Publish(context.Background(), "user.created", "ada"); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-got:
		if e.Topic != "user.created" || e.Payload != "ada" || e.CreatedAt.IsZero() {
			t.Fatalf("received %+v", e)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event not delivered")
	}
	mem, err := eb.GetRouter().Engine(DefaultEngineName)
	if err != nil {
		t.Fatal(err)
	}
	if w := mem.(*memory.EventBus).Config().WorkerCount; w != 3 {
		t.Fatalf("workerCount from YAML = %d at the engine, want 3", w)
	}
	if err := app.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func TestEnvOverridesReachTheEngineInSingleAndMultiEngineMode(t *testing.T) {
	t.Cleanup(feeders.ResetGlobalEnvCatalog) // the env catalog caches values; runs after Setenv restores
	t.Setenv("EVENTBUS_DELIVERY_MODE", "timeout")
	t.Setenv("EVENTBUS_PUBLISH_BLOCK_TIMEOUT", "250ms")
	t.Setenv("EVENTBUS_WORKER_COUNT", "7")
	feeders.ResetGlobalEnvCatalog()
	for name, yaml := range map[string]string{
		"single": "eventbus:\n  engine: memory\n  deliveryMode: drop\n",
		"multi":  "eventbus:\n  engines:\n    - name: default\n      type: memory\n",
	} {
		t.Run(name, func(t *testing.T) {
			app := newApp(t, yaml, false)
			if err := app.Init(); err != nil {
				t.Fatalf("Init: %v", err)
			}
			var eb *EventBusModule
			if err := app.GetService(ServiceName, &eb); err != nil {
				t.Fatal(err)
			}
			mem, err := eb.GetRouter().Engine("default")
			if err != nil {
				t.Fatal(err)
			}
			cfg := mem.(*memory.EventBus).Config()
			if cfg.DeliveryMode != "timeout" || cfg.PublishBlockTimeout.Std() != 250*time.Millisecond || cfg.WorkerCount != 7 {
				t.Fatalf("engine config = %+v, want EVENTBUS_* values (timeout, 250ms, 7 workers)", cfg)
			}
		})
	}
}

func TestModuleMethodsBeforeInitReturnErrorsInsteadOfPanicking(t *testing.T) {
	m := NewModule().(*EventBusModule)
	ctx := context.Background()
	noop := func(context.Context, Event) error { return nil }
	if err := m.Publish(ctx, "t", 1); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Publish = %v", err)
	}
	if _, err := m.Subscribe(ctx, "t", noop); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Subscribe = %v", err)
	}
	if _, err := m.SubscribeAsync(ctx, "t", noop); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("SubscribeAsync = %v", err)
	}
	if err := m.Start(ctx); !errors.Is(err, ErrNotInitialized) {
		t.Errorf("Start = %v", err)
	}
	if err := m.Stop(ctx); err != nil {
		t.Errorf("Stop = %v, want nil (nothing to stop)", err)
	}
	if m.Topics() != nil || m.SubscriberCount("t") != 0 || len(m.PerEngineStats()) != 0 {
		t.Errorf("introspection before Init returned data")
	}
	if d, x := m.Stats(); d != 0 || x != 0 {
		t.Errorf("Stats before Init = %d, %d", d, x)
	}
	if err := m.EmitEvent(ctx, cloudevents.NewEvent()); !errors.Is(err, ErrNoSubjectForEventEmission) {
		t.Errorf("EmitEvent without subject = %v", err)
	}
}

func TestStartAndStopAreIdempotentAndSafeConcurrently(t *testing.T) {
	m := newTestModule(t, &EventBusConfig{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				if err := m.Start(ctx); err != nil {
					t.Error(err)
				}
				if err := m.Stop(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
}

func TestStopWhilePublishingLosesNothingAccepted(t *testing.T) {
	m := newTestModule(t, &EventBusConfig{})
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	var handled, accepted atomic.Int64
	if _, err := m.Subscribe(ctx, "load", func(context.Context, Event) error { handled.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := m.Publish(ctx, "load", p)
				if errors.Is(err, ErrEventBusNotStarted) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				accepted.Add(1)
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the publishers run: this is load, not synchronization
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if handled.Load() != accepted.Load() || accepted.Load() == 0 {
		t.Fatalf("accepted %d events, handled %d by the time Stop returned", accepted.Load(), handled.Load())
	}
	if _, dropped := m.Stats(); dropped != 0 {
		t.Fatalf("dropped = %d in the lossless default mode", dropped)
	}
}

func TestPreStopRefusesNewPublishesWithErrDraining(t *testing.T) {
	m := newTestModule(t, &EventBusConfig{})
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.PreStop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish(ctx, "late", 1); !errors.Is(err, ErrDraining) {
		t.Fatalf("Publish after PreStop = %v, want ErrDraining", err)
	}
	if err := m.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	if err := m.Publish(ctx, "again", 1); err != nil {
		t.Fatalf("Publish after restart = %v", err)
	}
}

func TestModulePublishDoesNotAllocateWithoutObservers(t *testing.T) {
	m := newTestModule(t, &EventBusConfig{})
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	if _, err := m.Subscribe(ctx, "hot", func(context.Context, Event) error { return nil }); err != nil {
		t.Fatal(err)
	}
	var payload interface{} = "boxed once"
	allocs := testing.AllocsPerRun(1000, func() { _ = m.Publish(ctx, "hot", payload) })
	if allocs != 0 {
		t.Fatalf("module Publish allocates %.1f times per event without observers, want 0", allocs)
	}
}

func BenchmarkModulePublishNoObserver(b *testing.B) {
	m := NewModule().(*EventBusModule)
	if err := m.initWith(nil, &EventBusConfig{DefaultEventBufferSize: 1024}); err != nil {
		b.Fatal(err)
	}
	benchmarkPublish(b, m)
}

// benchmarkPublish starts m, subscribes one no-op handler on "hot" and
// measures Publish to it.
func benchmarkPublish(b *testing.B, m *EventBusModule) {
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer m.Stop(ctx)
	if _, err := m.Subscribe(ctx, "hot", func(context.Context, Event) error { return nil }); err != nil {
		b.Fatal(err)
	}
	var payload interface{} = "boxed once"
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := m.Publish(ctx, "hot", payload); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLifecycleCloudEventsReachAnObserverInOrder(t *testing.T) {
	app := newApp(t, "eventbus:\n  engine: memory\n  messageEvents: true\n", true)
	var mu sync.Mutex
	var seen []cloudevents.Event
	obs := modular.NewFunctionalObserver("test", func(_ context.Context, e cloudevents.Event) error {
		mu.Lock()
		seen = append(seen, e)
		mu.Unlock()
		return nil
	})
	if err := app.(*modular.ObservableApplication).RegisterObserver(obs); err != nil {
		t.Fatal(err)
	}
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
	done := make(chan struct{}, 2)
	sub, err := eb.Subscribe(ctx, "order.placed", func(_ context.Context, e Event) error {
		done <- struct{}{}
		if e.Payload == "bad" {
			return errors.New("rejected")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ok", "bad"} {
		if err := eb.Publish(ctx, "order.placed", p); err != nil {
			t.Fatal(err)
		}
		<-done
	}
	if err := eb.Unsubscribe(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	var types []string
	for _, e := range seen {
		if len(e.Type()) > 20 && e.Type()[:20] == "com.modular.eventbus" {
			types = append(types, e.Type())
			if e.Source() != EventSource {
				t.Errorf("%s has source %q", e.Type(), e.Source())
			}
		}
	}
	for _, want := range eb.GetRegisteredEventTypes() {
		found := false
		for _, got := range types {
			found = found || got == want
		}
		if !found {
			t.Errorf("never observed %s (observed %v)", want, types)
		}
	}
	if len(types) < 2 || types[0] != EventTypeConfigLoaded || types[len(types)-1] != EventTypeBusStopped {
		t.Errorf("order: %v, want config.loaded first and bus.stopped last", types)
	}
}
