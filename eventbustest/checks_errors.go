package eventbustest

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// foreignSub is a subscription no engine created: Unsubscribe must refuse
// it with the documented error value.
type foreignSub struct{}

func (foreignSub) Topic() string { return "foreign" }
func (foreignSub) ID() string    { return "foreign-subscription" }
func (foreignSub) IsAsync() bool { return false }
func (foreignSub) Cancel() error { return nil }

// checkDocumentedErrors: the errors the upstream API documents are
// returned as the values themselves, not wrapped, because code written
// for upstream compares them with == (err == eventbus.ErrEventBusNotStarted).
// Each case is judged with ==, never errors.Is.
func checkDocumentedErrors(c *checker) {
	b := c.newBus()
	topic := c.topic("bare")
	noop := func(context.Context, bus.Event) error { return nil }
	want := func(what string, got, want error) {
		c.t.Helper()
		if got != want {
			c.t.Errorf("%s = %v (%T), want the value %v itself (== fails)", what, got, got, want)
		}
	}

	want("Publish before Start", b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: 1}), bus.ErrEventBusNotStarted)
	_, err := b.Subscribe(c.ctx(), topic, noop)
	want("Subscribe before Start", err, bus.ErrEventBusNotStarted)
	_, err = b.SubscribeAsync(c.ctx(), topic, noop)
	want("SubscribeAsync before Start", err, bus.ErrEventBusNotStarted)

	if err := b.Start(c.ctx()); err != nil {
		c.t.Fatalf("Start: %v", err)
	}
	_, err = b.Subscribe(c.ctx(), topic, nil)
	want("Subscribe(nil handler)", err, bus.ErrEventHandlerNil)
	_, err = b.SubscribeAsync(c.ctx(), topic, nil)
	want("SubscribeAsync(nil handler)", err, bus.ErrEventHandlerNil)
	foreign := c.cfg.Features.UnsubscribeForeignErr
	if foreign == nil {
		foreign = bus.ErrInvalidSubscriptionType
	}
	want("Unsubscribe(a subscription of no engine)", b.Unsubscribe(c.ctx(), foreignSub{}), foreign)

	// A handler that holds Stop past its deadline until its context is
	// cancelled.
	var running atomic.Bool
	release := make(chan struct{})
	c.tt.Cleanup(func() { close(release) })
	c.subscribe(b, false, topic, func(ctx context.Context, _ bus.Event) error {
		running.Store(true)
		select {
		case <-ctx.Done():
		case <-release:
		}
		return nil
	})
	c.publish(b, topic, "hold")
	c.eventually("the handler to start", running.Load)
	stopCtx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	want("Stop past its deadline", b.Stop(stopCtx), bus.ErrEventBusShutdownTimeout)

	want("Publish after Stop", b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: 2}), bus.ErrEventBusNotStarted)
	_, err = b.Subscribe(c.ctx(), topic, noop)
	want("Subscribe after Stop", err, bus.ErrEventBusNotStarted)
}
