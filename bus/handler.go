package bus

import (
	"context"
	"runtime/debug"
)

// CallHandler runs handler and turns a panic into a *PanicError, so that a
// misbehaving handler never kills the goroutine that delivers events.
func CallHandler(ctx context.Context, handler EventHandler, event Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return handler(ctx, event)
}
