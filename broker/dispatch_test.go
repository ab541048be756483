package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

type testObserver struct {
	mu       sync.Mutex
	failed   []error
	received int
}

func (o *testObserver) TopicCreated(string) {}
func (o *testObserver) TopicDeleted(string) {}
func (o *testObserver) MessageFailed(_ context.Context, _ bus.Event, _ string, err error) {
	o.mu.Lock()
	o.failed = append(o.failed, err)
	o.mu.Unlock()
}
func (o *testObserver) MessageReceived(context.Context, bus.Event, string) {
	o.mu.Lock()
	o.received++
	o.mu.Unlock()
}

func newDispatcher(o broker.Options) (*broker.Dispatcher, *broker.Counters, *broker.Errors) {
	var c broker.Counters
	errs := &broker.Errors{Engine: "test"}
	errs.SetObserver(broker.ErrorObserverFunc(func(broker.Scope, error) {}))
	return broker.NewDispatcher(o, &c, errs), &c, errs
}

var fast = broker.Options{RetryBackoff: bus.Duration(time.Millisecond), RetryBackoffMax: bus.Duration(2 * time.Millisecond)}

func env(topic string) broker.Envelope {
	return broker.Envelope{ID: "ce-1", Event: bus.Event{Topic: topic, Payload: "p", Metadata: map[string]any{"k": "v"}}}
}

func TestDispatch(t *testing.T) {
	never := make(chan struct{})

	t.Run("a successful handler is acked after one call", func(t *testing.T) {
		d, c, _ := newDispatcher(fast)
		obs := &testObserver{}
		d.SetObserver(obs)
		var got *broker.Delivery
		r := d.Dispatch(context.Background(), never, "sub-1", func(ctx context.Context, e bus.Event) error {
			got, _ = broker.DeliveryFrom(ctx)
			return nil
		}, env("t"), broker.NewDelivery("", nil))
		if r.Outcome != broker.OutcomeAck || r.Attempts != 1 || r.Err != nil {
			t.Errorf("result %+v", r)
		}
		if got == nil || got.Subscription != "sub-1" || got.Attempt != 1 || got.Topic != "t" {
			t.Errorf("delivery in handler context = %+v", got)
		}
		if s := c.EngineStats(); s.Delivered != 1 || s.Failed != 0 || s.InFlight != 0 || s.HandlerLatency.Count != 1 {
			t.Errorf("stats %+v (want one handler call in the latency histogram)", s)
		}
		if obs.received != 1 {
			t.Errorf("MessageReceived called %d times", obs.received)
		}
	})

	t.Run("a handler that fails twice then succeeds is retried and acked", func(t *testing.T) {
		d, c, _ := newDispatcher(fast)
		var calls atomic.Int32
		r := d.Dispatch(context.Background(), never, "s", func(ctx context.Context, e bus.Event) error {
			if calls.Add(1) < 3 {
				return errors.New("flaky")
			}
			return nil
		}, env("t"), broker.NewDelivery("", nil))
		if r.Outcome != broker.OutcomeAck || r.Attempts != 3 {
			t.Errorf("result %+v", r)
		}
		if s := c.EngineStats(); s.Delivered != 3 || s.Failed != 2 || s.Retried != 2 {
			t.Errorf("stats %+v", s)
		}
	})

	t.Run("a filtered event is acked after one call, counted as filtered, in every ack mode", func(t *testing.T) {
		for _, mode := range []broker.AckMode{broker.AckAfterHandle, broker.AckOnReceive, broker.AckManual} {
			o := fast
			o.AckMode = mode
			d, c, _ := newDispatcher(o)
			obs := &testObserver{}
			d.SetObserver(obs)
			var calls atomic.Int32
			h := bus.FilteredHandler(bus.Eq("k", "yes"), func(context.Context, bus.Event) error {
				calls.Add(1)
				return nil
			})
			e := env("t")
			e.Event.Payload = map[string]any{"k": "no"}
			r := d.Dispatch(context.Background(), never, "s", h, e, broker.NewDelivery("", nil))
			if r.Outcome != broker.OutcomeAck || r.Attempts != 1 || r.Err != nil {
				t.Errorf("%s: result %+v, want ack after 1 attempt", mode, r)
			}
			s := c.EngineStats()
			if s.Filtered != 1 || s.Delivered != 0 || s.Failed != 0 || s.Retried != 0 || s.DeadLettered != 0 || s.InFlight != 0 {
				t.Errorf("%s: stats %+v, want only Filtered 1", mode, s)
			}
			if ts := c.TopicStats()["t"]; ts.Delivered != 0 || ts.Failed != 0 {
				t.Errorf("%s: topic stats %+v", mode, ts)
			}
			if len(obs.failed) != 0 || calls.Load() != 0 {
				t.Errorf("%s: observer saw failures %v, inner handler called %d times", mode, obs.failed, calls.Load())
			}
		}
	})

	t.Run("a handler that keeps panicking is dead-lettered with reason and attempts", func(t *testing.T) {
		d, c, _ := newDispatcher(fast)
		obs := &testObserver{}
		d.SetObserver(obs)
		r := d.Dispatch(context.Background(), never, "s", func(context.Context, bus.Event) error { panic("boom") }, env("order.placed"), broker.NewDelivery("", nil))
		if r.Outcome != broker.OutcomeDeadLetter || r.Attempts != 4 || !errors.Is(r.Err, bus.ErrHandlerPanic) {
			t.Fatalf("result %+v", r)
		}
		dl := r.DeadLetter
		md := dl.Event.Metadata
		if dl.Topic != "dlq.order.placed" || dl.Event.Topic != dl.Topic || dl.Attempts != 4 ||
			md["deadLetterAttempts"] != 4 || md["deadLetterTopic"] != "order.placed" || md["deadLetterId"] != "ce-1" ||
			md["deadLetterSubscription"] != "s" || md["k"] != "v" || md["deadLetterReason"] != "event handler panicked: boom" || dl.Event.Payload != "p" {
			t.Errorf("dead letter %+v", dl)
		}
		if s := c.EngineStats(); s.Panics != 4 || s.Failed != 4 || s.DeadLettered != 1 || s.Retried != 3 {
			t.Errorf("stats %+v", s)
		}
		if len(obs.failed) != 4 {
			t.Errorf("observer saw %d failures, want 4", len(obs.failed))
		}
	})

	t.Run("without a dead-letter topic an exhausted event is dropped and counted", func(t *testing.T) {
		o := fast
		o.DeadLetterTopic = "-"
		o.MaxRetries = -1
		d, c, _ := newDispatcher(o)
		r := d.Dispatch(context.Background(), never, "s", func(context.Context, bus.Event) error { return errors.New("no") }, env("t"), broker.NewDelivery("", nil))
		if r.Outcome != broker.OutcomeDrop || r.Attempts != 1 || c.Dropped.Load() != 1 {
			t.Errorf("result %+v dropped %d", r, c.Dropped.Load())
		}
	})

	t.Run("a dead letter that fails again is dropped, not dead-lettered twice", func(t *testing.T) {
		o := fast
		o.MaxRetries = -1
		d, _, _ := newDispatcher(o)
		r := d.Dispatch(context.Background(), never, "s", func(context.Context, bus.Event) error { return errors.New("no") }, env("dlq.t"), broker.NewDelivery("", nil))
		if r.Outcome != broker.OutcomeDrop {
			t.Errorf("result %+v", r)
		}
	})

	t.Run("stopping between retries leaves the event unacked at once", func(t *testing.T) {
		o := broker.Options{RetryBackoff: bus.Duration(time.Hour), RetryBackoffMax: bus.Duration(time.Hour)}
		d, _, _ := newDispatcher(o)
		quit := make(chan struct{})
		done := make(chan broker.Result)
		called := make(chan struct{}, 10)
		go func() {
			done <- d.Dispatch(context.Background(), quit, "s", func(context.Context, bus.Event) error {
				called <- struct{}{}
				return errors.New("no")
			}, env("t"), broker.NewDelivery("", nil))
		}()
		<-called
		close(quit)
		select {
		case r := <-done:
			if r.Outcome != broker.OutcomeLeave || r.Attempts != 1 {
				t.Errorf("result %+v", r)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Dispatch did not return after quit")
		}
	})

	t.Run("in manual mode the handler acks through its context", func(t *testing.T) {
		o := fast
		o.AckMode = broker.AckManual
		d, c, _ := newDispatcher(o)
		var acks atomic.Int32
		del := broker.NewDelivery("", func() error { acks.Add(1); return nil })
		r := d.Dispatch(context.Background(), never, "s", func(ctx context.Context, e bus.Event) error {
			if err := broker.Ack(ctx); err != nil {
				return err
			}
			return broker.Ack(ctx) // idempotent
		}, env("t"), del)
		if r.Outcome != broker.OutcomeLeave || acks.Load() != 1 {
			t.Errorf("result %+v, acks %d", r, acks.Load())
		}
		if err := del.Settle(); err != nil || acks.Load() != 1 {
			t.Errorf("Settle after a manual Ack acked again (%d) or failed: %v", acks.Load(), err)
		}
		r = d.Dispatch(context.Background(), never, "s", func(context.Context, bus.Event) error { return errors.New("no") }, env("t"), broker.NewDelivery("", nil))
		if r.Outcome != broker.OutcomeLeave || r.Attempts != 1 || c.Retried.Load() != 0 {
			t.Errorf("manual failure: result %+v retried %d (want no retry)", r, c.Retried.Load())
		}
	})

	t.Run("Ack outside manual mode or outside a handler is refused", func(t *testing.T) {
		if err := broker.Ack(context.Background()); !errors.Is(err, broker.ErrNoDelivery) {
			t.Errorf("Ack(background) = %v", err)
		}
		d, _, _ := newDispatcher(fast)
		d.Dispatch(context.Background(), never, "s", func(ctx context.Context, e bus.Event) error {
			if err := broker.Ack(ctx); !errors.Is(err, broker.ErrNotManual) {
				t.Errorf("Ack in after-handle mode = %v", err)
			}
			return nil
		}, env("t"), broker.NewDelivery("", nil))
	})

	t.Run("a rejected entry is dead-lettered and reported", func(t *testing.T) {
		d, c, errs := newDispatcher(fast)
		r := d.Reject("t", "1-0", []byte("garbage"), fmt.Errorf("%w: bad", broker.ErrMalformed))
		if r.Outcome != broker.OutcomeDeadLetter || r.DeadLetter.Topic != "dlq.t" || string(r.DeadLetter.Event.Payload.([]byte)) != "garbage" ||
			r.DeadLetter.Event.Metadata["deadLetterId"] != "1-0" || r.DeadLetter.Event.Metadata["deadLetterAttempts"] != 0 {
			t.Errorf("result %+v", r)
		}
		if errs.Count(broker.ScopeDecode) != 1 || c.DeadLettered.Load() != 1 {
			t.Errorf("decode errors %d, dead-lettered %d", errs.Count(broker.ScopeDecode), c.DeadLettered.Load())
		}
		big := make([]byte, 5<<20)
		r = d.Reject("t", "2-0", big, &broker.PayloadSizeError{Topic: "t", Size: len(big), Limit: 4 << 20})
		if r.Outcome != broker.OutcomeDeadLetter || r.DeadLetter.Event.Payload != nil {
			t.Errorf("oversized entry dead letter carries its payload: %+v", r.DeadLetter.Event)
		}
	})
}

func TestLimiter(t *testing.T) {
	l := broker.NewLimiter(2)
	quit := make(chan struct{})
	if !l.Acquire(quit) || !l.TryAcquire() {
		t.Fatal("could not take 2 slots")
	}
	if l.TryAcquire() || l.InFlight() != 2 || l.Free() != 0 || l.Cap() != 2 {
		t.Fatalf("limiter over its cap: in flight %d", l.InFlight())
	}
	got := make(chan bool)
	go func() { got <- l.Acquire(quit) }()
	l.Release()
	if !<-got {
		t.Errorf("Acquire did not get the released slot")
	}
	go func() { got <- l.Acquire(quit) }()
	close(quit)
	if <-got {
		t.Errorf("Acquire returned true after quit")
	}
}

func TestErrors(t *testing.T) {
	var e broker.Errors
	var seen []broker.Scope
	e.SetObserver(broker.ErrorObserverFunc(func(s broker.Scope, err error) { seen = append(seen, s) }))
	e.Report(broker.ScopeRead, errors.New("x"))
	e.Report(broker.ScopeRead, errors.New("y"))
	e.Report("custom", errors.New("z"))
	e.Report(broker.ScopeAck, nil)
	if e.Count(broker.ScopeRead) != 2 || e.Count("custom") != 1 || e.Total() != 3 || len(seen) != 3 {
		t.Errorf("counts read=%d custom=%d total=%d seen=%v", e.Count(broker.ScopeRead), e.Count("custom"), e.Total(), seen)
	}
	e.SetObserver(nil)
	e.Report(broker.ScopeAck, errors.New("logged, not observed"))
	if len(seen) != 3 || e.Count(broker.ScopeAck) != 1 {
		t.Errorf("after removing the observer: seen %v, ack count %d", seen, e.Count(broker.ScopeAck))
	}
}

func TestGiveUp(t *testing.T) {
	reason := errors.New("delivered 7 times")
	t.Run("dead-letters with the deliveries as attempts", func(t *testing.T) {
		d, c, errs := newDispatcher(fast)
		r := d.GiveUp(env("jobs"), "s1", reason, 7)
		if r.Outcome != broker.OutcomeDeadLetter || r.Attempts != 7 || r.DeadLetter.Topic != "dlq.jobs" || r.DeadLetter.Attempts != 7 || r.DeadLetter.Reason != reason.Error() {
			t.Fatalf("result %+v", r)
		}
		if es, ts := c.EngineStats(), c.TopicStats()["jobs"]; es.DeadLettered != 1 || ts.DeadLettered != 1 || es.Delivered != 0 {
			t.Errorf("engine %+v, topic %+v: want one dead letter and no handler call", es, ts)
		}
		if errs.Count(broker.ScopeDeadLetter) != 1 {
			t.Errorf("the reason was not reported")
		}
	})
	t.Run("drops and counts when dead-lettering is off", func(t *testing.T) {
		o := fast
		o.DeadLetterTopic = broker.DeadLetterDisabled
		d, c, _ := newDispatcher(o)
		if r := d.GiveUp(env("jobs"), "s1", reason, 7); r.Outcome != broker.OutcomeDrop {
			t.Fatalf("outcome %v, want drop", r.Outcome)
		}
		if c.TopicStats()["jobs"].Dropped != 1 || c.EngineStats().Dropped != 1 {
			t.Errorf("the drop was not counted: %+v", c.EngineStats())
		}
	})
}
