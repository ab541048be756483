package kinesis

import (
	"context"
	"errors"
	"hash/fnv"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// consumer is one run (Start to Stop) of a subscription's readers.
//
// Its loop goroutine owns the shard leases of the subscription's
// consumer key. Every leaseRenewInterval it balances:
//
//  1. heartbeat: register this worker and learn the live workers;
//  2. renew the leases it holds; a lost lease stops that shard's reader
//     (another worker resumes it from the last checkpoint);
//  3. list the readable shards: not finished (checkpoint != ShardEnd)
//     and whose parents are finished or gone (trimmed). A child shard is
//     therefore read only after its parents were read to their end and
//     checkpointed ShardEnd, so one key's events stay in order across a
//     split or merge;
//  4. fair share = ceil(readable / workers): release leases above it
//     (after a final checkpoint) and acquire free or expired ones below
//     it, resuming each after its checkpoint (TRIM_HORIZON for a shard
//     without one: a child, whose records all come after its parents').
//
// Every checkpointInterval it writes each reader's watermark (fenced by
// the lease). A reader that reaches the end of a closed shard settles
// every record, checkpoints ShardEnd, releases the lease and wakes the
// loop, which refreshes the shard list and balances at once so the
// children are picked up without waiting.
type consumer struct {
	s     *subscription
	b     *EventBus
	owner string
	life  context.Context // handler contexts' parent (the engine's run)

	quit chan struct{} // closed by stop
	done chan struct{} // closed when loop returned
	wake chan struct{} // a reader finished its shard

	crash    bool // set before quit closes: stop without checkpoints or release
	stopOnce sync.Once

	mu      sync.Mutex // guards readers (written by loop, read by stats)
	readers map[string]*reader

	jobs    chan job // async subscriptions: the worker pool's input
	workers sync.WaitGroup
}

// job is one record for the async worker pool.
type job struct {
	r      *reader
	ticket uint64
	env    brokerkit.Envelope
	seq    string
}

func newConsumer(s *subscription) *consumer {
	return &consumer{
		s:       s,
		b:       s.b,
		owner:   s.id,
		life:    s.b.life,
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		wake:    make(chan struct{}, 1),
		readers: map[string]*reader{},
	}
}

// stop ends the run and waits for it. Idempotent.
func (c *consumer) stop(crash bool) {
	c.stopOnce.Do(func() {
		c.crash = crash
		close(c.quit)
	})
	<-c.done
}

// opCtx bounds one round of checkpoint-store calls.
func opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

func (c *consumer) loop() {
	defer close(c.done)
	cfg := c.b.cfg
	if c.s.async {
		c.jobs = make(chan job)
		for i := 0; i < cfg.MaxInFlight; i++ {
			c.workers.Add(1)
			go c.work()
		}
	}
	flushT := time.NewTicker(cfg.CheckpointInterval.Std())
	defer flushT.Stop()
	leaseT := time.NewTicker(cfg.LeaseRenewInterval.Std())
	defer leaseT.Stop()
	c.balance()
	for {
		select {
		case <-c.quit:
			c.shutdown()
			return
		case <-flushT.C:
			c.flush()
		case <-leaseT.C:
			c.balance()
		case <-c.wake:
			ctx, cancel := opCtx()
			if _, err := c.b.refreshShards(ctx); err != nil {
				c.b.errs.Report(broker.ScopeDiscover, err)
			}
			cancel()
			c.balance()
		}
	}
}

// shutdown stops every reader, waits for the handlers in flight and,
// unless crashing, writes final checkpoints, releases leases and leaves.
func (c *consumer) shutdown() {
	c.mu.Lock()
	readers := make([]*reader, 0, len(c.readers))
	for _, r := range c.readers {
		readers = append(readers, r)
	}
	c.mu.Unlock()
	for _, r := range readers {
		r.stop()
	}
	for _, r := range readers {
		<-r.done
	}
	if c.jobs != nil {
		close(c.jobs)
		c.workers.Wait()
	}
	if c.crash {
		return
	}
	c.flush()
	ctx, cancel := opCtx()
	defer cancel()
	k := c.s.key
	for _, r := range readers {
		if !r.ended.Load() {
			if err := c.b.checkpoints().Release(ctx, k, r.shard, c.owner); err != nil {
				c.b.errs.Report(broker.ScopeAck, err)
			}
		}
	}
	if err := c.b.checkpoints().Leave(ctx, k, c.owner); err != nil {
		c.b.errs.Report(broker.ScopeAck, err)
	}
	c.mu.Lock()
	c.readers = map[string]*reader{}
	c.mu.Unlock()
}

// flush writes each reader's watermark when it moved.
func (c *consumer) flush() {
	c.mu.Lock()
	readers := make([]*reader, 0, len(c.readers))
	for _, r := range c.readers {
		readers = append(readers, r)
	}
	c.mu.Unlock()
	ctx, cancel := opCtx()
	defer cancel()
	for _, r := range readers {
		if err := r.save(ctx); errors.Is(err, checkpoint.ErrLeaseLost) {
			c.drop(r)
		}
	}
}

// drop stops a reader whose lease was lost, without checkpointing.
func (c *consumer) drop(r *reader) {
	c.b.errs.Report(broker.ScopeAck, r.errorf("stopped reading: %w", checkpoint.ErrLeaseLost))
	r.lost.Store(true)
	r.stop()
	<-r.done
	c.mu.Lock()
	delete(c.readers, r.shard)
	c.mu.Unlock()
}

// balance is one lease round; see the type's comment.
func (c *consumer) balance() {
	ctx, cancel := opCtx()
	defer cancel()
	b, k, cfg := c.b, c.s.key, c.b.cfg
	ttl := cfg.LeaseDuration.Std()
	workers, err := b.checkpoints().Heartbeat(ctx, k, c.owner, ttl)
	if err != nil {
		b.errs.Report(broker.ScopeAck, err)
		return
	}
	// Readers that finished their shard, or lost their lease.
	c.mu.Lock()
	held := make([]*reader, 0, len(c.readers))
	for id, r := range c.readers {
		if r.ended.Load() {
			delete(c.readers, id)
			continue
		}
		held = append(held, r)
	}
	c.mu.Unlock()
	for _, r := range held {
		if err := b.checkpoints().Renew(ctx, k, r.shard, c.owner, ttl); errors.Is(err, checkpoint.ErrLeaseLost) {
			c.drop(r)
		} else if err != nil {
			b.errs.Report(broker.ScopeAck, err)
		}
	}
	set := b.shards.Load()
	cps, err := b.checkpoints().Checkpoints(ctx, k)
	if err != nil {
		b.errs.Report(broker.ScopeAck, err)
		return
	}
	leases, err := b.checkpoints().Leases(ctx, k)
	if err != nil {
		b.errs.Report(broker.ScopeAck, err)
		return
	}
	var readable []*shard
	for _, sh := range set.list {
		if cps[sh.id] == checkpoint.ShardEnd {
			continue
		}
		ready := true
		for _, p := range sh.parents() {
			if set.get(p) != nil && cps[p] != checkpoint.ShardEnd {
				ready = false
			}
		}
		if ready {
			readable = append(readable, sh)
		}
	}
	if len(readable) == 0 {
		return
	}
	n := max(len(workers), 1)
	target := (len(readable) + n - 1) / n

	c.mu.Lock()
	mine := len(c.readers)
	var extra []*reader
	for _, r := range c.readers {
		if mine-len(extra) <= target {
			break
		}
		extra = append(extra, r)
	}
	c.mu.Unlock()
	for _, r := range extra {
		c.release(ctx, r)
	}
	mine -= len(extra)

	// Start at an offset derived from the owner so that workers joining
	// together try different shards first.
	h := fnv.New32a()
	_, _ = h.Write([]byte(c.owner))
	off := int(h.Sum32() % uint32(len(readable)))
	var acquired []string
	for i := 0; i < len(readable) && mine < target; i++ {
		sh := readable[(off+i)%len(readable)]
		c.mu.Lock()
		_, have := c.readers[sh.id]
		c.mu.Unlock()
		if have {
			continue
		}
		if o, ok := leases[sh.id]; ok && o != c.owner {
			continue
		}
		ok, err := b.checkpoints().Acquire(ctx, k, sh.id, c.owner, ttl)
		if err != nil {
			b.errs.Report(broker.ScopeAck, err)
			return
		}
		if ok {
			acquired = append(acquired, sh.id)
			mine++
		}
	}
	if len(acquired) == 0 {
		return
	}
	// Re-read: a previous owner may have checkpointed between the first
	// read and the take-over.
	if fresh, err := b.checkpoints().Checkpoints(ctx, k); err == nil {
		cps = fresh
	}
	for _, id := range acquired {
		r := newReader(c, id, cps[id])
		c.mu.Lock()
		c.readers[id] = r
		c.mu.Unlock()
		go r.run()
	}
}

// release stops a reader, checkpoints it and gives its lease up.
func (c *consumer) release(ctx context.Context, r *reader) {
	r.stop()
	<-r.done
	if err := r.save(ctx); err == nil {
		if err := c.b.checkpoints().Release(ctx, c.s.key, r.shard, c.owner); err != nil {
			c.b.errs.Report(broker.ScopeAck, err)
		}
	}
	c.mu.Lock()
	delete(c.readers, r.shard)
	c.mu.Unlock()
}

// work runs async jobs until jobs is closed.
func (c *consumer) work() {
	defer c.workers.Done()
	for j := range c.jobs {
		c.handle(j.r, j.ticket, j.env, j.seq)
		j.r.inflight.Done()
	}
}

// handle dispatches one event and settles it according to the outcome.
func (c *consumer) handle(r *reader, ticket uint64, env brokerkit.Envelope, seq string) {
	b := c.b
	defer c.s.handling.Begin().End()
	del := broker.NewDelivery(b.cfg.AckMode, func() error { r.tracker.settle(ticket); return nil })
	del.ID, del.EntryID, del.Topic = env.ID, seq, env.Event.Topic
	del.Redelivered = seqAtMost(seq, r.before) // redelivery.go
	if b.cfg.AckMode == broker.AckOnReceive {
		_ = del.Settle()
	}
	res := b.dispatcher.Dispatch(c.life, c.quit, c.s.id, c.s.handler, env, del)
	switch res.Outcome {
	case brokerkit.OutcomeAck, brokerkit.OutcomeDrop:
		_ = del.Settle()
	case brokerkit.OutcomeDeadLetter:
		if c.deadLetter(res.DeadLetter) {
			_ = del.Settle()
		}
	}
}
