package eventbustest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
)

// afterSentinel publishes events and waits until a sentinel subscription
// on the same topic has received them, so that "nothing arrived elsewhere"
// is checked after the events demonstrably flowed, without sleeping.
func (c *checker) afterSentinel(b bus.EventBus, topic string, n int) {
	c.t.Helper()
	var sentinel recorder
	c.subscribe(b, false, topic, sentinel.handle)
	for i := 0; i < n; i++ {
		c.publish(b, topic, fmt.Sprintf("after-%d", i))
	}
	c.eventually("the sentinel subscription to receive the events", func() bool { return sentinel.count() >= n })
}

func checkUnsubscribe(c *checker) {
	b := c.started()
	topic := c.topic("inbox")
	var rec recorder
	s := c.subscribe(b, false, topic, rec.handle)
	c.publish(b, topic, "before")
	c.eventually("the first delivery", func() bool { return rec.count() >= 1 })

	if err := b.Unsubscribe(c.ctx(), s); err != nil {
		c.t.Fatalf("Unsubscribe: %v", err)
	}
	if n := b.SubscriberCount(topic); n != 0 {
		c.t.Errorf("SubscriberCount = %d right after Unsubscribe, want 0", n)
	}
	if slices.Contains(b.Topics(), topic) {
		c.t.Errorf("Topics() still lists %q after its only subscription was removed", topic)
	}
	c.afterSentinel(b, topic, 5)
	if n := rec.count(); n != 1 {
		c.t.Errorf("unsubscribed handler got %d events, want only the 1 from before", n)
	}
	if err := b.Unsubscribe(c.ctx(), s); err != nil {
		c.t.Errorf("second Unsubscribe = %v, want nil (idempotent)", err)
	}
	if err := s.Cancel(); err != nil {
		c.t.Errorf("Cancel after Unsubscribe = %v, want nil", err)
	}
	if err := b.Stop(c.ctx()); err != nil {
		c.t.Fatalf("Stop: %v", err)
	}
	if err := b.Unsubscribe(c.ctx(), s); err != nil {
		c.t.Errorf("Unsubscribe after Stop = %v, want nil (idempotent)", err)
	}
}

func checkCancel(c *checker) {
	b := c.started()
	topic := c.topic("cancelled")
	var rec recorder
	s := c.subscribe(b, true, topic, rec.handle)
	if s.Topic() != topic || s.ID() == "" {
		c.t.Errorf("subscription Topic()=%q ID()=%q, want topic %q and a non-empty id", s.Topic(), s.ID(), topic)
	}
	if err := s.Cancel(); err != nil {
		c.t.Fatalf("Cancel: %v", err)
	}
	if n := b.SubscriberCount(topic); n != 0 {
		c.t.Errorf("SubscriberCount = %d after Cancel, want 0", n)
	}
	c.afterSentinel(b, topic, 3)
	if n := rec.count(); n != 0 {
		c.t.Errorf("cancelled handler got %d events, want 0", n)
	}
	if err := s.Cancel(); err != nil {
		c.t.Errorf("second Cancel = %v, want nil", err)
	}
}

func checkTopicsAndCounts(c *checker) {
	b := c.started()
	noop := func(context.Context, bus.Event) error { return nil }
	a, z, p := c.topic("a"), c.topic("z"), c.topic("p.*")
	s1 := c.subscribe(b, false, a, noop)
	c.subscribe(b, true, a, noop)
	c.subscribe(b, false, z, noop)
	c.subscribe(b, false, p, noop)

	if n := b.SubscriberCount(a); n != 2 {
		c.t.Errorf("SubscriberCount(%q) = %d, want 2 (one sync, one async)", a, n)
	}
	if n := b.SubscriberCount(p); n != 1 {
		c.t.Errorf("SubscriberCount(%q) = %d, want 1", p, n)
	}
	if n := b.SubscriberCount(c.topic("none")); n != 0 {
		c.t.Errorf("SubscriberCount of an unknown topic = %d, want 0", n)
	}
	want := []string{a, p, z}
	slices.Sort(want)
	if got := withPrefix(b.Topics(), c.prefix); !slices.Equal(got, want) {
		c.t.Errorf("Topics() = %v, want %v (sorted)", got, want)
	}
	if err := b.Unsubscribe(c.ctx(), s1); err != nil {
		c.t.Fatalf("Unsubscribe: %v", err)
	}
	if n := b.SubscriberCount(a); n != 1 {
		c.t.Errorf("SubscriberCount(%q) = %d after one Unsubscribe, want 1", a, n)
	}
}

func checkStopDelivers(c *checker) {
	if c.cfg.Features.Lossy {
		c.t.Skipf("engine configured lossy: Stop may drop queued events (counted)")
		return
	}
	b := c.started()
	topic := c.topic("drain")
	var syncRec, asyncRec recorder
	slow := func(r *recorder) bus.EventHandler {
		return func(ctx context.Context, e bus.Event) error {
			time.Sleep(200 * time.Microsecond)
			return r.handle(ctx, e)
		}
	}
	c.subscribe(b, false, topic, slow(&syncRec))
	c.subscribe(b, true, topic, slow(&asyncRec))
	want := seq(300)
	for _, p := range want {
		c.publish(b, topic, p)
	}
	if err := b.Stop(c.ctx()); err != nil {
		c.t.Fatalf("Stop: %v", err)
	}
	if c.cfg.Features.Persistent {
		if err := b.Start(c.ctx()); err != nil {
			c.t.Fatalf("restart: %v", err)
		}
		c.eventually("every accepted event after the restart", func() bool {
			return syncRec.count() >= len(want) && asyncRec.count() >= len(want)
		})
	}
	for name, r := range map[string]*recorder{"sync": &syncRec, "async": &asyncRec} {
		missing, dups := missingAndDuplicates(want, r.payloads())
		if len(missing) > 0 {
			c.t.Errorf("%s subscriber: %d of %d accepted events lost across Stop: %s", name, len(missing), len(want), short(missing))
		}
		if len(dups) > 0 {
			c.t.Errorf("%s subscriber: duplicated %s", name, short(dups))
		}
	}
}

func checkNotStarted(c *checker) {
	b := c.newBus()
	topic := c.topic("early")
	if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: 1}); !errors.Is(err, bus.ErrEventBusNotStarted) {
		c.t.Errorf("Publish before Start = %v, want ErrEventBusNotStarted", err)
	}
	if err := b.Start(c.ctx()); err != nil {
		c.t.Fatalf("Start: %v", err)
	}
	if err := b.Start(c.ctx()); err != nil {
		c.t.Errorf("second Start = %v, want nil (idempotent)", err)
	}
	if err := b.Stop(c.ctx()); err != nil {
		c.t.Fatalf("Stop: %v", err)
	}
	if err := b.Stop(c.ctx()); err != nil {
		c.t.Errorf("second Stop = %v, want nil (idempotent)", err)
	}
	if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: 1}); !errors.Is(err, bus.ErrEventBusNotStarted) {
		c.t.Errorf("Publish after Stop = %v, want ErrEventBusNotStarted", err)
	}
}

func checkBadInput(c *checker) {
	b := c.started()
	topic := c.topic("bad")
	if _, err := b.Subscribe(c.ctx(), topic, nil); !errors.Is(err, bus.ErrEventHandlerNil) {
		c.t.Errorf("Subscribe(nil handler) = %v, want ErrEventHandlerNil", err)
	}
	if _, err := b.SubscribeAsync(c.ctx(), topic, nil); !errors.Is(err, bus.ErrEventHandlerNil) {
		c.t.Errorf("SubscribeAsync(nil handler) = %v, want ErrEventHandlerNil", err)
	}
	noop := func(context.Context, bus.Event) error { return nil }
	if _, err := b.Subscribe(c.ctx(), "", noop); !errors.Is(err, bus.ErrEmptyTopic) {
		c.t.Errorf("Subscribe(empty topic) = %v, want ErrEmptyTopic", err)
	}
	if err := b.Publish(c.ctx(), bus.Event{Topic: ""}); !errors.Is(err, bus.ErrEmptyTopic) {
		c.t.Errorf("Publish(empty topic) = %v, want ErrEmptyTopic", err)
	}
	if err := b.Publish(c.ctx(), bus.Event{Topic: c.topic("x.*")}); !errors.Is(err, bus.ErrWildcardPublish) {
		c.t.Errorf("Publish(wildcard topic) = %v, want ErrWildcardPublish", err)
	}
	if n := b.SubscriberCount(topic); n != 0 {
		c.t.Errorf("rejected subscriptions were counted: SubscriberCount = %d", n)
	}
}

func checkRestart(c *checker) {
	b := c.started()
	topic := c.topic("phoenix")
	var kept, fresh recorder
	c.subscribe(b, false, topic, kept.handle)
	c.publish(b, topic, "first-life")
	c.eventually("delivery before the restart", func() bool { return kept.count() >= 1 })
	if err := b.Stop(c.ctx()); err != nil {
		c.t.Fatalf("Stop: %v", err)
	}
	if n := b.SubscriberCount(topic); n != 1 {
		c.t.Errorf("SubscriberCount = %d while stopped, want 1 (subscriptions survive a restart)", n)
	}
	if err := b.Start(c.ctx()); err != nil {
		c.t.Fatalf("second Start: %v", err)
	}
	c.subscribe(b, true, topic, fresh.handle)
	c.publish(b, topic, "second-life")
	c.eventually("the surviving subscription to receive after the restart", func() bool { return kept.count() >= 2 })
	c.eventually("a new subscription to receive after the restart", func() bool { return fresh.count() >= 1 })
	if got := kept.payloads(); !slices.Equal(got, []string{"first-life", "second-life"}) {
		c.t.Errorf("surviving subscription got %v", got)
	}
}

func checkForeignUnsubscribe(c *checker) {
	one, two := c.started(), c.started()
	topic := c.topic("owned")
	var rec recorder
	s := c.subscribe(one, false, topic, rec.handle)
	if err := two.Unsubscribe(c.ctx(), s); err == nil {
		c.t.Errorf("engine two accepted to unsubscribe engine one's subscription")
	}
	if n := one.SubscriberCount(topic); n != 1 {
		c.t.Errorf("engine one SubscriberCount = %d after a foreign Unsubscribe, want 1", n)
	}
	c.publish(one, topic, "still-here")
	c.eventually("engine one to keep delivering", func() bool { return rec.count() >= 1 })
}

func checkNoLeaks(c *checker) {
	opts := append([]goleak.Option{goleak.IgnoreCurrent()}, c.cfg.Features.LeakOptions...)
	b := c.started()
	topic := c.topic("leak")
	var calls atomic.Int64
	h := func(context.Context, bus.Event) error { calls.Add(1); return nil }
	c.subscribe(b, false, topic, h)
	c.subscribe(b, true, c.topic("*"), h)
	for _, p := range seq(20) {
		c.publish(b, topic, p)
	}
	c.eventually("40 deliveries", func() bool { return calls.Load() >= 40 })
	if err := b.Stop(c.ctx()); err != nil {
		c.t.Fatalf("Stop: %v", err)
	}
	if err := goleak.Find(opts...); err != nil {
		c.t.Errorf("goroutines left after Stop: %v", err)
	}
}

// checkFlush: when Flush returns nil, every event published before it was
// handled by sync and async subscriptions; on a stopped engine Flush
// returns nil at once.
func checkFlush(c *checker) {
	b := c.started()
	f, ok := b.(bus.Flusher)
	if !ok {
		c.t.Skipf("engine does not implement bus.Flusher")
		return
	}
	topic := c.topic("barrier")
	var syncRec, asyncRec recorder
	slow := func(r *recorder) bus.EventHandler {
		return func(ctx context.Context, e bus.Event) error {
			time.Sleep(100 * time.Microsecond)
			return r.handle(ctx, e)
		}
	}
	c.subscribe(b, false, topic, slow(&syncRec))
	c.subscribe(b, true, topic, slow(&asyncRec))
	const n = 200
	for _, p := range seq(n) {
		c.publish(b, topic, p)
	}
	if err := f.Flush(c.ctx()); err != nil {
		c.t.Fatalf("Flush: %v", err)
	}
	if s, a := syncRec.count(), asyncRec.count(); s != n || a != n {
		c.t.Errorf("after Flush returned: sync handled %d, async handled %d, want %d each", s, a, n)
	}
	// A stopped engine delivers nothing more: Flush returns nil at once
	// (the module's drain and a Flush after Stop must not fail or hang).
	if err := b.Stop(c.ctx()); err != nil {
		c.t.Fatalf("Stop: %v", err)
	}
	ctx, cancel := context.WithTimeout(c.ctx(), 5*time.Second)
	defer cancel()
	if err := f.Flush(ctx); err != nil {
		c.t.Errorf("Flush on a stopped engine = %v, want nil", err)
	}
}
