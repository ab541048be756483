package bus

import (
	"context"
	"runtime/debug"
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
func CallHandler(ctx context.Context, handler EventHandler, event Event) error {
	done := make(chan error, 1)
	go func() {
		returned := false
		defer func() {
			if returned {
				return
			}
			if r := recover(); r != nil {
				done <- &PanicError{Value: r, Stack: debug.Stack()}
				return
			}
			done <- GoexitError()
		}()
		err := handler(ctx, event)
		returned = true
		done <- err
	}()
	return <-done
}
