package features

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchyard-go/eventbus"
)

func (w *world) registerConfigSteps(sc stepRegistrar) {
	sc.Step(`^initialising the application is attempted$`, func() error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		w.lastErr = a.init()
		return nil
	})
	sc.Step(`^the error lists the registered engine types, among them (".*")$`, func(list string) error {
		if w.lastErr == nil {
			return errors.New("want an error, got success")
		}
		msg := w.lastErr.Error()
		_, registered, ok := strings.Cut(msg, "(registered: ")
		if !ok {
			return fmt.Errorf("error %q lists no registered engine types", msg)
		}
		registered, _, _ = strings.Cut(registered, ")")
		names := strings.Split(registered, ", ")
		for _, want := range quotedList(list) {
			found := false
			for _, n := range names {
				found = found || n == want
			}
			if !found {
				return fmt.Errorf("error %q does not list %q", msg, want)
			}
		}
		return nil
	})
	sc.Step(`^subscribing to "([^"]*)" is attempted$`, func(topic string) error {
		return w.trySubscribe(topic, func(context.Context, eventbus.Event) error { return nil })
	})
	sc.Step(`^subscribing to "([^"]*)" without a handler is attempted$`, func(topic string) error {
		return w.trySubscribe(topic, nil)
	})
	sc.Step(`^the application begins to shut down and publishing to "([^"]+)" is attempted$`, func(topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		ctx, cancel := stepCtx()
		defer cancel()
		if err := a.module.PreStop(ctx); err != nil { // what app.Stop does first
			return fmt.Errorf("PreStop: %w", err)
		}
		w.lastErr = a.module.Publish(ctx, topic, "late")
		return nil
	})
	sc.Step(`^the event bus module is stopped and publishing to "([^"]+)" is attempted$`, func(topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		ctx, cancel := stepCtx()
		defer cancel()
		if err := a.module.Stop(ctx); err != nil {
			return fmt.Errorf("Stop: %w", err)
		}
		w.lastErr = a.module.Publish(ctx, topic, "late")
		return nil
	})
}

// trySubscribe records the outcome of a Subscribe on the main application.
func (w *world) trySubscribe(topic string, h eventbus.EventHandler) error {
	a, err := w.app(mainApp)
	if err != nil {
		return err
	}
	ctx, cancel := stepCtx()
	defer cancel()
	_, w.lastErr = a.module.Subscribe(ctx, topic, h)
	return nil
}
