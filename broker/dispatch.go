package broker

import (
	"context"
	"errors"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Outcome says what an engine must do with an event after Dispatch.
type Outcome int

const (
	// OutcomeAck: the handler succeeded (or the subscription's filter
	// rejected the event); acknowledge the event (Settle).
	OutcomeAck Outcome = iota
	// OutcomeDeadLetter: retries are exhausted (or the entry was
	// rejected); publish Result.DeadLetter, then acknowledge. If that
	// publish fails, leave the event unacknowledged so it is redelivered.
	OutcomeDeadLetter
	// OutcomeDrop: retries are exhausted and there is no dead-letter
	// topic (disabled, or the event is itself a dead letter);
	// acknowledge it. It was counted as dropped.
	OutcomeDrop
	// OutcomeLeave: do not acknowledge. Either the engine is stopping and
	// the event was between retries (the broker redelivers it), or the
	// subscription acks manually (the handler owns the ack).
	OutcomeLeave
)

func (o Outcome) String() string {
	switch o {
	case OutcomeAck:
		return "ack"
	case OutcomeDeadLetter:
		return "dead-letter"
	case OutcomeDrop:
		return "drop"
	case OutcomeLeave:
		return "leave"
	}
	return "unknown"
}

// Result is the outcome of Dispatch.
type Result struct {
	Outcome Outcome
	// Attempts is the number of handler calls made.
	Attempts int
	// Err is the last handler error (nil on success).
	Err error
	// DeadLetter is set for OutcomeDeadLetter.
	DeadLetter DeadLetter
}

// Dispatcher runs handlers for received events with the shared semantics:
// ack mode, retries with capped exponential backoff and full jitter, panic
// recovery, dead-letter decision, counters and the bus.Observer. One per
// engine; safe for concurrent use.
type Dispatcher struct {
	opts     Options
	retry    RetryPolicy
	counters *Counters
	errs     *Errors
	// observers holds the bus.Observer, resolved once on SetObserver;
	// engines also announce topic creation and deletion through it.
	observers bus.ObserverSlot
}

// NewDispatcher returns a dispatcher for o (WithDefaults is applied) that
// counts into counters and reports rejected entries to errs (both
// required). It sets counters.Topics.Limit to o.TopicLimit, so call it
// before anything is counted.
func NewDispatcher(o Options, counters *Counters, errs *Errors) *Dispatcher {
	o = o.WithDefaults()
	counters.Topics.Limit = o.TopicLimit
	return &Dispatcher{opts: o, retry: o.Retry(), counters: counters, errs: errs}
}

// Options returns the dispatcher's options (defaults applied).
func (d *Dispatcher) Options() Options { return d.opts }

// SetObserver installs o (nil removes it). Whether o is a
// bus.MessageObserver is resolved here, once.
func (d *Dispatcher) SetObserver(o bus.Observer) { d.observers.Set(o) }

// Observer returns the installed observer, or nil.
func (d *Dispatcher) Observer() bus.Observer {
	if obs := d.observers.Load(); obs != nil {
		return obs.Observer
	}
	return nil
}

// Observers returns the dispatcher's observer slot, through which an
// engine reports TopicCreated and TopicDeleted (a no-op without an
// observer). Safe for concurrent use.
func (d *Dispatcher) Observers() *bus.ObserverSlot { return &d.observers }

// Dispatch runs h for env.Event on subscription subID and returns what to
// do with the event. ctx is the handler context's parent (the engine's
// lifetime context); del (built by the engine with its ack function) is
// put into the handler context. quit is closed when the engine stops:
// a wait between retries then ends at once with OutcomeLeave, but a
// running handler call is always awaited.
//
// In AckOnReceive mode the engine settles del before calling Dispatch; in
// AckManual mode the handler is called once and the result is
// OutcomeLeave (failures are counted and observed, not retried). A
// handler result for which bus.IsFiltered holds gives OutcomeAck in every
// mode, after one call, counted in Counters.Filtered only.
func (d *Dispatcher) Dispatch(ctx context.Context, quit <-chan struct{}, subID string, h bus.EventHandler, env Envelope, del *Delivery) Result {
	del.mode = d.opts.AckMode
	if del.Topic == "" {
		del.Topic = env.Event.Topic
	}
	del.Subscription = subID
	del.CloudEvent = env.Attributes()
	hctx := WithDelivery(ctx, del)
	obs := d.observers.Load()
	tc := d.counters.Topic(env.Event.Topic) // once per event, not per attempt
	max := d.retry.Attempts()
	if d.opts.AckMode == AckManual {
		max = 1
	}
	var err error
	for attempt := 1; ; attempt++ {
		del.Attempt = attempt
		err = d.call(hctx, obs, tc, subID, h, env.Event)
		if bus.IsFiltered(err) {
			// The subscription's filter rejected the event: not a
			// delivery nor a failure, never retried; the engine
			// acknowledges it in every ack mode (no handler will).
			return Result{Outcome: OutcomeAck, Attempts: attempt}
		}
		if err == nil {
			if d.opts.AckMode == AckManual {
				return Result{Outcome: OutcomeLeave, Attempts: attempt}
			}
			return Result{Outcome: OutcomeAck, Attempts: attempt}
		}
		if attempt >= max {
			break
		}
		if !sleep(quit, d.retry.Delay(attempt)) {
			return Result{Outcome: OutcomeLeave, Attempts: attempt, Err: err}
		}
		d.counters.Retried.Add(1)
		tc.Retried.Add(1)
	}
	if d.opts.AckMode == AckManual {
		return Result{Outcome: OutcomeLeave, Attempts: max, Err: err}
	}
	return d.deadLetterOrDrop(env, subID, tc, err, max)
}

// deadLetterOrDrop returns OutcomeDeadLetter with the event's dead letter
// (counted as dead-lettered, engine-wide and on tc) or, with
// dead-lettering disabled, OutcomeDrop (counted as dropped).
func (d *Dispatcher) deadLetterOrDrop(env Envelope, subID string, tc *bus.TopicCounters, err error, attempts int) Result {
	if dl, ok := d.opts.NewDeadLetter(env, subID, err, attempts); ok {
		d.counters.DeadLettered.Add(1)
		tc.DeadLettered.Add(1)
		return Result{Outcome: OutcomeDeadLetter, Attempts: attempts, Err: err, DeadLetter: dl}
	}
	d.counters.DroppedOn(tc)
	return Result{Outcome: OutcomeDrop, Attempts: attempts, Err: err}
}

// call runs one handler call with panic recovery, counting (engine-wide
// and on the event's topic counters tc) and observing. A filtered result
// (bus.IsFiltered) is counted in Filtered only: not delivered, not failed,
// not observed as a failure.
func (d *Dispatcher) call(ctx context.Context, obs *bus.Observers, tc *bus.TopicCounters, subID string, h bus.EventHandler, e bus.Event) error {
	if obs != nil && obs.Message != nil {
		obs.Message.MessageReceived(ctx, e, subID)
	}
	d.counters.InFlight.Add(1)
	start := time.Now()
	err := bus.CallHandler(ctx, h, e)
	d.counters.InFlight.Add(-1)
	if bus.IsFiltered(err) {
		d.counters.Filtered.Add(1)
		return err
	}
	d.counters.HandlerLatency.Observe(time.Since(start))
	d.counters.Delivered.Add(1)
	tc.Delivered.Add(1)
	if err != nil {
		d.counters.Failed.Add(1)
		tc.Failed.Add(1)
		if errors.Is(err, bus.ErrHandlerPanic) {
			d.counters.Panics.Add(1)
		}
		if obs != nil {
			obs.Observer.MessageFailed(ctx, e, subID, err)
		}
	}
	return err
}

// Reject handles an entry that cannot reach a handler: undecodable (err
// wraps ErrMalformed) or oversized (err wraps bus.ErrPayloadTooLarge). It
// reports err under ScopeDecode and returns OutcomeDeadLetter (publish,
// then ack) or, with dead-lettering disabled, OutcomeDrop (ack; counted
// as dropped). Either way the entry is acked: no poison loop.
func (d *Dispatcher) Reject(topic, entryID string, raw []byte, err error) Result {
	d.errs.Report(ScopeDecode, err)
	if dl, ok := d.opts.NewRejectedDeadLetter(topic, entryID, raw, err); ok {
		d.counters.DeadLettered.Add(1)
		d.counters.Topic(topic).DeadLettered.Add(1)
		return Result{Outcome: OutcomeDeadLetter, Err: err, DeadLetter: dl}
	}
	d.counters.CountDropped(topic)
	return Result{Outcome: OutcomeDrop, Err: err}
}

// GiveUp handles an entry the engine will not hand to a handler again
// although it decoded: delivered too many times already (its consumers
// crashed or were killed while handling it, so retries never ran to their
// end). It reports reason under ScopeDeadLetter and returns
// OutcomeDeadLetter with a dead letter carrying reason and deliveries as
// its attempts or, with dead-lettering disabled, OutcomeDrop (counted as
// dropped). Either way the entry is then acked: no crash loop.
func (d *Dispatcher) GiveUp(env Envelope, subID string, reason error, deliveries int) Result {
	d.errs.Report(ScopeDeadLetter, reason)
	return d.deadLetterOrDrop(env, subID, d.counters.Topic(env.Event.Topic), reason, deliveries)
}

// sleep waits for d or until quit is closed; it reports whether the full
// wait elapsed.
func sleep(quit <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		select {
		case <-quit:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-quit:
		return false
	}
}
