package features

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/cucumber/godog"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// Publisher is how an application module declares the part of the bus it
// needs; modular matches it against the event bus module's methods.
type Publisher interface {
	Publish(ctx context.Context, topic string, payload interface{}) error
	Subscribe(ctx context.Context, topic string, handler eventbus.EventHandler) (eventbus.Subscription, error)
}

// consumerModule is an application module that requires the bus twice:
// by service name, and by interface.
type consumerModule struct {
	name        string
	byName      *eventbus.EventBusModule
	byInterface Publisher
}

func (c *consumerModule) Name() string                                { return c.name }
func (c *consumerModule) Init(modular.Application) error              { return nil }
func (c *consumerModule) ProvidesServices() []modular.ServiceProvider { return nil }
func (c *consumerModule) RequiresServices() []modular.ServiceDependency {
	return []modular.ServiceDependency{
		{Name: eventbus.ServiceName, Required: true},
		{Name: "publisher", Required: true, MatchByInterface: true, SatisfiesInterface: reflect.TypeOf((*Publisher)(nil)).Elem()},
	}
}

func (c *consumerModule) Constructor() modular.ModuleConstructor {
	return func(_ modular.Application, services map[string]any) (modular.Module, error) {
		m, ok := services[eventbus.ServiceName].(*eventbus.EventBusModule)
		if !ok {
			return nil, fmt.Errorf("%s: %q not injected (got %T)", c.name, eventbus.ServiceName, services[eventbus.ServiceName])
		}
		p, ok := services["publisher"].(Publisher)
		if !ok {
			return nil, fmt.Errorf("%s: no service satisfies Publisher (got %T)", c.name, services["publisher"])
		}
		c.byName, c.byInterface = m, p
		return c, nil
	}
}

// backgroundPublishers publish as fast as they can until Publish fails.
type backgroundPublishers struct {
	wg       sync.WaitGroup
	accepted atomic.Int64
}

func (w *world) registerModuleSteps(sc stepRegistrar) {
	var (
		consumers  = map[string]*consumerModule{}
		pubs       *backgroundPublishers
		bare       *eventbus.EventBusModule
		lifeErrors []error
	)

	sc.Step(`^a module "([^"]+)" that requires the event bus by name and by interface$`, func(name string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		c := &consumerModule{name: name}
		consumers[name] = c
		a.app.RegisterModule(c)
		return nil
	})
	sc.Step(`^"([^"]+)" received the event bus module as "eventbus\.provider"$`, func(name string) error {
		c, a, err := consumerOf(w, consumers, name)
		if err != nil {
			return err
		}
		var byLookup *eventbus.EventBusModule
		if err := a.app.GetService(eventbus.ServiceName, &byLookup); err != nil {
			return fmt.Errorf("app.GetService(%q): %w", eventbus.ServiceName, err)
		}
		if c.byName == nil || c.byName != a.module || byLookup != a.module {
			return fmt.Errorf("%s got %p by name, GetService gave %p, the registered module is %p", name, c.byName, byLookup, a.module)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" received the same module through its Publisher interface$`, func(name string) error {
		c, a, err := consumerOf(w, consumers, name)
		if err != nil {
			return err
		}
		if m, ok := c.byInterface.(*eventbus.EventBusModule); !ok || m != a.module {
			return fmt.Errorf("%s got %T %p by interface, want the registered module %p", name, c.byInterface, c.byInterface, a.module)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" subscribes "([^"]+)" to "([^"]+)" through its Publisher interface$`, func(name, sub, topic string) error {
		c, _, err := consumerOf(w, consumers, name)
		if err != nil {
			return err
		}
		s := newSubscriber(sub)
		ctx, cancel := stepCtx()
		defer cancel()
		if s.sub, err = c.byInterface.Subscribe(ctx, topic, s.handle); err != nil {
			return err
		}
		w.subs[sub] = s
		return nil
	})
	sc.Step(`^"([^"]+)" publishes the payload "([^"]*)" to "([^"]+)" through its Publisher interface$`, func(name, payload, topic string) error {
		c, _, err := consumerOf(w, consumers, name)
		if err != nil {
			return err
		}
		ctx, cancel := stepCtx()
		defer cancel()
		return c.byInterface.Publish(ctx, topic, payload)
	})

	// Configuration as the module and its engines see it.
	sc.Step(`^the "eventbus" configuration section has (\w+) = "([^"]*)"$`, func(key, want string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		cp, err := a.app.GetConfigSection(eventbus.ModuleName)
		if err != nil {
			return err
		}
		got, err := fieldByTag(cp.GetConfig(), "yaml", key)
		if err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("eventbus.%s = %q, want %q", key, got, want)
		}
		return nil
	})
	sc.Step(`^the engine factory received (\w+) = "([^"]*)"$`, func(key, want string) error {
		cfg, ok := lastRecordedEngineConfig()
		if !ok {
			return errors.New("the recording engine was never built")
		}
		v, ok := cfg[key]
		if !ok {
			return fmt.Errorf("the engine factory received no %q (got %v)", key, cfg)
		}
		if got := fmt.Sprint(v); got != want {
			return fmt.Errorf("the engine factory received %s = %q, want %q", key, got, want)
		}
		return nil
	})
	sc.Step(`^the engine "([^"]+)" runs with:$`, func(engine string, table *godog.Table) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		e, err := a.module.GetRouter().Engine(engine)
		if err != nil {
			return err
		}
		cfgMethod := reflect.ValueOf(e).MethodByName("Config")
		if !cfgMethod.IsValid() {
			return fmt.Errorf("engine %q (%T) does not expose its Config()", engine, e)
		}
		cfg := cfgMethod.Call(nil)[0].Interface()
		for _, row := range table.Rows[1:] {
			key, want := row.Cells[0].Value, row.Cells[1].Value
			got, err := fieldByTag(cfg, "json", key)
			if err != nil {
				return fmt.Errorf("engine %q: %w", engine, err)
			}
			if got != want {
				return fmt.Errorf("engine %q runs with %s = %q, want %q", engine, key, got, want)
			}
		}
		return nil
	})
	sc.Step(`^the engine "([^"]+)" is of type (\w+)$`, func(engine, typ string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		e, err := a.module.GetRouter().Engine(engine)
		if err != nil {
			return err
		}
		if got := fmt.Sprintf("%T", e); !strings.Contains(strings.ToLower(got), strings.ToLower(typ)) {
			return fmt.Errorf("engine %q is a %s, want the %s engine", engine, got, typ)
		}
		return nil
	})

	// Lifecycle.
	sc.Step(`^the event bus module is started (\d+) times?$`, func(n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			ctx, cancel := stepCtx()
			lifeErrors = append(lifeErrors, a.module.Start(ctx))
			cancel()
		}
		return nil
	})
	sc.Step(`^the event bus module is stopped (\d+) times?$`, func(n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			ctx, cancel := stepCtx()
			lifeErrors = append(lifeErrors, a.module.Stop(ctx))
			cancel()
		}
		return nil
	})
	sc.Step(`^(\d+) goroutines start and stop the event bus module (\d+) times each, all at once$`, func(g, n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < g; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for j := 0; j < n; j++ {
					ctx, cancel := stepCtx()
					e1 := a.module.Start(ctx)
					e2 := a.module.Stop(ctx)
					cancel()
					mu.Lock()
					lifeErrors = append(lifeErrors, e1, e2)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		return nil
	})
	sc.Step(`^every one of those calls succeeded$`, func() error {
		if len(lifeErrors) == 0 {
			return errors.New("no lifecycle call was made")
		}
		if err := errors.Join(lifeErrors...); err != nil {
			return fmt.Errorf("lifecycle calls failed: %w", err)
		}
		return nil
	})
	sc.Step(`^the event bus module is stopped and started again$`, func() error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		ctx, cancel := stepCtx()
		defer cancel()
		if err := a.module.Stop(ctx); err != nil {
			return fmt.Errorf("Stop: %w", err)
		}
		if err := a.module.Start(ctx); err != nil {
			return fmt.Errorf("Start: %w", err)
		}
		return nil
	})
	sc.Step(`^the subscriptions still count (\d+) on "([^"]+)"$`, func(n int, topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if got := a.module.SubscriberCount(topic); got != n {
			return fmt.Errorf("SubscriberCount(%q) = %d, want %d", topic, got, n)
		}
		return nil
	})

	// Stopping while publishing.
	sc.Step(`^(\d+) publishers publish to "([^"]+)" as fast as they can$`, func(n int, topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		pubs = &backgroundPublishers{}
		for p := 0; p < n; p++ {
			pubs.wg.Add(1)
			go func() {
				defer pubs.wg.Done()
				for i := 0; ; i++ {
					payload := fmt.Sprintf("p%d-%06d", p, i)
					err := a.module.Publish(context.Background(), topic, payload)
					w.published.add(topic, payload, err)
					if err != nil {
						return
					}
					pubs.accepted.Add(1)
				}
			}()
		}
		w.defer_(pubs.wg.Wait)
		return nil
	})
	sc.Step(`^(\d+) events have been accepted$`, func(n int) error {
		if pubs == nil {
			return errors.New("no publishers are running")
		}
		return testutil.Poll(waitTimeout, fmt.Sprintf("%d accepted publishes", n), func() bool { return pubs.accepted.Load() >= int64(n) })
	})
	sc.Step(`^the application is stopped while they publish$`, func() error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if err := a.stop(); err != nil {
			return fmt.Errorf("app.Stop: %w", err)
		}
		w.snapshotHandled()
		pubs.wg.Wait() // every publisher stops at its first refused publish
		return nil
	})
	sc.Step(`^every event accepted on "([^"]+)" had been handled by "([^"]+)" when Stop returned$`, func(topic, name string) error {
		accepted := w.published.acceptedOn(topic)
		got := w.handledAtStop[name]
		missing, dups := missingAndDuplicates(accepted, got)
		if len(missing)+len(dups) > 0 || len(got) != len(accepted) {
			return fmt.Errorf("accepted %d, handled %d by the time Stop returned: missing %s, duplicated %s",
				len(accepted), len(got), shortList(missing), shortList(dups))
		}
		return nil
	})
	sc.Step(`^every refused publish failed with (".*")$`, func(list string) error {
		refused := w.published.refusals()
		if len(refused) == 0 {
			return errors.New("no publish was refused: the publishers never noticed the shutdown")
		}
		allowed := quotedList(list)
		for _, err := range refused {
			ok := false
			for _, msg := range allowed {
				ok = ok || strings.Contains(err.Error(), msg)
			}
			if !ok {
				return fmt.Errorf("a publish failed with %q, want one of %v", err, allowed)
			}
		}
		return nil
	})

	// Before Init.
	sc.Step(`^an event bus module that no application initialised$`, func() error {
		bare = eventbus.NewModule().(*eventbus.EventBusModule)
		return nil
	})
	sc.Step(`^it is asked to (publish|subscribe|start)$`, func(op string) error {
		ctx, cancel := stepCtx()
		defer cancel()
		switch op {
		case "publish":
			w.lastErr = bare.Publish(ctx, "user.created", "ada")
		case "subscribe":
			_, w.lastErr = bare.Subscribe(ctx, "user.*", func(context.Context, eventbus.Event) error { return nil })
		case "start":
			w.lastErr = bare.Start(ctx)
		}
		return nil
	})
	sc.Step(`^it reports no topics and no subscribers$`, func() error {
		if t := bare.Topics(); len(t) != 0 {
			return fmt.Errorf("Topics() = %v", t)
		}
		if n := bare.SubscriberCount("user.*"); n != 0 {
			return fmt.Errorf("SubscriberCount = %d", n)
		}
		return nil
	})
}

func consumerOf(w *world, consumers map[string]*consumerModule, name string) (*consumerModule, *testApp, error) {
	c, ok := consumers[name]
	if !ok {
		return nil, nil, fmt.Errorf("no module %q in this scenario", name)
	}
	a, err := w.app(mainApp)
	return c, a, err
}

// fieldByTag returns the field of struct v (or *struct) whose tag key
// names name, formatted with %v (durations as "250ms").
func fieldByTag(v any, key, name string) (string, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return "", fmt.Errorf("%T is not a struct", v)
	}
	for i := 0; i < rv.NumField(); i++ {
		f := rv.Type().Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get(key), ",")
		if tag == name {
			field := rv.Field(i)
			if field.Kind() == reflect.Pointer {
				if field.IsNil() {
					return "unset", nil
				}
				field = field.Elem()
			}
			fv := field.Interface()
			if d, ok := fv.(interface{ Std() time.Duration }); ok {
				return d.Std().String(), nil
			}
			if s, ok := fv.(fmt.Stringer); ok {
				return s.String(), nil
			}
			return fmt.Sprint(fv), nil
		}
	}
	return "", fmt.Errorf("%T has no field tagged %s:%q", v, key, name)
}
