package enginekit

import (
	"context"
	"runtime/debug"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// CallHandler runs handler and turns a panic into a *PanicError, so that a
// misbehaving handler never kills the goroutine that delivers events.
//
// The handler runs on a goroutine of its own, which CallHandler waits for:
// a handler that calls runtime.Goexit (t.FailNow, require.* in tests) ends
// only that goroutine, and CallHandler returns GoexitError() instead of
// never returning. That costs a goroutine start per call, nothing next to
// a broker round trip; the in-process engines, whose delivery path is
// measured in nanoseconds, detect Goexit on their own worker instead and
// replace the worker (see engines/sharded and engines/memory).
func CallHandler(ctx context.Context, handler bus.EventHandler, event bus.Event) error {
	done := make(chan error, 1)
	go func() {
		returned := false
		defer func() {
			if returned {
				return
			}
			if r := recover(); r != nil {
				done <- &bus.PanicError{Value: r, Stack: debug.Stack()}
				return
			}
			done <- bus.GoexitError()
		}()
		err := handler(ctx, event)
		returned = true
		done <- err
	}()
	return <-done
}

// HandlerContext returns the context a handler receives: the values of
// publishCtx (trace ids, tenant, request-scoped values) with the
// cancellation of lifetime (the engine's context, cancelled only when a
// Stop deadline expires) instead of the publisher's.
//
// When publishCtx carries nothing (nil, context.Background or
// context.TODO), lifetime itself is returned and nothing is allocated.
func HandlerContext(publishCtx, lifetime context.Context) context.Context {
	if publishCtx == nil || publishCtx == context.Background() || publishCtx == context.TODO() {
		return lifetime
	}
	return &handlerCtx{values: publishCtx, life: lifetime}
}

// handlerCtx delegates Value to the publisher's context and everything
// about cancellation to the engine's lifetime context.
type handlerCtx struct {
	values context.Context
	life   context.Context
}

func (c *handlerCtx) Deadline() (time.Time, bool) { return c.life.Deadline() }

func (c *handlerCtx) Done() <-chan struct{} { return c.life.Done() }

func (c *handlerCtx) Err() error { return c.life.Err() }

func (c *handlerCtx) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}
	return c.life.Value(key)
}
