package features

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/switchyard-go/eventbus"
)

func (w *world) registerRoutingSteps(sc stepRegistrar) {
	routedTo := func(app, topic, want string) error {
		a, err := w.app(app)
		if err != nil {
			return err
		}
		if got := a.module.GetRouter().GetEngineForTopic(topic); got != want {
			return fmt.Errorf("GetEngineForTopic(%q) = %q, want %q", topic, got, want)
		}
		return nil
	}
	sc.Step(`^the topic "([^"]+)" is routed to the engine "([^"]+)"$`, func(topic, engine string) error {
		return routedTo(mainApp, topic, engine)
	})
	sc.Step(`^in the application "([^"]+)" the topic "([^"]+)" is routed to the engine "([^"]+)"$`, routedTo)
	sc.Step(`^the engines are (".*")$`, func(list string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		want := quotedList(list)
		if got := a.module.GetRouter().GetEngineNames(); !slices.Equal(got, want) {
			return fmt.Errorf("GetEngineNames() = %v, want %v", got, want)
		}
		return nil
	})
	sc.Step(`^the engine "([^"]+)" has delivered (\d+) events?$`, func(engine string, n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		stats, ok := a.module.PerEngineStats()[engine]
		if !ok {
			return fmt.Errorf("PerEngineStats() has no engine %q: %v", engine, a.module.PerEngineStats())
		}
		if stats.Delivered != uint64(n) {
			return fmt.Errorf("engine %q delivered %d events, want %d (all engines: %v)", engine, stats.Delivered, n, a.module.PerEngineStats())
		}
		return nil
	})
	sc.Step(`^the engine "([^"]+)" counted (\d+) failed handler calls?$`, func(engine string, n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		stats, ok := a.module.EngineStats()[engine]
		if !ok {
			return fmt.Errorf("EngineStats() has no engine %q", engine)
		}
		if stats.Failed != uint64(n) {
			return fmt.Errorf("engine %q counted %d failed handler calls, want %d", engine, stats.Failed, n)
		}
		return nil
	})
	sc.Step(`^the bus lists the topics (".*")$`, func(list string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		want := quotedList(list)
		if got := a.module.Topics(); !slices.Equal(got, want) {
			return fmt.Errorf("Topics() = %v, want %v", got, want)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" has (\d+) subscribers?$`, func(topic string, n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if got := a.module.SubscriberCount(topic); got != n {
			return fmt.Errorf("SubscriberCount(%q) = %d, want %d", topic, got, n)
		}
		return nil
	})
	sc.Step(`^the application "([^"]+)" tries to publish (\d+) events to "([^"]+)"$`, func(app string, n int, topic string) error {
		a, err := w.app(app)
		if err != nil {
			return err
		}
		w.attemptPublishes(a, topic, n)
		return nil
	})
	sc.Step(`^all (\d+) publishes failed with "(.*)"$`, func(n int, msg string) error {
		if len(w.attempts) != n {
			return fmt.Errorf("%d publishes were attempted, want %d", len(w.attempts), n)
		}
		for i, at := range w.attempts {
			if at.err == nil || !strings.Contains(at.err.Error(), msg) {
				return fmt.Errorf("publish %d returned %v, want an error containing %q", i+1, at.err, msg)
			}
		}
		return nil
	})
	sc.Step(`^starting the application "([^"]+)" is attempted$`, func(app string) error {
		a, err := w.app(app)
		if err != nil {
			return err
		}
		w.lastErr = a.start()
		return nil
	})
	sc.Step(`^stopping the application "([^"]+)" is attempted$`, func(app string) error {
		a, err := w.app(app)
		if err != nil {
			return err
		}
		w.lastErr = a.stop()
		w.snapshotHandled()
		return nil
	})
	sc.Step(`^in the application "([^"]+)" the engine "([^"]+)" is stopped$`, func(app, engine string) error {
		a, err := w.app(app)
		if err != nil {
			return err
		}
		e, err := a.module.GetRouter().Engine(engine)
		if err != nil {
			return err
		}
		err = e.Publish(context.Background(), eventbus.Event{Topic: "probe", Payload: 1})
		if !errors.Is(err, eventbus.ErrEventBusNotStarted) {
			return fmt.Errorf("engine %q accepted a publish (%v): it is still running", engine, err)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" had received (\d+) events when Stop returned$`, func(name string, n int) error {
		got, ok := w.handledAtStop[name]
		if !ok {
			return fmt.Errorf("no Stop was observed for %q", name)
		}
		if len(got) != n {
			return fmt.Errorf("%q had handled %d events when Stop returned, want %d", name, len(got), n)
		}
		return nil
	})
}
