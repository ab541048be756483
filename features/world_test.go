package features

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/GoCodeAlone/modular"
	"github.com/GoCodeAlone/modular/feeders"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cucumber/godog"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// Timeouts of the steps: how long a step waits for something that must
// happen, and for a lifecycle call.
const (
	waitTimeout = 20 * time.Second
	stopTimeout = 30 * time.Second
)

// mainApp is the name of the application of steps that do not name one.
const mainApp = "main"

// world is the state of one scenario. A fresh world is built for every
// scenario; its cleanups run after the last step, whatever the outcome.
type world struct {
	env *featureEnv
	id  string // unique per scenario: isolates topics, groups and keys on shared servers
	dir string

	mu       sync.Mutex
	cleanups []func()

	vars map[string]string // ${NAME} placeholders of YAML documents

	apps map[string]*testApp
	subs map[string]*subscriber

	handledAtStop map[string][]string // subscriber -> payloads handled when the last Stop returned

	attempts []attempt // outcomes of the last step that "tries" to publish

	lastErr   error // the outcome of the last step that "tries" something
	published publishLog
}

func newWorld(env *featureEnv) *world {
	id := enginekit.NewID()[:8]
	return &world{
		env:  env,
		id:   id,
		vars: map[string]string{"UNIQUE": id},
		apps: map[string]*testApp{},
		subs: map[string]*subscriber{},
	}
}

// register installs the step definitions and the scenario hooks.
func (w *world) register(sc *godog.ScenarioContext) {
	sc.Before(func(ctx context.Context, _ *godog.Scenario) (context.Context, error) {
		dir, err := os.MkdirTemp("", "features-")
		if err != nil {
			return ctx, err
		}
		w.dir = dir
		w.defer_(func() { _ = os.RemoveAll(dir) })
		resetRecordedEngineConfigs()
		return ctx, nil
	})
	sc.After(func(ctx context.Context, _ *godog.Scenario, _ error) (context.Context, error) {
		return ctx, w.cleanup()
	})
	steps := expandingSteps{sc: sc, w: w}
	w.registerCommonSteps(steps)
	w.registerModuleSteps(steps)
	w.registerRoutingSteps(steps)
	w.registerDeliverySteps(steps)
	w.registerObserverSteps(steps)
	w.registerConfigSteps(steps)
	w.registerBrokerSteps(steps)
}

// stepRegistrar is where step definitions are registered.
type stepRegistrar interface {
	Step(expr, stepFunc any)
}

// expandingSteps registers step functions whose string arguments have
// their ${NAME} placeholders replaced first, so that a scenario can write
// a topic as "jobs.${UNIQUE}". Every step function returns an error.
type expandingSteps struct {
	sc *godog.ScenarioContext
	w  *world
}

func (s expandingSteps) Step(expr, stepFunc any) {
	fn := reflect.ValueOf(stepFunc)
	t := fn.Type()
	if t.NumOut() != 1 || t.Out(0) != reflect.TypeFor[error]() {
		panic(fmt.Sprintf("step %v must return exactly an error", expr))
	}
	wrapped := reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
		for i, a := range args {
			if a.Kind() != reflect.String {
				continue
			}
			v, err := s.w.expand(a.String())
			if err != nil {
				return []reflect.Value{reflect.ValueOf(&err).Elem()}
			}
			args[i] = reflect.ValueOf(v).Convert(a.Type())
		}
		return fn.Call(args)
	})
	s.sc.Step(expr, wrapped.Interface())
}

// snapshotHandled records what every subscriber had handled, right after
// a Stop returned.
func (w *world) snapshotHandled() {
	w.handledAtStop = map[string][]string{}
	for name, s := range w.subs {
		w.handledAtStop[name] = s.payloads()
	}
}

// defer_ registers a cleanup; cleanups run in reverse order.
func (w *world) defer_(f func()) {
	w.mu.Lock()
	w.cleanups = append(w.cleanups, f)
	w.mu.Unlock()
}

// cleanup stops every application still running, then runs the other
// cleanups (restoring the environment last). A Stop error fails the
// scenario: an application must always stop cleanly.
func (w *world) cleanup() error {
	var errs []error
	for _, s := range w.subs {
		s.release() // a held handler would keep Stop waiting
	}
	for _, a := range w.apps {
		if err := a.stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping application %q after the scenario: %w", a.name, err))
		}
	}
	w.mu.Lock()
	cs := w.cleanups
	w.cleanups = nil
	w.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	return errors.Join(errs...)
}

// setenv sets an environment variable for the rest of the scenario and
// restores it afterwards. modular's env feeder caches the variables it
// has read in a process-global catalog (a variable unset later keeps its
// old value), so the catalog is reset both now and after restoring.
func (w *world) setenv(name, value string) {
	old, had := os.LookupEnv(name)
	_ = os.Setenv(name, value)
	feeders.ResetGlobalEnvCatalog()
	w.defer_(func() {
		if had {
			_ = os.Setenv(name, old)
		} else {
			_ = os.Unsetenv(name)
		}
		feeders.ResetGlobalEnvCatalog()
	})
}

// expand replaces ${NAME} placeholders with the scenario's values (server
// addresses, the unique id); an unknown placeholder is an error.
func (w *world) expand(doc string) (string, error) {
	var missing []string
	out := os.Expand(doc, func(name string) string {
		v, ok := w.vars[name]
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("the document uses ${%s}, which no step defined", strings.Join(missing, "}, ${"))
	}
	return out, nil
}

// testApp is one modular application under test.
type testApp struct {
	name     string
	app      modular.Application
	module   *eventbus.EventBusModule
	observed *eventLog // set for observable applications

	initialised, started bool
}

// newApp builds a modular application the way a user would: a YAML file
// fed first, then the environment (EVENTBUS_* variables override YAML),
// and the event bus module registered with app.RegisterModule. It is not
// initialised yet, so steps can register more modules first.
func (w *world) newApp(name, yamlDoc string, observable bool) (*testApp, error) {
	if _, dup := w.apps[name]; dup {
		return nil, fmt.Errorf("application %q already exists in this scenario", name)
	}
	doc, err := w.expand(yamlDoc)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(w.dir, name+".yaml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		return nil, err
	}
	logger := modular.NewSlogAdapter(slog.New(slog.NewTextHandler(io.Discard, nil)))
	a := &testApp{name: name}
	if observable {
		oa := modular.NewObservableApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
		a.observed = &eventLog{}
		if err := oa.RegisterObserver(modular.NewFunctionalObserver("features-"+name, a.observed.record)); err != nil {
			return nil, err
		}
		a.app = oa
	} else {
		a.app = modular.NewStdApplication(modular.NewStdConfigProvider(&struct{}{}), logger)
	}
	a.app.(interface{ SetConfigFeeders([]modular.Feeder) }).SetConfigFeeders([]modular.Feeder{
		feeders.NewYamlFeeder(path),
		feeders.NewEnvFeeder(),
	})
	a.module = eventbus.NewModule().(*eventbus.EventBusModule)
	a.app.RegisterModule(a.module)
	w.apps[name] = a
	return a, nil
}

// app returns the named application.
func (w *world) app(name string) (*testApp, error) {
	a, ok := w.apps[name]
	if !ok {
		return nil, fmt.Errorf("no application %q in this scenario (a step must configure it first)", name)
	}
	return a, nil
}

// init runs app.Init once.
func (a *testApp) init() error {
	if a.initialised {
		return nil
	}
	feeders.ResetGlobalEnvCatalog() // read the environment as it is now
	if err := a.app.Init(); err != nil {
		return err
	}
	a.initialised = true
	return nil
}

// start runs app.Init (if needed) and app.Start.
func (a *testApp) start() error {
	if err := a.init(); err != nil {
		return fmt.Errorf("app.Init: %w", err)
	}
	if err := a.app.Start(); err != nil {
		return fmt.Errorf("app.Start: %w", err)
	}
	a.started = true
	return nil
}

// stop runs app.Stop if the application was started (modular's Stop
// calls PreStop then Stop on the module).
func (a *testApp) stop() error {
	if !a.started {
		return nil
	}
	a.started = false
	return a.app.Stop()
}

// ctx returns a context for one call, bounded by the step timeout.
func stepCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), waitTimeout)
}

// eventLog records the CloudEvents an observer received, in order.
type eventLog struct {
	mu     sync.Mutex
	events []cloudevents.Event
}

func (l *eventLog) record(_ context.Context, e cloudevents.Event) error {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	return nil
}

// busEvents returns the com.modular.eventbus.* events received so far.
func (l *eventLog) busEvents() []cloudevents.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []cloudevents.Event
	for _, e := range l.events {
		if strings.HasPrefix(e.Type(), "com.modular.eventbus.") {
			out = append(out, e)
		}
	}
	return out
}

// attempt is the outcome of one publish that was allowed to fail.
type attempt struct {
	payload string
	err     error
	elapsed time.Duration
}

// attemptPublishes publishes n events one after another, recording each
// outcome instead of stopping at the first error.
func (w *world) attemptPublishes(a *testApp, topic string, n int) {
	w.attempts = nil
	ctx, cancel := stepCtx()
	defer cancel()
	for _, p := range payloadsFor(topic, n) {
		start := time.Now()
		err := a.module.Publish(ctx, topic, p)
		w.attempts = append(w.attempts, attempt{payload: p, err: err, elapsed: time.Since(start)})
		w.published.add(topic, p, err)
	}
}

// publishLog records the outcome of publishes made by the steps.
type publishLog struct {
	mu       sync.Mutex
	accepted map[string][]string // topic -> payloads whose Publish returned nil
	refused  []error
}

func (p *publishLog) add(topic, payload string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.refused = append(p.refused, err)
		return
	}
	if p.accepted == nil {
		p.accepted = map[string][]string{}
	}
	p.accepted[topic] = append(p.accepted[topic], payload)
}

func (p *publishLog) acceptedOn(topic string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.accepted[topic]...)
}

func (p *publishLog) refusals() []error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]error(nil), p.refused...)
}
