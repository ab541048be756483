package kafka

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
)

// producer wraps sarama's AsyncProducer so that many concurrent Publish
// calls share its batches while each still waits for its own record's
// acknowledgement.
//
// Protocol: a synchronous publish puts a pooled *waiter in the message's
// Metadata and blocks on it; the single ack goroutine (loop) reads
// Successes and Errors and completes the waiter of each message. An
// asynchronous publish (producer option "async") puts the current
// *epoch there instead: the loop settles it there, and reports a failure
// (broker.ScopePublish) and counts it as dropped. Sarama closes both channels after AsyncClose has flushed
// every buffered message, which ends the loop; close waits for that.
type producer struct {
	ap    sarama.AsyncProducer
	done  chan struct{}
	errs  *broker.Errors
	drops func(topic string)
	// current is the epoch new asynchronous publishes count in (see
	// epoch); Flush closes it.
	current atomic.Pointer[epoch]
}

// epoch counts the asynchronous publishes made between two Flush calls
// that have no outcome yet. Flush starts a new epoch and waits until its
// old one and every earlier one are settled, so publishes that go on
// after the call cannot hold it up (waiting for a global zero could wait
// forever under steady publishing).
type epoch struct {
	pending atomic.Int64
	// prev is the epoch before, until a Flush saw it and all before it
	// settled (then nil, so the chain does not grow).
	prev atomic.Pointer[epoch]
}

// beginAsync counts one asynchronous publish in the current epoch and
// returns that epoch, to be settled once the publish has an outcome.
func (p *producer) beginAsync() *epoch {
	e := p.current.Load()
	e.pending.Add(1)
	return e
}

// cutEpoch starts a new epoch and returns the one it closed: every
// asynchronous publish that returned before the call is counted in it or
// in an earlier one.
func (p *producer) cutEpoch() *epoch {
	next := &epoch{}
	for {
		old := p.current.Load()
		next.prev.Store(old)
		if p.current.CompareAndSwap(old, next) {
			return old
		}
	}
}

// settled reports whether e and every epoch before it have no publish
// without an outcome; once they have, it unlinks them.
func (e *epoch) settled() bool {
	for x := e; x != nil; x = x.prev.Load() {
		if x.pending.Load() > 0 {
			return false
		}
	}
	e.prev.Store(nil)
	return true
}

// waiter carries one synchronous publish's outcome. ch has room for the
// one send the ack loop makes, so the loop never blocks on a publisher
// that gave up waiting.
type waiter struct{ ch chan error }

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan error, 1)} }}

func (b *EventBus) newProducer() (*producer, error) {
	ap, err := sarama.NewAsyncProducer(b.set.cfg.Brokers, b.set.producerConfig())
	if err != nil {
		return nil, err
	}
	p := &producer{ap: ap, done: make(chan struct{}), errs: &b.errs, drops: b.counters.CountDropped}
	p.current.Store(&epoch{})
	go p.loop()
	return p, nil
}

// loop completes the waiters of acknowledged and failed messages until
// sarama closes both channels.
func (p *producer) loop() {
	defer close(p.done)
	succ, errs := p.ap.Successes(), p.ap.Errors()
	for succ != nil || errs != nil {
		select {
		case m, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			switch t := m.Metadata.(type) {
			case *waiter:
				t.ch <- nil
			case *epoch:
				t.pending.Add(-1)
			}
			releaseMessage(m)
		case e, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if w, ok := e.Msg.Metadata.(*waiter); ok {
				w.ch <- e.Err
				releaseMessage(e.Msg)
				continue
			}
			if ep, ok := e.Msg.Metadata.(*epoch); ok {
				ep.pending.Add(-1)
			}
			p.drops(e.Msg.Topic)
			p.errs.Report(broker.ScopePublish, fmt.Errorf("kafka engine: async publish to topic %q failed: %w", e.Msg.Topic, e.Err))
			releaseMessage(e.Msg)
		}
	}
}

// close flushes every buffered message (sarama retries them per its retry
// settings) and waits until each has an outcome.
func (p *producer) close() {
	p.ap.AsyncClose()
	<-p.done
}
