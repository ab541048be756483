package kafka

import (
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// producer wraps sarama's AsyncProducer so that many concurrent Publish
// calls share its batches while each still waits for its own record's
// acknowledgement.
//
// Protocol: a synchronous publish puts a pooled *waiter in the message's
// Metadata and blocks on it; the single ack goroutine (loop) reads
// Successes and Errors and completes the waiter of each message. An
// asynchronous publish (producer option "async") puts its
// *brokerkit.Epoch there instead: the loop settles it there, and reports a failure
// (broker.ScopePublish) and counts it as dropped. Sarama closes both channels after AsyncClose has flushed
// every buffered message, which ends the loop; close waits for that.
type producer struct {
	ap    sarama.AsyncProducer
	done  chan struct{}
	errs  *broker.Errors
	drops func(topic string)
	// async counts the asynchronous publishes without an outcome yet, by
	// epoch: Flush waits only for those made before it.
	async brokerkit.Epochs
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
			case *brokerkit.Epoch:
				t.End()
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
			if ep, ok := e.Msg.Metadata.(*brokerkit.Epoch); ok {
				ep.End()
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
