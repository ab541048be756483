package features

import (
	"context"
	"errors"
	"fmt"
	"github.com/switchyard-go/eventbus/internal/testutil"
	"strings"
	"sync/atomic"
	"time"
)

// backgroundPublisher publishes a fixed list of events on its own
// goroutine, so that a step can look at it while it waits for room.
type backgroundPublisher struct {
	done     chan struct{}
	returned atomic.Int64
	err      error // set before done is closed
}

func (w *world) registerDeliverySteps(sc stepRegistrar) {
	var bg *backgroundPublisher

	sc.Step(`^(\d+) events are published to "([^"]+)" in the background$`, func(n int, topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		bg = &backgroundPublisher{done: make(chan struct{})}
		go func() {
			defer close(bg.done)
			for _, p := range payloadsFor(topic, n) {
				err := a.module.Publish(context.Background(), topic, p)
				w.published.add(topic, p, err)
				if err != nil {
					bg.err = fmt.Errorf("publish %q: %w", p, err)
					return
				}
				bg.returned.Add(1)
			}
		}()
		w.defer_(func() { <-bg.done })
		return nil
	})
	sc.Step(`^the publisher is still waiting while "([^"]+)" is held$`, func(name string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		// Once the held handler has an event and events queue up behind
		// it, a lossless engine cannot let the publisher finish.
		err = testutil.Poll(waitTimeout, "the held subscriber to have an event and others queued behind it", func() bool {
			var depth int64
			for _, st := range a.module.EngineStats() {
				depth += st.QueueDepth
			}
			return s.inFlight.Load() == 1 && depth > 0 && bg.returned.Load() > 0
		})
		if err != nil {
			return err
		}
		select {
		case <-bg.done:
			return fmt.Errorf("the publisher finished (%d published, error %v) while the subscriber was held", bg.returned.Load(), bg.err)
		default:
			return nil
		}
	})
	sc.Step(`^the background publisher finishes without an error$`, func() error {
		select {
		case <-bg.done:
		case <-time.After(waitTimeout):
			return fmt.Errorf("the background publisher did not finish within %v (%d published)", waitTimeout, bg.returned.Load())
		}
		return bg.err
	})
	sc.Step(`^events are published to "([^"]+)" with a (\d+)ms deadline each until one fails$`, func(topic string, ms int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		w.attempts = nil
		for _, p := range payloadsFor(topic, 10000) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(ms)*time.Millisecond)
			start := time.Now()
			err := a.module.Publish(ctx, topic, p)
			cancel()
			w.attempts = append(w.attempts, attempt{payload: p, err: err, elapsed: time.Since(start)})
			w.published.add(topic, p, err)
			if err != nil {
				return nil
			}
		}
		return errors.New("10000 publishes succeeded while the subscriber was held: the engine never made the publisher wait")
	})
	sc.Step(`^the failed publish waited at least (\d+)ms and failed with "(.*)"$`, func(ms int, msg string) error {
		if len(w.attempts) == 0 {
			return errors.New("no publish was attempted")
		}
		last := w.attempts[len(w.attempts)-1]
		if last.err == nil || !strings.Contains(last.err.Error(), msg) {
			return fmt.Errorf("the last publish returned %v, want an error containing %q", last.err, msg)
		}
		if !errors.Is(last.err, context.DeadlineExceeded) {
			return fmt.Errorf("%v does not wrap context.DeadlineExceeded", last.err)
		}
		if min := time.Duration(ms) * time.Millisecond; last.elapsed < min {
			return fmt.Errorf("the failed publish returned after %v, before its %v deadline", last.elapsed, min)
		}
		return nil
	})
	sc.Step(`^(\d+) publishes to "([^"]+)" are attempted$`, func(n int, topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		w.attemptPublishes(a, topic, n)
		return nil
	})
	sc.Step(`^some publishes failed with "(.*)" \((Err\w+)\) and the others succeeded$`, func(msg, sentinel string) error {
		failed, ok := 0, 0
		for _, at := range w.attempts {
			if at.err == nil {
				ok++
				continue
			}
			failed++
			w.lastErr = at.err
			if err := w.expectLastErr(msg, sentinel); err != nil {
				return fmt.Errorf("publish of %s: %w", at.payload, err)
			}
		}
		if failed == 0 || ok == 0 {
			return fmt.Errorf("%d publishes failed and %d succeeded, want some of each", failed, ok)
		}
		return nil
	})
	sc.Step(`^each failed publish took at least (\d+)ms$`, func(ms int) error {
		min := time.Duration(ms) * time.Millisecond
		for _, at := range w.attempts {
			if at.err != nil && at.elapsed < min {
				return fmt.Errorf("the publish of %s failed after %v, before the %v timeout", at.payload, at.elapsed, min)
			}
		}
		return nil
	})
	sc.Step(`^every publish succeeded$`, func() error {
		for _, at := range w.attempts {
			if at.err != nil {
				return fmt.Errorf("publish of %s: %w", at.payload, at.err)
			}
		}
		return nil
	})
	sc.Step(`^the event bus reports as many dropped events as failed publishes$`, func() error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		failed := 0
		for _, at := range w.attempts {
			if at.err != nil {
				failed++
			}
		}
		if _, dropped := a.module.Stats(); dropped != uint64(failed) {
			return fmt.Errorf("Stats() dropped = %d, but %d publishes failed", dropped, failed)
		}
		return nil
	})
	sc.Step(`^"([^"]+)" handled fewer than (\d+) events, the last one "([^"]+)"$`, func(name string, n int, last string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		got := s.payloads()
		if len(got) == 0 || len(got) >= n || got[len(got)-1] != last {
			return fmt.Errorf("%q handled %d events ending with %v, want fewer than %d ending with %q", name, len(got), got[max(0, len(got)-1):], n, last)
		}
		return nil
	})
	sc.Step(`^the handled and the dropped events add up to (\d+)$`, func(n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		delivered, dropped := a.module.Stats()
		if delivered+dropped != uint64(n) || dropped == 0 {
			return fmt.Errorf("delivered %d + dropped %d, want %d with some dropped", delivered, dropped, n)
		}
		return nil
	})
	sc.Step(`^the engine "([^"]+)" counted (\d+) failed handler calls?, (\d+) of them a panic$`, func(engine string, failed, panics int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if err := w.settle(); err != nil {
			return err
		}
		st, ok := a.module.EngineStats()[engine]
		if !ok {
			return fmt.Errorf("EngineStats() has no engine %q", engine)
		}
		if st.Failed != uint64(failed) || st.Panics != uint64(panics) {
			return fmt.Errorf("engine %q counted %d failed calls and %d panics, want %d and %d", engine, st.Failed, st.Panics, failed, panics)
		}
		return nil
	})
	sc.Step(`^(\d+) calls of "([^"]+)" run at the same time$`, func(n int, name string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		return testutil.Poll(waitTimeout, fmt.Sprintf("%d concurrent calls of %q (now %d)", n, name, s.inFlight.Load()), func() bool {
			return s.inFlight.Load() >= int64(n)
		})
	})
	sc.Step(`^"([^"]+)" never ran more than (\d+) calls at once$`, func(name string, n int) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		if m := s.maxInFlight.Load(); m > int64(n) {
			return fmt.Errorf("%q ran %d calls at once, want at most %d", name, m, n)
		}
		return nil
	})
}
