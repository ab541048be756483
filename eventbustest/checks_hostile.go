package eventbustest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Checks of hostile but legal use: handlers that end their goroutine,
// nil contexts, subscriptions cancelled with events queued.

// guarded runs f on a goroutine of its own and returns its error; a panic
// is returned as an error wrapping errPanicked. A call that does not return within the delivery timeout fails the check
// at once (it would hang the suite).
func (c *checker) guarded(what string, f func() error) (err error) {
	c.t.Helper()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%s: %w: %v", what, errPanicked, r)
			}
		}()
		done <- f()
	}()
	select {
	case err = <-done:
	case <-time.After(2 * c.timeout()):
		c.t.Fatalf("%s did not return within %v", what, 2*c.timeout())
		return nil
	}
	return err
}

// errPanicked is wrapped by guarded's error for a call that panicked.
var errPanicked = errors.New("panicked")

// failureLog is an Observer that records handler failures.
type failureLog struct {
	mu   sync.Mutex
	errs []error
}

func (f *failureLog) TopicCreated(string) {}
func (f *failureLog) TopicDeleted(string) {}
func (f *failureLog) MessageFailed(_ context.Context, _ bus.Event, _ string, err error) {
	f.mu.Lock()
	f.errs = append(f.errs, err)
	f.mu.Unlock()
}

func (f *failureLog) matching(target error) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, err := range f.errs {
		if errors.Is(err, target) {
			n++
		}
	}
	return n
}

// checkGoexit: a handler that ends its goroutine with runtime.Goexit
// (t.FailNow, require.* in a test) is a failed call like a panic: counted
// (failed, panics), reported to the observer with an error matching
// bus.ErrHandlerGoexit, and neither its subscription nor any other stops
// receiving; Flush and Stop return.
func checkGoexit(c *checker) {
	b := c.started()
	var failures failureLog
	if o, ok := b.(bus.Observable); ok {
		o.SetObserver(&failures)
		defer o.SetObserver(nil)
	}
	topic, other := c.topic("goexit"), c.topic("innocent")
	exiting := func(rec *recorder) bus.EventHandler {
		var exited atomic.Bool
		return func(ctx context.Context, e bus.Event) error {
			if fmt.Sprint(e.Payload) == "exit" && exited.CompareAndSwap(false, true) {
				runtime.Goexit()
			}
			return rec.handle(ctx, e)
		}
	}
	var syncRec, asyncRec, innocentSync, innocentAsync recorder
	c.subscribe(b, false, topic, exiting(&syncRec))
	c.subscribe(b, true, topic, exiting(&asyncRec))
	c.subscribe(b, false, other, innocentSync.handle)
	c.subscribe(b, true, other, innocentAsync.handle)

	c.publish(b, topic, "exit")
	want := seq(10)
	for _, p := range want {
		c.publish(b, topic, p)
		c.publish(b, other, p)
	}
	recs := map[string]*recorder{
		"sync subscription whose handler called Goexit":  &syncRec,
		"async subscription whose handler called Goexit": &asyncRec,
		"sync subscription on another topic":             &innocentSync,
		"async subscription on another topic":            &innocentAsync,
	}
	c.eventually("every subscription to receive the 10 events after the Goexit", func() bool {
		for _, r := range recs {
			if missing, _ := missingAndDuplicates(want, r.payloads()); len(missing) > 0 {
				return false
			}
		}
		return true
	})
	for name, r := range recs {
		got := r.payloads()
		_, dups := missingAndDuplicates(want, got)
		if len(dups) > 0 && !c.cfg.Features.AtLeastOnce {
			c.t.Errorf("%s: duplicated %s", name, short(dups))
		}
	}
	if f, ok := b.(bus.Flusher); ok {
		if err := c.guarded("Flush after a handler's Goexit", func() error { return f.Flush(c.ctx()) }); err != nil {
			c.t.Errorf("Flush after a handler's Goexit: %v", err)
		}
	}
	if sp, ok := b.(bus.EngineStatsProvider); ok {
		c.eventually("EngineStats to count both Goexits as failed calls and panics", func() bool {
			s := sp.EngineStats()
			return s.Failed >= 2 && s.Panics >= 2
		})
	}
	if _, ok := b.(bus.Observable); ok {
		c.eventually("the observer to hear of both Goexits (errors matching bus.ErrHandlerGoexit)", func() bool {
			return failures.matching(bus.ErrHandlerGoexit) >= 2
		})
	}
	if err := c.guarded("Stop after a handler's Goexit", func() error { return b.Stop(c.ctx()) }); err != nil {
		c.t.Fatalf("Stop after a handler's Goexit: %v", err)
	}
	if err := c.guarded("Start after a handler's Goexit", func() error { return b.Start(c.ctx()) }); err != nil {
		c.t.Fatalf("Start after a handler's Goexit: %v", err)
	}
	c.publish(b, topic, "restarted")
	c.eventually("both subscriptions to receive after a restart", func() bool {
		return slices.Contains(syncRec.payloads(), "restarted") && slices.Contains(asyncRec.payloads(), "restarted")
	})
}

// batchPublisher is implemented by engines that publish batches.
type batchPublisher interface {
	PublishBatch(ctx context.Context, events []bus.Event) (int, error)
}

// checkNilContext: every method accepts a nil context as
// context.Background(): no panic, no hang, no later hang of Stop.
func checkNilContext(c *checker) {
	b := c.newBus()
	var nilCtx context.Context
	topic := c.topic("nilctx")
	if err := c.guarded("Start(nil)", func() error { return b.Start(nilCtx) }); err != nil {
		c.t.Fatalf("Start(nil ctx) = %v, want nil", err)
	}
	var syncRec, asyncRec recorder
	var s1, s2 bus.Subscription
	if err := c.guarded("Subscribe(nil)", func() (err error) {
		s1, err = b.Subscribe(nilCtx, topic, syncRec.handle)
		return err
	}); err != nil {
		c.t.Fatalf("Subscribe(nil ctx) = %v, want nil", err)
	}
	if err := c.guarded("SubscribeAsync(nil)", func() (err error) {
		s2, err = b.SubscribeAsync(nilCtx, topic, asyncRec.handle)
		return err
	}); err != nil {
		c.t.Fatalf("SubscribeAsync(nil ctx) = %v, want nil", err)
	}
	want := seq(3)
	for _, p := range want {
		if err := c.guarded("Publish(nil)", func() error { return b.Publish(nilCtx, bus.Event{Topic: topic, Payload: p}) }); err != nil {
			c.t.Fatalf("Publish(nil ctx) = %v, want nil", err)
		}
	}
	if bp, ok := b.(batchPublisher); ok {
		batch := []bus.Event{{Topic: topic, Payload: "e0003"}, {Topic: topic, Payload: "e0004"}}
		if err := c.guarded("PublishBatch(nil)", func() error {
			n, err := bp.PublishBatch(nilCtx, batch)
			if err == nil && n != len(batch) {
				err = fmt.Errorf("accepted %d of %d", n, len(batch))
			}
			return err
		}); err != nil {
			c.t.Fatalf("PublishBatch(nil ctx) = %v, want nil", err)
		}
		want = seq(5)
	}
	c.eventually("the events published with a nil ctx to be handled", func() bool {
		return syncRec.count() >= len(want) && asyncRec.count() >= len(want)
	})
	if f, ok := b.(bus.Flusher); ok {
		if err := c.guarded("Flush(nil)", func() error { return f.Flush(nilCtx) }); err != nil {
			c.t.Errorf("Flush(nil ctx) = %v, want nil", err)
		}
	}
	if err := c.guarded("Unsubscribe(nil)", func() error { return b.Unsubscribe(nilCtx, s1) }); err != nil {
		c.t.Errorf("Unsubscribe(nil ctx) = %v, want nil", err)
	}
	if n := b.SubscriberCount(topic); n != 1 {
		c.t.Errorf("SubscriberCount = %d after Unsubscribe(nil ctx) of one of two, want 1", n)
	}
	if err := c.guarded("Stop(nil)", func() error { return b.Stop(nilCtx) }); err != nil {
		c.t.Errorf("Stop(nil ctx) = %v, want nil", err)
	}
	if err := c.guarded("Publish(nil) after Stop", func() error { return b.Publish(nilCtx, bus.Event{Topic: topic}) }); !errors.Is(err, bus.ErrEventBusNotStarted) {
		c.t.Errorf("Publish(nil ctx) after Stop = %v, want ErrEventBusNotStarted", err)
	}
	if err := c.guarded("Unsubscribe(nil) after Stop", func() error { return b.Unsubscribe(nilCtx, s2) }); err != nil {
		c.t.Errorf("Unsubscribe(nil ctx) after Stop = %v, want nil", err)
	}
	if err := c.guarded("Stop(nil) twice", func() error { return b.Stop(nilCtx) }); err != nil {
		c.t.Errorf("second Stop(nil ctx) = %v, want nil", err)
	}
}

// deliveryStats reads delivered and dropped, from the upstream-shaped
// Stats when the engine has it and from EngineStats otherwise.
func deliveryStats(b bus.EventBus) (delivered, dropped uint64, ok bool) {
	if sp, ok := b.(bus.StatsProvider); ok {
		d, x := sp.Stats()
		return d, x, true
	}
	if sp, ok := b.(bus.EngineStatsProvider); ok {
		s := sp.EngineStats()
		return s.Delivered, s.Dropped, true
	}
	return 0, 0, false
}

// checkSkippedCounted: an accepted event that a subscription never
// handles because the subscription went away (Cancel or Unsubscribe while
// the event was queued for it) is counted as dropped, in Stats and in
// EngineStats alike: once Stop returns, every accepted event matched by the
// subscription is a handler call (Delivered) or Dropped.
//
// Broker engines (Features.Persistent) are exempt: their events live in the
// broker, not in a queue of the subscription, so a cancelled subscription
// skips nothing locally.
func checkSkippedCounted(c *checker) {
	if c.cfg.Features.Persistent {
		c.t.Skipf("broker engine: events of a cancelled subscription stay in the broker")
		return
	}
	probe := c.newBus()
	if _, _, ok := deliveryStats(probe); !ok {
		c.t.Skipf("engine reports neither Stats nor EngineStats")
		return
	}
	// Published then cancelled at once (the README Quickstart's shape),
	// and cancelled while its handler is busy with the first event.
	for _, busy := range []bool{false, true} {
		b := c.started()
		topic := c.topic(fmt.Sprint("skipped.", busy))
		d0, x0, _ := deliveryStats(b)
		var calls atomic.Int64
		entered, release := make(chan struct{}), make(chan struct{})
		var once sync.Once
		h := func(context.Context, bus.Event) error {
			calls.Add(1)
			if busy {
				once.Do(func() { close(entered); <-release })
			}
			return nil
		}
		s := c.subscribe(b, false, topic, h)
		const n = 5
		c.publish(b, topic, "e0")
		if busy {
			select {
			case <-entered:
			case <-time.After(c.timeout()):
				c.t.Fatalf("handler never called")
			}
		}
		for i := 1; i < n; i++ {
			c.publish(b, topic, fmt.Sprint("e", i))
		}
		if err := c.guarded("Cancel", s.Cancel); err != nil {
			c.t.Fatalf("Cancel: %v", err)
		}
		close(release)
		if err := b.Stop(c.ctx()); err != nil {
			c.t.Fatalf("Stop: %v", err)
		}
		d1, x1, _ := deliveryStats(b)
		delivered, dropped := d1-d0, x1-x0
		if delivered != uint64(calls.Load()) || delivered+dropped != n {
			c.t.Errorf("busy=%v: %d events accepted, %d handler calls; stats say delivered %d, dropped %d: want delivered = calls and delivered + dropped = %d",
				busy, n, calls.Load(), delivered, dropped, n)
		}
		if sp, ok := b.(bus.EngineStatsProvider); ok {
			if _, ok := b.(bus.StatsProvider); ok {
				s := sp.EngineStats()
				if sd, sx, _ := deliveryStats(b); s.Delivered != sd || s.Dropped != sx {
					c.t.Errorf("busy=%v: EngineStats delivered %d dropped %d, Stats %d %d: want the same figures", busy, s.Delivered, s.Dropped, sd, sx)
				}
			}
		}
	}
}
