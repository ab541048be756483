package features

import (
	"errors"
	"fmt"
	"strings"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cucumber/godog"
)

// eventTypePrefix is left out of the event types written in scenarios:
// "bus.started" stands for "com.modular.eventbus.bus.started".
const eventTypePrefix = "com.modular.eventbus."

func fullType(short string) string {
	if strings.HasPrefix(short, eventTypePrefix) {
		return short
	}
	return eventTypePrefix + short
}

func (w *world) observed() (*eventLog, error) {
	a, err := w.app(mainApp)
	if err != nil {
		return nil, err
	}
	if a.observed == nil {
		return nil, errors.New("the application is not observable (use 'an observable application configured with')")
	}
	return a.observed, nil
}

func (w *world) registerObserverSteps(sc stepRegistrar) {
	sc.Step(`^the observer saw (\d+) "([^"]+)" events?$`, func(n int, typ string) error {
		log, err := w.observed()
		if err != nil {
			return err
		}
		got := 0
		for _, e := range log.busEvents() {
			if e.Type() == fullType(typ) {
				got++
			}
		}
		if got != n {
			return fmt.Errorf("observer saw %d %s events, want %d (all: %s)", got, typ, n, describe(log.busEvents()))
		}
		return nil
	})
	sc.Step(`^the observer saw no "([^"]+)" events?$`, func(typ string) error {
		log, err := w.observed()
		if err != nil {
			return err
		}
		for _, e := range log.busEvents() {
			if e.Type() == fullType(typ) {
				return fmt.Errorf("observer saw %s: %s", typ, describe(log.busEvents()))
			}
		}
		return nil
	})
	sc.Step(`^the observer saw, in this order:$`, func(table *godog.Table) error {
		log, err := w.observed()
		if err != nil {
			return err
		}
		got := log.busEvents()
		want := table.Rows[1:]
		if len(got) != len(want) {
			return fmt.Errorf("observer saw %d events, want %d:\n  got:  %s", len(got), len(want), describe(got))
		}
		for i, row := range want {
			typ, subject := fullType(row.Cells[0].Value), row.Cells[1].Value
			if got[i].Type() != typ || got[i].Subject() != subject {
				return fmt.Errorf("event %d is %s (subject %q), want %s (subject %q)\n  got: %s", i+1, got[i].Type(), got[i].Subject(), typ, subject, describe(got))
			}
		}
		return nil
	})
	sc.Step(`^every event the observer saw has source "([^"]+)" and spec version "([^"]+)"$`, func(source, version string) error {
		log, err := w.observed()
		if err != nil {
			return err
		}
		for _, e := range log.busEvents() {
			if e.Source() != source || e.SpecVersion() != version {
				return fmt.Errorf("%s has source %q, spec version %q", e.Type(), e.Source(), e.SpecVersion())
			}
			if err := e.Validate(); err != nil {
				return fmt.Errorf("%s is not a valid CloudEvent: %w", e.Type(), err)
			}
		}
		return nil
	})
	sc.Step(`^the (?:first )?"([^"]+)" event carries:$`, func(typ string, table *godog.Table) error {
		log, err := w.observed()
		if err != nil {
			return err
		}
		for _, e := range log.busEvents() {
			if e.Type() != fullType(typ) {
				continue
			}
			data := map[string]any{}
			if err := e.DataAs(&data); err != nil {
				return fmt.Errorf("%s data: %w", typ, err)
			}
			for _, row := range table.Rows[1:] {
				key, want := row.Cells[0].Value, row.Cells[1].Value
				v, ok := data[key]
				if !ok {
					return fmt.Errorf("%s carries no %q: %v", typ, key, data)
				}
				if got := fmt.Sprint(v); got != want {
					return fmt.Errorf("%s carries %s = %q, want %q", typ, key, got, want)
				}
			}
			return nil
		}
		return fmt.Errorf("observer saw no %s: %s", typ, describe(log.busEvents()))
	})
}

// describe lists events as "type(subject)" for failure messages.
func describe(events []cloudevents.Event) string {
	parts := make([]string, len(events))
	for i, e := range events {
		parts[i] = strings.TrimPrefix(e.Type(), eventTypePrefix)
		if s := e.Subject(); s != "" {
			parts[i] += "(" + s + ")"
		}
	}
	return strings.Join(parts, ", ")
}
