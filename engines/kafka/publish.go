package kafka

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Publish writes the event to the Kafka topic named event.Topic, as a
// CloudEvent in binary mode (ce_ headers), keyed by its partition key
// (Metadata[bus.MetadataKeyPartition], else bus.WithPartitionKey, else the
// topic), so one key's events stay in order.
//
// By default it returns once the broker acknowledged the record (acks=all:
// every in-sync replica has it); concurrent publishers share sarama's
// batches. With the producer option "async" it returns once the record is
// queued in the producer, and a failure is reported to the error observer
// (SetErrorObserver) and counted as dropped.
//
// Errors: ErrEventBusNotStarted before Start and after Stop; ErrEmptyTopic
// and ErrWildcardPublish for unusable topics; a *TopicError wrapping
// ErrTopicNotFound when the topic does not exist and autoCreateTopics is
// off; an error wrapping bus.ErrPayloadTooLarge when the encoded payload
// exceeds maxPayloadBytes; the broker's error when it refused the record
// after sarama's retries. If ctx ends while waiting for the
// acknowledgement, the error wraps ctx.Err() and the record may still be
// written.
func (b *EventBus) Publish(ctx context.Context, event bus.Event) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := enginekit.ValidatePublishTopic(event.Topic); err != nil {
		return err
	}
	b.gate.RLock()
	defer b.gate.RUnlock()
	r, err := b.running()
	if err != nil {
		return err
	}
	if err := b.send(ctx, r, event, b.set.asyncPublish); err != nil {
		return err
	}
	b.counters.CountPublished(event.Topic)
	return nil
}

// send encodes e and hands it to the producer; unless async, it waits for
// the broker's acknowledgement. It does not check the engine state: the
// consumers use it for dead letters while Stop waits for them.
func (b *EventBus) send(ctx context.Context, r *runState, e bus.Event, async bool) error {
	if e.CreatedAt.IsZero() {
		e.CreatedAt = time.Now()
	}
	msg, err := b.newRecord(ctx, e)
	if err != nil {
		return fmt.Errorf("kafka engine: publish to topic %q: %w", e.Topic, err)
	}
	if err := r.topics.ensure(ctx, e.Topic, "publish"); err != nil {
		releaseMessage(msg)
		return err
	}
	var w *waiter
	var ep *brokerkit.Epoch
	if async {
		ep = r.prod.async.Begin()
		msg.Metadata = ep
	} else {
		w = waiterPool.Get().(*waiter)
		msg.Metadata = w
	}
	select {
	case r.prod.ap.Input() <- msg:
	case <-ctx.Done():
		releaseMessage(msg)
		if w != nil {
			waiterPool.Put(w)
		} else {
			ep.End()
		}
		return fmt.Errorf("kafka engine: publish to topic %q: %w", e.Topic, ctx.Err())
	}
	if async {
		return nil
	}
	select {
	case err := <-w.ch:
		waiterPool.Put(w)
		if err != nil {
			return fmt.Errorf("kafka engine: publish to topic %q: %w", e.Topic, err)
		}
		return nil
	case <-ctx.Done():
		// The ack loop will still complete w (its channel has room); it
		// is not reused.
		return fmt.Errorf("kafka engine: publish to topic %q: gave up waiting for the acknowledgement (the record may still be written): %w", e.Topic, ctx.Err())
	}
}
