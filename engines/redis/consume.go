package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// subRun is one subscription's activity during one run of the bus: a
// reader goroutine (XREADGROUP on a dedicated connection), a claim
// goroutine (XAUTOCLAIM, pending stats) and, for async subscriptions,
// MaxInFlight workers.
//
// Ownership: the reader owns the others. When quit closes (Stop,
// Unsubscribe) the reader stops reading, closes jobs, waits for the
// workers (running handlers finish, their acks are queued) and the
// claimer, then closes done. Entries read but not handled stay pending
// in Redis: the next run re-reads them (its first reads use id 0, the
// consumer's own pending list) and other consumers of a shared group
// claim them after ClaimTimeout.
//
// Held entries: every entry read or claimed is in tracked until it is
// settled (in after-handle mode: until its XACK was sent). The claim
// goroutine keeps them fresh in Redis and never hands them over again, so
// an entry is never handed to this subscription a second time while it
// runs or while its ack is queued, nor taken by another consumer of a
// shared group while this one is alive (see held.go).
type subRun struct {
	s  *subscription
	rs *runState

	quit     chan struct{}
	quitOnce sync.Once
	done     chan struct{}

	wake      chan struct{} // cap 1: streams added or entries reclaimed
	reclaimed chan claimedBatch
	jobs      chan job      // async only
	readyOnce sync.Once     // closes ready
	ready     chan struct{} // own pending entries re-read: claiming may begin

	cleanupOnExit atomic.Bool // set by an Unsubscribe from the subscription's own handler

	connID  atomic.Int64  // the reader's connection id (CLIENT UNBLOCK), 0 if none
	readSeq atomic.Uint64 // completed reads (their entries tracked); see Flush

	trackMu sync.Mutex
	tracked map[entryRef]heldEntry // see held.go
	// claiming is set while the claimer's XAUTOCLAIM is in flight;
	// settled collects the entries untracked meanwhile (see untracked).
	claiming bool
	settled  map[entryRef]struct{}
}

type claimedBatch struct {
	stream string
	msgs   []goredis.XMessage
}

type job struct {
	stream string
	entry  string
	env    brokerkit.Envelope
	del    *broker.Delivery
}

func newSubRun(s *subscription, rs *runState) *subRun {
	r := &subRun{s: s, rs: rs, quit: make(chan struct{}), done: make(chan struct{}),
		wake: make(chan struct{}, 1), reclaimed: make(chan claimedBatch, 4), ready: make(chan struct{}),
		tracked: map[entryRef]heldEntry{}, settled: map[entryRef]struct{}{}}
	if s.async {
		r.jobs = make(chan job)
	}
	return r
}

func (r *subRun) launch() {
	var helpers sync.WaitGroup
	if r.s.async {
		for i := 0; i < r.s.b.cfg.MaxInFlight; i++ {
			helpers.Add(1)
			go func() {
				defer helpers.Done()
				for j := range r.jobs {
					r.process(j)
				}
			}()
		}
	}
	helpers.Add(1)
	go func() {
		defer helpers.Done()
		r.claimLoop()
	}()
	go func() {
		defer close(r.done)
		r.readLoop()
		if r.jobs != nil {
			close(r.jobs)
		}
		helpers.Wait()
		r.giveBackDeliveries()
		if r.cleanupOnExit.Load() {
			// Unsubscribed from its own handler: Unsubscribe could not
			// wait, so the cleanup it would have done happens here (Stop
			// waits for done before closing the client).
			ctx, cancel := context.WithTimeout(context.Background(), DefaultUnsubscribeWaitBound)
			r.rs.acks.flush(ctx)
			r.s.b.destroyGroups(ctx, r.rs, r.s)
			cancel()
		}
	}()
}

// signal asks the run to stop, without waiting.
func (r *subRun) signal(rs *runState) {
	r.quitOnce.Do(func() { close(r.quit) })
	r.unblock()
}

// halt asks the run to stop and waits until it did or ctx ended; it
// reports whether it did. The reader may be about to block when it is
// told, so the unblock is repeated until it is gone.
func (r *subRun) halt(ctx context.Context, rs *runState) bool {
	r.signal(rs)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-r.done:
			return true
		case <-ctx.Done():
			return false
		case <-tick.C:
			r.unblock()
		}
	}
}

// unblock interrupts the reader's XREADGROUP BLOCK, if it is in one
// (CLIENT UNBLOCK: the read returns as if it timed out).
func (r *subRun) unblock() {
	id := r.connID.Load()
	if id == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = r.rs.client.ClientUnblock(ctx, id).Err() // best effort: the block times out anyway
}

// nudge wakes the reader to pick up new streams or reclaimed entries.
func (r *subRun) nudge() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
	r.unblock()
}

func (r *subRun) quitting() bool {
	select {
	case <-r.quit:
		return true
	default:
		return false
	}
}

// readLoop is the reader goroutine.
func (r *subRun) readLoop() {
	var conn *goredis.Conn
	closeConn := func() {
		if conn != nil {
			r.connID.Store(0)
			_ = conn.Close()
			conn = nil
		}
	}
	defer closeConn()
	defer r.readyOnce.Do(func() { close(r.ready) })
	b := r.s.b
	backoff := broker.Backoff{Base: 50 * time.Millisecond, Max: 5 * time.Second}
	// cursors: nil while reading new entries (">"); during the first
	// phase, the next id of each stream's own pending list.
	cursors := map[string]string{}
	ownPending := true
	recover := false
	for !r.restoreGroups() {
		r.sleep(backoff.Next())
		if r.quitting() {
			return
		}
	}
	for !r.quitting() {
		if !r.drainReclaimed() {
			return
		}
		streams := r.s.streamList()
		if len(streams) == 0 {
			r.idle(b.cfg.BlockTimeout.Std())
			continue
		}
		if conn == nil && recover {
			// After a connection error, entries may sit in our pending
			// list that we never received (the reply was lost). Re-read
			// the pending list, once in-flight work is settled and its
			// acks are sent, so none of those is handled twice.
			if !r.quiesce() {
				return
			}
			recover = false
			ownPending = true
			clear(cursors)
		}
		if conn == nil {
			conn = r.rs.client.Conn()
			id, err := conn.ClientID(r.rs.life).Result()
			if err != nil {
				closeConn()
				b.errs.Report(broker.ScopeRead, fmt.Errorf("subscription %s: connect: %w", r.s.topic, err))
				r.sleep(backoff.Next())
				continue
			}
			r.connID.Store(id)
		}
		args := &goredis.XReadGroupArgs{Group: r.s.group, Consumer: r.s.consumer, Count: int64(b.cfg.ReadCount)}
		args.Streams = make([]string, 0, 2*len(streams))
		args.Streams = append(args.Streams, streams...)
		if ownPending {
			args.Block = -1 // no BLOCK: the pending list answers at once
			for _, k := range streams {
				c, ok := cursors[k]
				if !ok {
					c = "0"
				}
				args.Streams = append(args.Streams, c)
			}
		} else {
			args.Block = b.cfg.BlockTimeout.Std()
			for range streams {
				args.Streams = append(args.Streams, ">")
			}
		}
		res, err := conn.XReadGroup(r.rs.life, args).Result()
		if r.quitting() {
			return // anything just read stays pending: re-read next run
		}
		if errors.Is(err, goredis.Nil) {
			r.readSeq.Add(1) // a read that found nothing also completed
			err = nil
		}
		if err != nil {
			if isNoGroup(err) {
				// The stream or the group vanished (deleted, or Redis
				// restarted without persistence): recreate from the start
				// of the (new) stream, so nothing added since is missed.
				r.recreateGroups(streams)
				continue
			}
			var rerr goredis.Error
			if !errors.As(err, &rerr) {
				closeConn() // a network error poisons the dedicated connection
				recover = true
			}
			b.errs.Report(broker.ScopeRead, fmt.Errorf("subscription %s: XREADGROUP: %w", r.s.topic, err))
			r.sleep(backoff.Next())
			continue
		}
		backoff.Reset()
		got := 0
		for _, st := range res {
			got += len(st.Messages)
			if ownPending && len(st.Messages) > 0 {
				cursors[st.Stream] = st.Messages[len(st.Messages)-1].ID
			}
			var deliveries int64 = 1 // a fresh read: its first delivery
			if ownPending {
				deliveries = 0 // known once deliveryCounts answered
			}
			r.track(st.Stream, st.Messages, deliveries)
		}
		r.readSeq.Add(1)
		for _, st := range res {
			var counts map[string]int64
			if ownPending {
				counts = r.deliveryCounts(st.Stream, st.Messages)
			}
			for _, m := range st.Messages {
				// Stopping or unsubscribed: the rest stays pending (re-read
				// next run, or claimed by another consumer of the group).
				if r.quitting() || !r.handle(st.Stream, m, ownPending, counts[m.ID]) {
					return
				}
			}
		}
		if ownPending && got == 0 {
			ownPending = false
			r.readyOnce.Do(func() { close(r.ready) })
		}
	}
}

// quiesce waits until nothing read by this run is in flight, then flushes
// the queued acks. It returns false when the run is stopping.
func (r *subRun) quiesce() bool {
	for {
		if !r.drainReclaimed() {
			return false
		}
		r.trackMu.Lock()
		n := len(r.tracked)
		r.trackMu.Unlock()
		if n == 0 {
			break
		}
		r.sleep(5 * time.Millisecond)
		if r.quitting() {
			return false
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { // the flush waits for Redis; stop waiting when told to quit
		select {
		case <-r.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	r.rs.acks.flush(ctx)
	return !r.quitting()
}

// drainReclaimed handles entries the claimer took over; false when the
// run is stopping.
func (r *subRun) drainReclaimed() bool {
	for {
		select {
		case cb := <-r.reclaimed:
			counts := r.deliveryCounts(cb.stream, cb.msgs)
			for _, m := range cb.msgs {
				if r.quitting() || !r.handle(cb.stream, m, true, counts[m.ID]) {
					return false
				}
			}
		default:
			return true
		}
	}
}

// idle waits for new streams, a stop, or d.
func (r *subRun) idle(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.wake:
	case <-r.quit:
	case <-t.C:
	}
}

// sleep waits d or until quit.
func (r *subRun) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.quit:
	case <-t.C:
	}
}

func (r *subRun) recreateGroups(streams []string) {
	for _, k := range streams {
		if err := createGroup(r.rs.life, r.rs.client, k, r.s.group, "0"); err != nil {
			r.s.b.errs.Report(broker.ScopeRead, fmt.Errorf("subscription %s: %w", r.s.topic, err))
			r.sleep(100 * time.Millisecond)
			return
		}
	}
}

// deliveryCounts returns how often Redis delivered each of msgs (entries
// of stream pending for this consumer, read again or just claimed), from
// the group's pending list (extended XPENDING); nil when
// MaxDeliveries is off. An entry missing from the answer counts as 0 (not
// bounded this time), and so does every entry when XPENDING fails (the
// failure is reported).
func (r *subRun) deliveryCounts(stream string, msgs []goredis.XMessage) (counts map[string]int64) {
	b := r.s.b
	if b.cfg.MaxDeliveries < 0 || len(msgs) == 0 {
		return nil
	}
	defer func() { r.noteDeliveries(stream, counts) }()
	list, err := r.rs.client.XPendingExt(r.rs.life, &goredis.XPendingExtArgs{
		Stream: stream, Group: r.s.group, Consumer: r.s.consumer,
		Start: msgs[0].ID, End: msgs[len(msgs)-1].ID, Count: int64(2*len(msgs) + 64),
	}).Result()
	if err != nil {
		if !r.quitting() {
			b.errs.Report(broker.ScopeReclaim, fmt.Errorf("XPENDING %s %s: %w", stream, r.s.group, err))
		}
		return nil
	}
	counts = make(map[string]int64, len(list))
	for _, p := range list {
		counts[p.ID] = p.RetryCount
	}
	return counts
}

// handle decodes one entry and runs (sync) or queues (async) its handler.
// deliveries is how often Redis delivered it (0: not known); above
// MaxDeliveries the entry is dead-lettered without calling the handler.
// It returns false when the run is stopping and the entry was left
// pending.
func (r *subRun) handle(stream string, m goredis.XMessage, redelivered bool, deliveries int64) bool {
	b := r.s.b
	if m.Values == nil {
		// A pending entry whose data was trimmed (MAXLEN) or deleted:
		// nothing to deliver, only to acknowledge.
		r.ack(stream, m.ID)
		return true
	}
	topic := b.topicOf(stream)
	bm := entryMessage(m.Values)
	if err := b.cfg.Options.CheckPayload(topic, len(bm.Data)); err != nil {
		r.settle(stream, m.ID, nil, b.dispatcher.Reject(topic, m.ID, bm.Data, err))
		return true
	}
	env, err := decodeEntry(bm)
	if err != nil {
		r.settle(stream, m.ID, nil, b.dispatcher.Reject(topic, m.ID, malformedPayload(m.Values, err), fmt.Errorf("entry %s of %s: %w", m.ID, stream, err)))
		return true
	}
	env.Event.Topic = topic
	if max := b.cfg.MaxDeliveries; max > 0 && deliveries > int64(max) {
		reason := fmt.Errorf("%w: entry %s of %s delivered %d times (maxDeliveries %d)", ErrTooManyDeliveries, m.ID, stream, deliveries, max)
		r.settle(stream, m.ID, nil, b.dispatcher.GiveUp(env, r.s.id, reason, int(deliveries)))
		return true
	}
	id := m.ID
	rs := r.rs
	group := r.s.group
	// In after-handle mode the ack is the settlement: the entry stays
	// tracked until it is sent. In the other modes it is not (on-receive
	// acks before the handler; manual acks whenever the handler likes).
	var tracker *subRun
	if b.cfg.AckMode == broker.AckAfterHandle {
		tracker = r
	}
	del := broker.NewDelivery(b.cfg.AckMode, func() error { return rs.acks.enqueue(stream, group, id, tracker) })
	del.ID, del.EntryID, del.Redelivered, del.Topic = env.ID, m.ID, redelivered, topic
	j := job{stream: stream, entry: m.ID, env: env, del: del}
	if r.jobs == nil {
		r.process(j)
		return true
	}
	select {
	case r.jobs <- j:
		return true
	case <-r.quit:
		return false
	}
}

// malformedPayload is the data of an undecodable entry's dead letter. A
// batched-mode entry is one document, the batch in its data field, and
// the dead letter carries that document unchanged; any other entry is kept
// whole, every field, since an entry written by another program may have
// no data field at all.
func malformedPayload(values map[string]any, err error) []byte {
	if errors.Is(err, broker.ErrBatchedMode) {
		if data, ok := values["data"].(string); ok {
			return []byte(data)
		}
	}
	return entryJSON(values)
}

// entryJSON returns an entry's fields as a JSON object of strings (the
// payload of a malformed entry's dead letter, from which an operator can
// XADD it again).
func entryJSON(values map[string]any) []byte {
	fields := make(map[string]string, len(values))
	for k, v := range values {
		s, ok := v.(string)
		if !ok {
			s = fmt.Sprint(v)
		}
		fields[k] = s
	}
	out, err := json.Marshal(fields) // sorted keys
	if err != nil {
		return nil
	}
	return out
}

// process runs the handler (with the dispatcher's retries) and settles.
// In on-receive mode it acknowledges the entry first, here rather than
// when the entry is read: an entry a stopping run read but never handed to
// a worker stays pending and is delivered later, instead of being acked
// and lost.
func (r *subRun) process(j job) {
	defer r.s.handling.Begin().End()
	r.handed(j.stream, j.entry)
	if r.s.b.cfg.AckMode == broker.AckOnReceive {
		if err := j.del.Settle(); err != nil {
			r.s.b.errs.Report(broker.ScopeAck, err)
		}
	}
	res := r.s.b.dispatcher.Dispatch(r.rs.life, r.quit, r.s.id, r.s.handler, j.env, j.del)
	r.settle(j.stream, j.entry, j.del, res)
}

// settle carries out a dispatch outcome. The entry stays tracked until its
// ack is sent, or is untracked here when there is no ack to wait for.
func (r *subRun) settle(stream, id string, del *broker.Delivery, res brokerkit.Result) {
	b := r.s.b
	switch res.Outcome {
	case brokerkit.OutcomeLeave:
		r.untrack(stream, id)
		return
	case brokerkit.OutcomeDeadLetter:
		if err := b.publishDeadLetter(r.rs, res.DeadLetter); err != nil {
			// Not acked: the entry is claimed again after ClaimTimeout.
			b.errs.Report(broker.ScopeDeadLetter, fmt.Errorf("dead-letter %s %s to %s: %w", stream, id, res.DeadLetter.Topic, err))
			r.untrack(stream, id)
			return
		}
	}
	if del == nil {
		r.ack(stream, id)
		return
	}
	if err := del.Settle(); err != nil {
		b.errs.Report(broker.ScopeAck, err)
		r.untrack(stream, id)
		return
	}
	if b.cfg.AckMode != broker.AckAfterHandle {
		r.untrack(stream, id) // acked earlier (on-receive), or the handler's business (manual)
	}
}

// ack acknowledges an entry that never reached a handler; it is untracked
// once the XACK is sent.
func (r *subRun) ack(stream, id string) {
	r.handed(stream, id)
	if err := r.rs.acks.enqueue(stream, r.s.group, id, r); err != nil {
		r.s.b.errs.Report(broker.ScopeAck, err)
		r.untrack(stream, id)
	}
}
