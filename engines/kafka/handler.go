package kafka

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// ConsumerGroupHandler is the sarama.ConsumerGroupHandler behind every
// subscription (the root package aliases it as KafkaConsumerGroupHandler).
// The engine creates one per subscription and engine run; a zero value
// refuses to consume.
//
// Per claimed partition, ConsumeClaim decodes each record (CloudEvents
// binary mode), runs the subscription's handler through the shared
// dispatcher (retries with backoff, panic recovery, dead-letter topic) and
// marks the record's offset only once it is settled, in offset order (see
// claimState). When the partition is revoked or the session ends, it stops
// taking records, lets the handler calls in flight finish, and commits the
// marked offsets before returning, so the next owner resumes exactly after
// the last handled record.
type ConsumerGroupHandler struct {
	cr *consumerRun
}

var (
	errNoConsumer = errors.New("kafka engine: ConsumerGroupHandler not created by the engine")
	// errAckTooLate is returned by a manual Ack that arrives after the
	// partition was released (rebalance, Unsubscribe, Stop): the event is
	// redelivered to the partition's next owner.
	errAckTooLate = errors.New("kafka engine: ack after the partition was released; the event will be redelivered")
)

// Setup is called by sarama at the beginning of a session, before
// ConsumeClaim. It does nothing: offsets were committed by Subscribe.
func (h *ConsumerGroupHandler) Setup(sarama.ConsumerGroupSession) error {
	if h == nil || h.cr == nil {
		return errNoConsumer
	}
	return nil
}

// Cleanup is called by sarama at the end of a session, once every
// ConsumeClaim has returned; sarama then commits the marked offsets.
func (h *ConsumerGroupHandler) Cleanup(sess sarama.ConsumerGroupSession) error {
	if h == nil || h.cr == nil {
		return errNoConsumer
	}
	return nil
}

// ConsumeClaim processes the records of one partition until the claim is
// revoked, the session ends, or the subscription is stopped. It never
// returns early on a handler failure (that would end the whole session)
// and recovers handler panics.
func (h *ConsumerGroupHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	if h == nil || h.cr == nil {
		return errNoConsumer
	}
	cr := h.cr
	cs := newClaimState(cr, sess, claim)
	cr.addClaim(cs)
	defer cr.dropClaim(cs)

	// done ends when the session ends or the subscription stops.
	ctx, cancel := context.WithCancel(sess.Context())
	stopAF := context.AfterFunc(cr.ctx, cancel)
	defer func() {
		stopAF()
		cancel()
	}()
	done := ctx.Done()
	msgs := claim.Messages()
loop:
	for {
		select {
		case <-done:
			break loop
		default:
		}
		select {
		case <-done:
			break loop
		case m, ok := <-msgs:
			if !ok {
				break loop // revoked (cooperative rebalance)
			}
			if !cs.take(m.Offset, done) {
				break loop
			}
			if !cr.s.async {
				h.handle(cs, m)
				continue
			}
			cs.inflight.Add(1)
			select {
			case cr.jobs <- job{cs: cs, msg: m}:
			case <-done:
				cs.inflight.Done()
				cs.abandon(m.Offset)
				break loop
			}
		}
	}
	cs.inflight.Wait()
	cs.close()
	cs.recordTaken()
	sess.Commit()
	return nil
}

// handle decodes one record, dispatches it and settles it.
func (h *ConsumerGroupHandler) handle(cs *claimState, m *sarama.ConsumerMessage) {
	cr := h.cr
	s := cr.s
	defer s.handling.Begin().End()
	// A record handed to a worker is handled even when Stop has begun
	// (Stop waits for it): abandoning it while a later record of the
	// partition completes would hold the commit back and deliver that
	// later record again after the restart. Only a removed subscription
	// abandons what it took.
	if s.removed.Load() {
		cs.abandon(m.Offset)
		return
	}
	d := s.b.disp
	env, err := s.b.decodeRecord(m)
	if err == nil {
		err = s.b.opts.CheckPayload(m.Topic, len(m.Value))
	}
	if err != nil {
		h.finish(cs, m.Offset, d.Reject(m.Topic, entryID(m), m.Value, err), nil)
		return
	}
	if !s.async {
		s.syncMu.Lock()
		defer s.syncMu.Unlock()
	}
	off := m.Offset
	del := broker.NewDelivery(s.b.opts.AckMode, func() error {
		if !cs.settle(off) {
			return errAckTooLate
		}
		return nil
	})
	del.ID = env.ID
	del.EntryID = entryID(m)
	del.Redelivered = cs.redelivered(off)
	if s.b.opts.AckMode == broker.AckOnReceive {
		_ = del.Settle()
	}
	h.finish(cs, off, d.Dispatch(cr.r.life, cr.ctx.Done(), s.id, s.handler, env, del), del)
}

// finish acts on a dispatch result.
func (h *ConsumerGroupHandler) finish(cs *claimState, off int64, res brokerkit.Result, del *broker.Delivery) {
	settle := func() {
		if del != nil {
			_ = del.Settle()
		} else {
			cs.settle(off)
		}
	}
	switch res.Outcome {
	case brokerkit.OutcomeAck, brokerkit.OutcomeDrop:
		settle()
	case brokerkit.OutcomeDeadLetter:
		if h.cr.deadLetter(res.DeadLetter) {
			settle()
		} else {
			cs.abandon(off)
		}
	case brokerkit.OutcomeLeave:
		if h.cr.s.b.opts.AckMode != broker.AckManual {
			cs.abandon(off) // stopping between retries: redelivered later
		}
	}
}

// deadLetterGiveUpAttempts bounds the dead-letter publishes of one event
// that fail for a reason retrying cannot cure (see permanentPublishError):
// after that many, the event is dropped, reported and counted, so that it
// does not hold its partition back forever.
const deadLetterGiveUpAttempts = 5

// deadLetter publishes dl (waiting for the broker's acknowledgement),
// retrying with backoff until it succeeds or the consumer stops. It
// reports whether the record is settled: true when dl was written, and
// also when it failed deadLetterGiveUpAttempts times for a permanent
// reason (missing dead-letter topic with autoCreateTopics off, invalid
// topic name, record too large): the event is then reported under
// ScopeDeadLetter (an error wrapping ErrDeadLetterDropped) and counted as
// dropped instead of dead-lettered. On false (stopping) the record stays
// unsettled and is redelivered. Transient failures (broker unreachable)
// are retried for as long as the consumer runs, each one reported.
func (cr *consumerRun) deadLetter(dl brokerkit.DeadLetter) bool {
	bo := broker.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	b := cr.s.b
	permanent := 0
	for {
		ctx, cancel := context.WithTimeout(dl.Context(cr.ctx), 30*time.Second)
		err := b.send(ctx, cr.r, dl.Event, false)
		cancel()
		if err == nil {
			return true
		}
		if cr.ctx.Err() != nil {
			return false
		}
		if permanentPublishError(err) {
			if permanent++; permanent >= deadLetterGiveUpAttempts {
				from, _ := dl.Event.Metadata[broker.MetadataKeyDeadLetterTopic].(string)
				b.counters.DeadLetterFailed(from)
				b.errs.Report(broker.ScopeDeadLetter, fmt.Errorf("kafka engine: subscription %q: %w: event %v of %q (%s) after %d attempts to publish it to %q: %w",
					cr.s.topic, ErrDeadLetterDropped, dl.Event.Metadata[broker.MetadataKeyDeadLetterID], from, dl.Reason, permanent, dl.Topic, err))
				return true
			}
		}
		b.errs.Report(broker.ScopeDeadLetter, fmt.Errorf("kafka engine: subscription %q: dead-letter to %q: %w", cr.s.topic, dl.Topic, err))
		if !sleepCtx(cr.ctx, bo.Next()) {
			return false
		}
	}
}

// permanentPublishError reports whether a publish failed for a reason
// that retrying cannot cure without an operator: the topic does not exist
// and autoCreateTopics is off, the topic name is invalid, the record is
// too large, or access to the topic is denied.
func permanentPublishError(err error) bool {
	for _, target := range []error{ErrTopicNotFound, bus.ErrPayloadTooLarge, sarama.ErrInvalidTopic, sarama.ErrMessageSizeTooLarge,
		sarama.ErrTopicAuthorizationFailed, sarama.ErrPolicyViolation} {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}
