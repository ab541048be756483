package kinesis

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// subscription is a registered handler and its consumer: the checkpoint
// namespace (key) it reads the stream under, and the current run of its
// readers while the bus is started.
type subscription struct {
	b       *EventBus
	id      string
	topic   string
	async   bool
	handler bus.EventHandler
	key     checkpoint.Key
	anon    bool // its own consumer: its state is deleted at Unsubscribe
	slot    int  // applicationName mode: the slot in appSlots[topic]

	serial sync.Mutex // sync subscriptions: one handler call at a time, across shards

	// handling counts the events being handled, so that Flush also waits
	// for handlers of records already settled before they ran (ack mode
	// on-receive).
	handling brokerkit.Epochs

	mu      sync.Mutex
	run     *consumer // nil while stopped
	removed bool
	// taken is, per shard, the highest sequence number this process's
	// readers of the subscription handed on, recorded when a reader ends
	// (see redelivery.go).
	taken map[string]string
}

// Topic returns the subscribed topic pattern.
func (s *subscription) Topic() string { return s.topic }

// ID returns the subscription's unique id.
func (s *subscription) ID() string { return s.id }

// IsAsync reports whether the handler runs on the worker pool.
func (s *subscription) IsAsync() bool { return s.async }

// Cancel unsubscribes; it is idempotent.
func (s *subscription) Cancel() error {
	ctx, cancel := context.WithTimeout(context.Background(), unsubscribeWait)
	defer cancel()
	return s.b.Unsubscribe(ctx, s)
}

// unsubscribeWait bounds Cancel's wait for a handler call in flight.
const unsubscribeWait = 30 * time.Second

// start begins a run of the consumer (bus started, b.mu held).
func (s *subscription) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.run != nil || s.removed {
		return
	}
	s.run = newConsumer(s)
	go s.run.loop()
}

// stop ends the current run: readers stop, handlers in flight finish,
// final checkpoints are written and leases released (unless crash, which
// only stops the goroutines, as a killed process would). Idempotent.
func (s *subscription) stop(crash bool) {
	s.mu.Lock()
	c := s.run
	s.run = nil
	s.mu.Unlock()
	if c != nil {
		c.stop(crash)
	}
}

// Subscribe registers a handler that sees the events of matching topics
// one at a time: in order within a shard (so in publish order for one
// partition key), one handler call at a time across shards. Without a
// checkpoint the subscription starts with the events published after
// Subscribe returned (startPosition "latest": Subscribe writes one marker
// record per open shard, so ctx bounds a PutRecords call) or with every
// retained record ("trim_horizon"). It returns bus.ErrEventBusNotStarted
// before Start and after Stop.
func (b *EventBus) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return b.subscribe(ctx, topic, handler, false)
}

// SubscribeAsync is Subscribe with the handler run on a pool of
// maxInFlight workers: events may be handled concurrently and out of
// order; the checkpoint only moves past a record once every record before
// it in the shard was handled.
func (b *EventBus) SubscribeAsync(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	return b.subscribe(ctx, topic, handler, true)
}

func (b *EventBus) subscribe(ctx context.Context, topic string, handler bus.EventHandler, async bool) (bus.Subscription, error) {
	if err := enginekit.ValidateSubscription(topic, handler); err != nil {
		return nil, err
	}
	s := &subscription{b: b, id: enginekit.NewID(), topic: topic, async: async, handler: handler}
	b.mu.Lock()
	if !b.started {
		b.mu.Unlock()
		return nil, bus.ErrEventBusNotStarted
	}
	if b.cfg.ApplicationName != "" {
		slots := b.appSlots[topic]
		if slots == nil {
			slots = map[int]bool{}
			b.appSlots[topic] = slots
		}
		for slots[s.slot] {
			s.slot++
		}
		slots[s.slot] = true
		s.key = checkpoint.Key{Stream: b.cfg.StreamName, Consumer: b.cfg.ApplicationName + "/" + topic + "#" + strconv.Itoa(s.slot)}
	} else {
		s.anon = true
		s.key = checkpoint.Key{Stream: b.cfg.StreamName, Consumer: "sub-" + s.id}
	}
	b.mu.Unlock()

	if err := b.initPositions(ctx, s.key); err != nil {
		b.forget(s)
		return nil, fmt.Errorf("kinesis: subscribe %q: %w", topic, err)
	}

	b.mu.Lock()
	if !b.started {
		b.mu.Unlock()
		b.forget(s)
		return nil, bus.ErrEventBusNotStarted
	}
	b.subs[s.id] = s
	first := b.topics.Add(topic)
	s.start()
	b.mu.Unlock()
	if first {
		b.dispatcher.Observers().TopicCreated(topic)
	}
	return s, nil
}

// initPositions stores the start positions of a consumer's shards that
// have no checkpoint (see startPositions).
func (b *EventBus) initPositions(ctx context.Context, k checkpoint.Key) error {
	if b.cfg.StartPosition != StartLatest {
		return nil
	}
	pos, err := b.startPositions(ctx)
	if err != nil {
		return err
	}
	return b.checkpoints().Init(ctx, k, pos)
}

// forget releases what a subscription that never ran (or was removed)
// holds: its applicationName slot and, for its own consumer, its state.
func (b *EventBus) forget(s *subscription) {
	b.mu.Lock()
	if !s.anon {
		delete(b.appSlots[s.topic], s.slot)
	}
	b.mu.Unlock()
	if s.anon {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.checkpoints().Delete(ctx, s.key); err != nil {
			b.errs.Report(broker.ScopeAck, err)
		}
	}
}

// Unsubscribe removes the subscription at once (Topics and
// SubscriberCount stop counting it), then stops its readers, waiting (up
// to ctx) for a handler call in flight, writes its final checkpoints and
// releases its leases. A subscription's own consumer state is deleted; a
// shared (applicationName) consumer keeps its checkpoints. Idempotent,
// before and after Stop; a subscription of another engine is refused with
// bus.ErrInvalidSubscriptionType itself (== holds).
func (b *EventBus) Unsubscribe(ctx context.Context, sub bus.Subscription) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, ok := sub.(*subscription)
	if !ok || s == nil || s.b != b {
		return bus.ErrInvalidSubscriptionType
	}
	b.mu.Lock()
	if _, ok := b.subs[s.id]; !ok {
		b.mu.Unlock()
		return nil
	}
	delete(b.subs, s.id)
	last := b.topics.Remove(s.topic)
	b.mu.Unlock()
	s.mu.Lock()
	s.removed = true
	s.mu.Unlock()

	done := make(chan struct{})
	b.stopping.Add(1)
	go func() {
		defer b.stopping.Done()
		s.stop(false)
		b.forget(s)
		close(done)
	}()
	if last {
		b.dispatcher.Observers().TopicDeleted(s.topic)
	}
	select {
	case <-done:
	case <-ctx.Done():
		// The stop goes on in the background; it is bounded by the
		// handler in flight.
	}
	return nil
}

// Topics returns the subscribed topic patterns, sorted.
func (b *EventBus) Topics() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Topics()
}

// SubscriberCount returns the subscriptions registered with exactly this
// topic pattern.
func (b *EventBus) SubscriberCount(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.topics.Count(topic)
}
