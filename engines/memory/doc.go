// Package memory is the channel-based in-process engine (engine type
// "memory"): the upstream package's design, made lossless and robust.
//
// Each subscription owns a bounded queue (DefaultEventBufferSize) and one
// delivery goroutine. Sync subscriptions (Subscribe) run their handler on
// that goroutine, in publish order. Async subscriptions (SubscribeAsync)
// hand each event to a shared pool of WorkerCount goroutines fed by a
// queue of MaxEventQueueSize; they give no ordering.
//
// When a subscription's queue is full, DeliveryMode decides:
//
//   - "block" (default): Publish waits for room, bounded by its ctx; lossless.
//   - "timeout": Publish waits up to PublishBlockTimeout, then drops the
//     event for that subscription, counts it and returns ErrEventDropped.
//   - "drop": Publish drops at once, counts it and returns ErrEventDropped.
//
// Upstream's default is "drop", and its Publish returns nil after a drop;
// ours is "block", and a drop is always counted and returned.
//
// Stop refuses new publishes, delivers everything queued, waits for
// handlers and returns; a restart resumes the same subscriptions. If its
// ctx expires first, the events still queued are counted as dropped; a
// handler that ignores its cancelled context keeps its subscription's
// later calls waiting (one call at a time, in order, also after the next
// Start). Handler panics are recovered and counted; they never stop a
// subscription. A handler that calls runtime.Goexit (t.FailNow,
// require.*) is counted and reported like a panic (bus.ErrHandlerGoexit):
// a new goroutine takes over the one that ended.
//
// Unsubscribe drops (counts) the events still queued for the
// subscription; it waits for a handler call in flight unless called with
// that handler's own ctx, and Cancel never waits. Every method accepts a
// nil ctx as context.Background().
//
// Poll: this engine keeps no history, so it does not implement
// bus.Poller; EventBusModule.Poll and EngineRouter.Poll on a topic routed
// to it return an error wrapping bus.ErrPollUnsupported. Use the sharded
// engine with retainEvents, or a broker engine, to poll (docs/poll.md).
// Subscription filters (bus.FilteredHandler) work: rejected events are
// counted in EngineStats.Filtered, not as deliveries or failures.
//
// The sharded ring engine (engines/sharded) is faster; this engine exists
// for drop-in compatibility with code tuned for the upstream engine.
package memory
