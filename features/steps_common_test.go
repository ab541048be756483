package features

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cucumber/godog"

	"github.com/switchyard-go/eventbus"
)

// sentinels are the error values a step can name in parentheses after the
// message ("it fails with "…" (ErrEventDropped)"): what a caller branches
// on with errors.Is.
var sentinels = map[string]error{
	"ErrEventBusNotStarted":      eventbus.ErrEventBusNotStarted,
	"ErrNotInitialized":          eventbus.ErrNotInitialized,
	"ErrDraining":                eventbus.ErrDraining,
	"ErrEventDropped":            eventbus.ErrEventDropped,
	"ErrWildcardPublish":         eventbus.ErrWildcardPublish,
	"ErrEmptyTopic":              eventbus.ErrEmptyTopic,
	"ErrEventHandlerNil":         eventbus.ErrEventHandlerNil,
	"ErrInvalidConfig":           eventbus.ErrInvalidConfig,
	"ErrUnknownEngineType":       eventbus.ErrUnknownEngineType,
	"ErrDuplicateEngineName":     eventbus.ErrDuplicateEngineName,
	"ErrUnknownEngineRef":        eventbus.ErrUnknownEngineRef,
	"ErrEngineNotFound":          eventbus.ErrEngineNotFound,
	"ErrEventBusShutdownTimeout": eventbus.ErrEventBusShutdownTimeout,
	"ErrPayloadTooLarge":         eventbus.ErrPayloadTooLarge,
}

var quoted = regexp.MustCompile(`"([^"]*)"`)

// quotedList parses `"a", "b" and "c"` into its strings.
func quotedList(s string) []string {
	var out []string
	for _, m := range quoted.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// payloadsFor returns the payloads "<topic>#1" … "<topic>#n" the steps
// publish when they publish n events.
func payloadsFor(topic string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s#%d", topic, i+1)
	}
	return out
}

func (w *world) registerCommonSteps(sc stepRegistrar) {
	// Applications.
	sc.Step(`^an application configured with:$`, func(doc *godog.DocString) error {
		_, err := w.newApp(mainApp, doc.Content, false)
		return err
	})
	sc.Step(`^an observable application configured with:$`, func(doc *godog.DocString) error {
		_, err := w.newApp(mainApp, doc.Content, true)
		return err
	})
	sc.Step(`^an application "([^"]+)" configured with:$`, func(name string, doc *godog.DocString) error {
		_, err := w.newApp(name, doc.Content, false)
		return err
	})
	sc.Step(`^the application is initialised$`, func() error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if err := a.init(); err != nil {
			return fmt.Errorf("app.Init: %w", err)
		}
		return nil
	})
	sc.Step(`^the application is started$`, func() error { return w.startApp(mainApp) })
	sc.Step(`^the application "([^"]+)" is started$`, w.startApp)
	sc.Step(`^the application is stopped$`, func() error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if err := a.stop(); err != nil {
			return fmt.Errorf("app.Stop: %w", err)
		}
		return nil
	})
	sc.Step(`^the engine type "([^"]+)" is registered$`, func(name string) error {
		factory, ok := testEngineTypes[name]
		if !ok {
			return fmt.Errorf("no test engine type %q", name)
		}
		eventbus.RegisterEngine(name, factory)
		return nil
	})
	sc.Step(`^the environment variable "([^"]+)" is "([^"]*)"$`, func(name, value string) error {
		value, err := w.expand(value)
		if err != nil {
			return err
		}
		w.setenv(name, value)
		return nil
	})

	// Subscribers.
	sc.Step(`^a subscriber "([^"]+)" on "([^"]*)"$`, func(name, topic string) error {
		return w.subscribe(mainApp, name, topic, false)
	})
	sc.Step(`^an async subscriber "([^"]+)" on "([^"]*)"$`, func(name, topic string) error {
		return w.subscribe(mainApp, name, topic, true)
	})
	sc.Step(`^the application "([^"]+)" has a subscriber "([^"]+)" on "([^"]*)"$`, func(app, name, topic string) error {
		return w.subscribe(app, name, topic, false)
	})
	sc.Step(`^"([^"]+)" fails on the payload "([^"]*)" with "([^"]*)"$`, func(name, payload, msg string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.failOn[payload] = msg
		s.mu.Unlock()
		return nil
	})
	sc.Step(`^"([^"]+)" fails on every payload with "([^"]*)"$`, func(name, msg string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.failAll = msg
		s.mu.Unlock()
		return nil
	})
	sc.Step(`^"([^"]+)" panics on the payload "([^"]*)"$`, func(name, payload string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.panicOn[payload] = true
		s.mu.Unlock()
		return nil
	})
	sc.Step(`^"([^"]+)" holds every event until it is released$`, func(name string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		s.hold()
		return nil
	})
	sc.Step(`^"([^"]+)" is released$`, func(name string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		s.release()
		return nil
	})
	sc.Step(`^"([^"]+)" takes (\d+)ms per event$`, func(name string, ms int) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.delay = time.Duration(ms) * time.Millisecond
		s.mu.Unlock()
		return nil
	})
	sc.Step(`^the subscription of "([^"]+)" is cancelled$`, func(name string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		return s.sub.Cancel()
	})

	// Publishing.
	sc.Step(`^(\d+) events? (?:are|is) published to "([^"]+)"$`, func(n int, topic string) error {
		return w.publishAll(mainApp, topic, payloadsFor(topic, n))
	})
	sc.Step(`^the application "([^"]+)" publishes (\d+) events? to "([^"]+)"$`, func(app string, n int, topic string) error {
		return w.publishAll(app, topic, payloadsFor(topic, n))
	})
	sc.Step(`^the payloads? (".*") (?:is|are) published to "([^"]+)"$`, func(list, topic string) error {
		return w.publishAll(mainApp, topic, quotedList(list))
	})
	sc.Step(`^publishing to "([^"]*)" is attempted$`, func(topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		ctx, cancel := stepCtx()
		defer cancel()
		w.lastErr = a.module.Publish(ctx, topic, "attempt")
		return nil
	})

	// Outcomes.
	sc.Step(`^"([^"]+)" receives (\d+) events?$`, func(name string, n int) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		if err := s.waitFor(n); err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		if got := s.count(); got != n {
			return fmt.Errorf("%q handled %d events, want exactly %d: %s", name, got, n, shortList(s.payloads()))
		}
		return nil
	})
	sc.Step(`^"([^"]+)" receives the payloads (".*") in this order$`, func(name, list string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		want := quotedList(list)
		if err := s.waitFor(len(want)); err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		if got := s.payloads(); !slices.Equal(got, want) {
			return fmt.Errorf("%q received %v, want %v", name, got, want)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" receives no events?$`, func(name string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		if n := s.count(); n != 0 {
			return fmt.Errorf("%q received %d events, want none: %s", name, n, shortList(s.payloads()))
		}
		return nil
	})
	sc.Step(`^"([^"]+)" receives every event published to "([^"]+)", in publish order$`, func(name, topic string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		want := w.published.acceptedOn(topic)
		if err := s.waitFor(len(want)); err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		if got := s.payloads(); !slices.Equal(got, want) {
			missing, dups := missingAndDuplicates(want, got)
			return fmt.Errorf("%q received %d events out of order or incomplete (missing %s, duplicated %s)", name, len(got), shortList(missing), shortList(dups))
		}
		return nil
	})
	sc.Step(`^it fails with "(.*)"$`, func(msg string) error { return w.expectLastErr(msg, "") })
	sc.Step(`^it fails with "(.*)" \((Err\w+|-)\)$`, w.expectLastErr)
	sc.Step(`^it succeeds$`, func() error {
		if w.lastErr != nil {
			return fmt.Errorf("want success, got %v", w.lastErr)
		}
		return nil
	})
	sc.Step(`^the event bus reports (\d+) dropped events?$`, func(n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if _, dropped := a.module.Stats(); dropped != uint64(n) {
			return fmt.Errorf("Stats() dropped = %d, want %d", dropped, n)
		}
		return nil
	})
}

func (w *world) startApp(name string) error {
	a, err := w.app(name)
	if err != nil {
		return err
	}
	return a.start()
}

// subscriber returns the named subscriber of the scenario.
func (w *world) subscriber(name string) (*subscriber, error) {
	s, ok := w.subs[name]
	if !ok {
		return nil, fmt.Errorf("no subscriber %q in this scenario", name)
	}
	return s, nil
}

// subscribe registers a named subscriber on the application's bus.
func (w *world) subscribe(app, name, topic string, async bool) error {
	if _, dup := w.subs[name]; dup {
		return fmt.Errorf("subscriber %q already exists", name)
	}
	a, err := w.app(app)
	if err != nil {
		return err
	}
	s := newSubscriber(name)
	s.topic = topic
	ctx, cancel := stepCtx()
	defer cancel()
	if async {
		s.sub, err = a.module.SubscribeAsync(ctx, topic, s.handle)
	} else {
		s.sub, err = a.module.Subscribe(ctx, topic, s.handle)
	}
	if err != nil {
		return fmt.Errorf("subscribe %q to %q: %w", name, topic, err)
	}
	w.subs[name] = s
	return nil
}

// publishAll publishes the payloads in order; each Publish must succeed.
func (w *world) publishAll(app, topic string, payloads []string) error {
	a, err := w.app(app)
	if err != nil {
		return err
	}
	ctx, cancel := stepCtx()
	defer cancel()
	for _, p := range payloads {
		err := a.module.Publish(ctx, topic, p)
		w.published.add(topic, p, err)
		if err != nil {
			return fmt.Errorf("publish %q to %q: %w", p, topic, err)
		}
	}
	return nil
}

// settle waits until the in-process engines of every started application
// have handled what was published to them (Flush, a delivery barrier), so
// that "exactly" and "nothing" checks are made after the events flowed.
func (w *world) settle() error {
	for _, a := range w.apps {
		if !a.started {
			continue
		}
		ctx, cancel := stepCtx()
		err := a.module.Flush(ctx)
		cancel()
		if err != nil {
			return fmt.Errorf("flush %q: %w", a.name, err)
		}
	}
	return nil
}

// expectLastErr checks the outcome of the last attempted call: an error
// whose message contains msg and, when sentinel is named, that wraps it.
func (w *world) expectLastErr(msg, sentinel string) error {
	msg = strings.ReplaceAll(msg, `\"`, `"`) // Gherkin keeps the backslashes of \" in step text
	err := w.lastErr
	if err == nil {
		return fmt.Errorf("want an error containing %q, got success", msg)
	}
	if !strings.Contains(err.Error(), msg) {
		return fmt.Errorf("error %q does not contain %q", err.Error(), msg)
	}
	if sentinel == "" || sentinel == "-" {
		return nil
	}
	target, ok := sentinels[sentinel]
	if !ok {
		return fmt.Errorf("unknown sentinel %s in the step", sentinel)
	}
	if !errors.Is(err, target) {
		return fmt.Errorf("error %q does not wrap %s", err.Error(), sentinel)
	}
	return nil
}
