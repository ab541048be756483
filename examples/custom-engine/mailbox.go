package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// Mailbox is a small third-party engine written against the contract
// package (github.com/switchyard-go/eventbus/bus) only: every
// subscription owns an unbounded FIFO mailbox and one goroutine that
// empties it.
//
//   - Publish never waits and never drops: it appends the event to the
//     mailbox of every matching subscription. The price is memory: a
//     subscriber that cannot keep up makes its mailbox grow without bound,
//     which is why the built-in engines use bounded queues instead.
//   - Subscribe handlers run one at a time, in publish order.
//     SubscribeAsync handlers run concurrently, up to AsyncLimit at once
//     per subscription.
//   - Stop refuses new publishes, then waits until every mailbox is empty
//     and every handler returned. If its ctx ends first, handler contexts
//     are cancelled, what is left is counted as dropped, and Stop returns
//     bus.ErrEventBusShutdownTimeout.
//   - The errors the upstream API documents (bus.ErrEventBusNotStarted,
//     bus.ErrEventHandlerNil, bus.ErrInvalidSubscriptionType,
//     bus.ErrEventBusShutdownTimeout) are returned as the values
//     themselves, not wrapped: code written for upstream compares them
//     with ==, and the conformance suite checks it.
//   - Flush is a delivery barrier, which the module uses to drain the
//     engine when the application shuts down.
//   - Subscriptions survive Stop: Start resumes them.
//
// All methods are safe for concurrent use.
type Mailbox struct {
	// AsyncLimit caps the handler calls running at once for one
	// SubscribeAsync subscription. Default: 8.
	AsyncLimit int

	// mu guards running, subs and the run's lifetime. Publish holds it
	// for reading while it fills mailboxes, so once Stop has taken it for
	// writing, no event can slip into a mailbox.
	mu      sync.RWMutex
	running bool
	life    context.Context // cancelled only when a Stop deadline expires
	cancel  context.CancelFunc
	subs    map[string]*mailboxSub
	// leaving holds the goroutines of subscriptions removed during this
	// run: a handler call they still run is waited for by Stop.
	leaving []chan struct{}

	published, delivered, dropped, failed, panics, filtered atomic.Uint64
}

// NewMailbox returns a stopped engine.
func NewMailbox() *Mailbox {
	return &Mailbox{AsyncLimit: 8, subs: map[string]*mailboxSub{}}
}

// NewMailboxEngine is the factory registered with eventbus.RegisterEngine:
// it reads the engine's config map (YAML "config:" of the engine), here
// one optional key, asyncLimit.
func NewMailboxEngine(cfg map[string]any) (bus.EventBus, error) {
	var c struct {
		AsyncLimit int `json:"asyncLimit"`
	}
	// DecodeConfig refuses unknown keys (a typo is an error at Init) and
	// accepts the module-level keys every engine is given.
	if err := enginekit.DecodeConfig(cfg, &c); err != nil {
		return nil, fmt.Errorf("mailbox engine: %w", err)
	}
	if c.AsyncLimit < 0 {
		return nil, fmt.Errorf("mailbox engine: asyncLimit: %d: must be >= 1", c.AsyncLimit)
	}
	m := NewMailbox()
	if c.AsyncLimit > 0 {
		m.AsyncLimit = c.AsyncLimit
	}
	return m, nil
}

// envelope is a queued event and the context it was published with, or a
// Flush marker (marker != nil), closed once everything queued before it
// was handled.
type envelope struct {
	ctx    context.Context
	event  bus.Event
	marker chan struct{}
}

// mailboxSub is a subscription: its mailbox and, while the engine runs,
// the goroutine that empties it.
type mailboxSub struct {
	m       *Mailbox
	id      string
	topic   string
	async   bool
	handler bus.EventHandler

	mu      sync.Mutex
	wake    *sync.Cond // signalled when the queue grows or the run ends
	queue   []envelope
	busy    int  // handler calls running
	closing bool // Stop: finish the queue, then exit
	removed bool // Unsubscribe: exit now, dropping the queue
	abandon bool // Stop deadline: exit now, dropping the queue
	done    chan struct{}
}

// Start starts a goroutine per subscription. Starting a running engine
// does nothing.
func (m *Mailbox) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		return nil
	}
	m.life, m.cancel = context.WithCancel(context.Background())
	m.running = true
	for _, s := range m.subs {
		s.run(m.life)
	}
	return nil
}

// Stop stops accepting events and delivers what the mailboxes hold.
func (m *Mailbox) Stop(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	m.mu.Lock()
	if !m.running {
		m.mu.Unlock()
		return nil
	}
	m.running = false
	subs := m.snapshot()
	dones := make([]chan struct{}, len(subs), len(subs)+len(m.leaving))
	for i, s := range subs {
		s.mu.Lock()
		dones[i] = s.done
		s.closing = true
		s.wake.Broadcast()
		s.mu.Unlock()
	}
	dones = append(dones, m.leaving...)
	m.leaving = nil
	cancel := m.cancel
	m.mu.Unlock()
	defer cancel()

	timedOut := false
	for _, done := range dones {
		select {
		case <-done:
		case <-ctx.Done():
			timedOut = true
		}
		if timedOut {
			break
		}
	}
	if !timedOut {
		return nil
	}
	cancel() // handlers see their context end
	for _, s := range subs {
		s.signal(func() { s.abandon = true })
	}
	for _, done := range dones {
		select {
		case <-done:
		case <-time.After(time.Second): // a handler ignoring its context
		}
	}
	return bus.ErrEventBusShutdownTimeout
}

// Publish appends the event to the mailbox of every subscription whose
// pattern matches its topic.
func (m *Mailbox) Publish(ctx context.Context, event bus.Event) error {
	if err := enginekit.ValidatePublishTopic(event.Topic); err != nil {
		return fmt.Errorf("mailbox engine: %w", err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if !m.running {
		return bus.ErrEventBusNotStarted
	}
	if event.CreatedAt.IsZero() {
		event.CreatedAt = time.Now()
	}
	m.published.Add(1)
	for _, s := range m.subs {
		if bus.MatchTopic(s.topic, event.Topic) {
			s.push(envelope{ctx: ctx, event: event})
		}
	}
	return nil
}

// Flush is a delivery barrier (bus.Flusher): it returns once every event
// published before the call was handled, or when ctx ends. It queues a
// marker behind those events in every mailbox and waits for the markers.
// The module's Flush and its drain at shutdown (PreStop) use it.
func (m *Mailbox) Flush(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	m.mu.RLock()
	var markers []chan struct{}
	if m.running {
		for _, s := range m.subs {
			mk := make(chan struct{})
			s.push(envelope{marker: mk})
			markers = append(markers, mk)
		}
	}
	m.mu.RUnlock()
	for _, mk := range markers {
		select {
		case <-mk:
		case <-ctx.Done():
			return fmt.Errorf("mailbox engine: flush: %w", ctx.Err())
		}
	}
	return nil
}

// Subscribe registers a handler called one event at a time, in order.
func (m *Mailbox) Subscribe(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return m.subscribe(topic, handler, false)
}

// SubscribeAsync registers a handler called concurrently.
func (m *Mailbox) SubscribeAsync(ctx context.Context, topic string, handler bus.EventHandler) (bus.Subscription, error) {
	return m.subscribe(topic, handler, true)
}

func (m *Mailbox) subscribe(topic string, handler bus.EventHandler, async bool) (bus.Subscription, error) {
	if err := enginekit.ValidateSubscription(topic, handler); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running {
		return nil, bus.ErrEventBusNotStarted
	}
	s := &mailboxSub{m: m, id: enginekit.NewID(), topic: topic, async: async, handler: handler}
	s.wake = sync.NewCond(&s.mu)
	m.subs[s.id] = s
	s.run(m.life)
	return s, nil
}

// Unsubscribe removes a subscription at once; events still in its mailbox
// are counted as dropped. It waits (up to a second) for a handler call in
// flight; Cancel does not, so a handler may cancel its own subscription
// (Stop waits for that call either way). Unsubscribing twice, or after
// Stop, is fine; a subscription of another engine is refused. A nil ctx
// is context.Background(), as in every method.
func (m *Mailbox) Unsubscribe(ctx context.Context, subscription bus.Subscription) error {
	s, ok := subscription.(*mailboxSub)
	if !ok || s.m != m {
		return bus.ErrInvalidSubscriptionType
	}
	return m.unsubscribe(ctx, s, true)
}

func (m *Mailbox) unsubscribe(ctx context.Context, s *mailboxSub, wait bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	m.mu.Lock()
	_, present := m.subs[s.id]
	delete(m.subs, s.id)
	m.mu.Unlock()
	if !present {
		return nil
	}
	s.mu.Lock()
	s.removed = true
	s.discard()
	done := s.done
	s.wake.Broadcast()
	s.mu.Unlock()
	if done != nil {
		m.mu.Lock()
		if m.running {
			m.leaving = slices.DeleteFunc(m.leaving, func(ch chan struct{}) bool {
				select {
				case <-ch:
					return true // exited already
				default:
					return false
				}
			})
			m.leaving = append(m.leaving, done)
		}
		m.mu.Unlock()
	}
	if done != nil && wait {
		select {
		case <-done:
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	return nil
}

// Topics returns the subscribed patterns, sorted.
func (m *Mailbox) Topics() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for _, s := range m.subs {
		out = append(out, s.topic)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// SubscriberCount returns the subscriptions on exactly this pattern.
func (m *Mailbox) SubscriberCount(topic string) int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n := 0
	for _, s := range m.subs {
		if s.topic == topic {
			n++
		}
	}
	return n
}

// Stats reports delivered and dropped events (bus.StatsProvider), which
// the module sums into its own Stats.
func (m *Mailbox) Stats() (delivered, dropped uint64) {
	return m.delivered.Load(), m.dropped.Load()
}

// EngineStats reports the engine's figures (bus.EngineStatsProvider).
func (m *Mailbox) EngineStats() bus.EngineStats {
	return bus.EngineStats{
		Published: m.published.Load(), Delivered: m.delivered.Load(), Dropped: m.dropped.Load(),
		Failed: m.failed.Load(), Filtered: m.filtered.Load(), Panics: m.panics.Load(),
	}
}

// snapshot returns the subscriptions; the caller holds m.mu.
func (m *Mailbox) snapshot() []*mailboxSub {
	out := make([]*mailboxSub, 0, len(m.subs))
	for _, s := range m.subs {
		out = append(out, s)
	}
	return out
}

// Subscription methods.

func (s *mailboxSub) Topic() string { return s.topic }
func (s *mailboxSub) ID() string    { return s.id }
func (s *mailboxSub) IsAsync() bool { return s.async }
func (s *mailboxSub) Cancel() error { return s.m.unsubscribe(context.Background(), s, false) }

// signal changes the subscription's state under its lock and wakes its
// goroutine.
func (s *mailboxSub) signal(change func()) {
	s.mu.Lock()
	change()
	s.wake.Broadcast()
	s.mu.Unlock()
}

func (s *mailboxSub) push(e envelope) {
	s.mu.Lock()
	if s.removed {
		release(e)
	} else {
		s.queue = append(s.queue, e)
		s.wake.Signal()
	}
	s.mu.Unlock()
}

// discard empties the queue: events are counted as dropped, Flush markers
// released. The caller holds s.mu.
func (s *mailboxSub) discard() {
	for _, e := range s.queue {
		if e.marker == nil {
			s.m.dropped.Add(1)
		}
		release(e)
	}
	s.queue = nil
}

// release closes the Flush marker of e, if it is one.
func release(e envelope) {
	if e.marker != nil {
		close(e.marker)
	}
}

// run starts the goroutine that empties the mailbox for one run of the
// engine (Start to Stop).
func (s *mailboxSub) run(life context.Context) {
	s.mu.Lock()
	s.closing, s.abandon = false, false
	s.done = make(chan struct{})
	done := s.done
	s.mu.Unlock()
	go func() {
		defer close(done)
		var calls sync.WaitGroup // async handler calls of this run
		defer calls.Wait()
		for {
			s.mu.Lock()
			for len(s.queue) == 0 && !s.closing && !s.removed && !s.abandon ||
				s.async && len(s.queue) > 0 && s.busy >= s.m.AsyncLimit && !s.removed && !s.abandon {
				s.wake.Wait()
			}
			if s.removed || s.abandon || (s.closing && len(s.queue) == 0) {
				if s.abandon {
					s.discard()
				}
				s.mu.Unlock()
				return
			}
			e := s.queue[0]
			s.queue[0] = envelope{}
			s.queue = s.queue[1:]
			if e.marker != nil {
				// Everything before the marker was dispatched; once the
				// calls still running return, it was all handled.
				for s.busy > 0 && !s.removed && !s.abandon {
					s.wake.Wait()
				}
				close(e.marker)
				s.mu.Unlock()
				continue
			}
			s.busy++
			s.mu.Unlock()
			if !s.async {
				s.deliver(life, e)
				continue
			}
			calls.Add(1)
			go func() {
				defer calls.Done()
				s.deliver(life, e)
			}()
		}
	}()
}

// deliver calls the handler with panic recovery and counts the outcome.
// The handler's context carries the publisher's values but ends only when
// a Stop deadline expires. A call a subscription's filter rejected
// (bus.IsFiltered, see bus.FilteredHandler) is counted as filtered: it is
// neither a delivery nor a failure.
func (s *mailboxSub) deliver(life context.Context, e envelope) {
	err := enginekit.CallHandler(enginekit.HandlerContext(e.ctx, life), s.handler, e.event)
	switch {
	case bus.IsFiltered(err):
		s.m.filtered.Add(1)
	case err != nil:
		s.m.delivered.Add(1)
		s.m.failed.Add(1)
		if errors.Is(err, bus.ErrHandlerPanic) {
			s.m.panics.Add(1)
		}
	default:
		s.m.delivered.Add(1)
	}
	s.mu.Lock()
	s.busy--
	s.wake.Broadcast()
	s.mu.Unlock()
}

var (
	_ bus.EventBus            = (*Mailbox)(nil)
	_ bus.StatsProvider       = (*Mailbox)(nil)
	_ bus.EngineStatsProvider = (*Mailbox)(nil)
	_ bus.Flusher             = (*Mailbox)(nil)
)
