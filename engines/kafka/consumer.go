package kafka

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// consumerRun is one subscription's consumer group member for one engine
// run. Its goroutine (run) owns the sarama ConsumerGroup and its client,
// and loops over Consume: a session ends at every rebalance (eager
// strategies), when the subscription's topic set changed (rejoin), and
// at stop. stop cancels ctx; the goroutine then lets the running handler
// calls finish, commits the marked offsets, leaves the group and closes
// the client before closing done.
type consumerRun struct {
	s *subscription
	r *runState

	ctx    context.Context // cancelled by stop (Unsubscribe or Stop)
	cancel context.CancelFunc
	done   chan struct{}

	handler *ConsumerGroupHandler
	limiter *brokerkit.Limiter
	jobs    chan job // async subscriptions: work for the pool
	workers sync.WaitGroup

	mu       sync.Mutex
	consumeC context.CancelFunc // cancels the current Consume call
	wake     chan struct{}      // topics changed while there were none
	claims   map[*claimState]struct{}
}

// job is one record handed to the async worker pool.
type job struct {
	cs  *claimState
	msg *sarama.ConsumerMessage
}

func newConsumerRun(s *subscription, r *runState) *consumerRun {
	ctx, cancel := context.WithCancel(context.Background())
	cr := &consumerRun{
		s:       s,
		r:       r,
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
		limiter: brokerkit.NewLimiter(s.b.opts.MaxInFlight),
		wake:    make(chan struct{}, 1),
		claims:  map[*claimState]struct{}{},
	}
	cr.handler = &ConsumerGroupHandler{cr: cr}
	return cr
}

// stop asks the consumer to finish; it does not wait (see done).
func (cr *consumerRun) stop() {
	cr.mu.Lock()
	cr.cancel()
	if cr.consumeC != nil {
		cr.consumeC()
	}
	cr.mu.Unlock()
}

// rejoin ends the current session so that the next Consume call joins
// with the subscription's updated topic set.
func (cr *consumerRun) rejoin() {
	cr.mu.Lock()
	if cr.consumeC != nil {
		cr.consumeC()
	}
	cr.mu.Unlock()
	select {
	case cr.wake <- struct{}{}:
	default:
	}
}

// run is the consumer's goroutine; see consumerRun.
func (cr *consumerRun) run() {
	defer cr.r.wg.Done()
	defer close(cr.done)
	if cr.s.async {
		cr.jobs = make(chan job)
		for i := 0; i < cr.s.b.opts.MaxInFlight; i++ {
			cr.workers.Add(1)
			go cr.work()
		}
		defer func() {
			close(cr.jobs)
			cr.workers.Wait()
		}()
	}
	group := cr.openGroup()
	if group == nil {
		return // stopped before the brokers could be reached
	}
	errsDone := make(chan struct{})
	go func() {
		defer close(errsDone)
		for err := range group.Errors() {
			if cr.ctx.Err() == nil {
				cr.s.b.errs.Report(broker.ScopeRead, fmt.Errorf("kafka engine: subscription %q (group %q): %w", cr.s.topic, cr.s.group, err))
			}
		}
	}()
	cr.consume(group)
	if err := group.Close(); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
		cr.s.b.errs.Report(broker.ScopeAck, fmt.Errorf("kafka engine: subscription %q: leave group %q: %w", cr.s.topic, cr.s.group, err))
	}
	<-errsDone
	if cr.s.removed.Load() && cr.s.generated {
		// The group was this subscription's alone: drop it rather than
		// leave it in __consumer_offsets until the retention expires.
		if err := cr.r.admin.DeleteConsumerGroup(cr.s.group); err != nil &&
			!errors.Is(err, sarama.ErrGroupIDNotFound) && !errors.Is(err, sarama.ErrNonEmptyGroup) {
			cr.s.b.errs.Report(broker.ScopeAck, fmt.Errorf("kafka engine: delete group %q: %w", cr.s.group, err))
		}
	}
}

// openGroup creates the sarama consumer group, retrying with backoff until
// it succeeds or the consumer is stopped (nil then).
func (cr *consumerRun) openGroup() sarama.ConsumerGroup {
	bo := broker.Backoff{Base: 200 * time.Millisecond, Max: 5 * time.Second}
	for {
		g, err := sarama.NewConsumerGroup(cr.s.b.set.cfg.Brokers, cr.s.group, cr.s.b.set.newClientConfig())
		if err == nil {
			return g
		}
		if cr.ctx.Err() != nil {
			return nil
		}
		cr.s.b.errs.Report(broker.ScopeConnect, fmt.Errorf("kafka engine: subscription %q: open consumer group %q: %w", cr.s.topic, cr.s.group, err))
		if !sleepCtx(cr.ctx, bo.Next()) {
			return nil
		}
	}
}

// consume calls Consume until the consumer is stopped.
func (cr *consumerRun) consume(group sarama.ConsumerGroup) {
	bo := broker.Backoff{Base: 200 * time.Millisecond, Max: 5 * time.Second}
	for cr.ctx.Err() == nil {
		cr.mu.Lock()
		topics := cr.s.topicNames()
		ctx, cancel := context.WithCancel(cr.ctx)
		cr.consumeC = cancel
		cr.mu.Unlock()
		if len(topics) == 0 {
			// A wildcard with no matching topic yet: wait for the watcher.
			select {
			case <-cr.ctx.Done():
			case <-cr.wake:
			}
			cancel()
			continue
		}
		err := group.Consume(ctx, topics, cr.handler)
		cancel()
		if cr.ctx.Err() != nil {
			return
		}
		if err != nil {
			cr.s.b.errs.Report(broker.ScopeRead, fmt.Errorf("kafka engine: subscription %q: consume %v: %w", cr.s.topic, topics, err))
			if !sleepCtx(cr.ctx, bo.Next()) {
				return
			}
			continue
		}
		bo.Reset()
	}
}

// work is one goroutine of an async subscription's pool.
func (cr *consumerRun) work() {
	defer cr.workers.Done()
	for j := range cr.jobs {
		cr.handler.handle(j.cs, j.msg)
		j.cs.inflight.Done()
	}
}

func (cr *consumerRun) addClaim(cs *claimState) {
	cr.mu.Lock()
	cr.claims[cs] = struct{}{}
	cr.mu.Unlock()
}

func (cr *consumerRun) dropClaim(cs *claimState) {
	cr.mu.Lock()
	delete(cr.claims, cs)
	cr.mu.Unlock()
}

// lag sums, over the partitions this member consumes, how many records
// lie between the next offset to commit and the partition's high-water
// mark as of the last fetch.
func (cr *consumerRun) lag() (lag, pending int64) {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	for cs := range cr.claims {
		if l := cs.claim.HighWaterMarkOffset() - cs.next.Load(); l > 0 {
			lag += l
		}
		pending += int64(cs.outstanding())
	}
	return lag, pending
}

// sleepCtx waits d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
