package bus

import "context"

// Observer receives an engine's lifecycle notifications. The module
// installs one on every engine that implements Observable and turns the
// calls into CloudEvents (com.modular.eventbus.*).
//
// Engines call it synchronously, from the goroutine where the fact
// happened, so it must not block; it must be safe for concurrent use.
type Observer interface {
	// TopicCreated is called when the first subscription on a topic
	// pattern was registered on the engine.
	TopicCreated(topic string)
	// TopicDeleted is called when the last subscription on a topic
	// pattern was removed.
	TopicDeleted(topic string)
	// MessageFailed is called when a handler returned an error or
	// panicked (err wraps ErrHandlerPanic then).
	MessageFailed(ctx context.Context, event Event, subscriptionID string, err error)
}

// MessageObserver is an Observer that also wants to hear about every
// delivery. Engines check for it once, in SetObserver, so that when no one
// listens the per-event path costs a nil check and nothing else.
type MessageObserver interface {
	Observer
	// MessageReceived is called just before a handler is called.
	MessageReceived(ctx context.Context, event Event, subscriptionID string)
}

// Observable is implemented by engines that report to an Observer.
// SetObserver(nil) removes it. Engines may require SetObserver to be called
// before Start.
type Observable interface {
	SetObserver(o Observer)
}
