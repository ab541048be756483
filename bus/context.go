package bus

import (
	"context"
	"time"
)

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
func (c *handlerCtx) Done() <-chan struct{}       { return c.life.Done() }
func (c *handlerCtx) Err() error                  { return c.life.Err() }
func (c *handlerCtx) Value(key any) any {
	if v := c.values.Value(key); v != nil {
		return v
	}
	return c.life.Value(key)
}
