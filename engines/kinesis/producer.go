package kinesis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// The producer batches records into PutRecords calls.
//
// Publishers put records on the in channel (bounded by publishBufferSize:
// a full buffer makes Publish wait, bounded by its ctx). One goroutine,
// run, owns everything else: it moves records into its backlog, cuts
// batches of at most batchMaxRecords records and batchMaxBytes bytes when
// a batch is full, when the oldest record waited flushInterval, or at
// once while draining, and starts at most maxInFlightBatches sends. Each
// send reports back on results; run then completes the records Kinesis
// accepted and puts the failed ones back at the front of the backlog, in
// their order, to be retried after a capped exponential backoff with full
// jitter (throttling or partial failure). Records are never completed as
// published before the PutRecords response said so.
//
// A record's state says who may touch it: queued (in the backlog, or
// waiting for a retry), sending (inside a PutRecords call), abandoned
// (its synchronous publisher gave up while it was queued: it is dropped
// unsent). The publisher and run race on it with compare-and-swap, so a
// publisher whose ctx ends learns whether its record may have been
// written (ErrPublishUnknown) or certainly was not (ctx.Err()).
type producer struct {
	b       *EventBus
	in      chan *record
	closing chan struct{} // closed when Stop begins: wakes waiting publishers
	sealed  chan struct{} // closed once no publisher can add a record: drain
	abort   chan struct{} // closed when Stop's ctx expired: fail what is left
	done    chan struct{} // closed when run returned

	mu     sync.RWMutex // held (read) while a publisher sends on in
	closed bool

	sendCtx    context.Context // cancelled on abort
	cancelSend context.CancelFunc
	results    chan sendResult
	budgets    map[string]*writeBudget // rate-limited mode, run only
	wg         sync.WaitGroup          // sends

	// Flush barriers, run only: nextSeq numbers the records taken from
	// in, sending maps each batch in a PutRecords call (by its first
	// record) to its lowest seq, and barriers wait, in arrival order, for
	// every record numbered below their target to be done.
	nextSeq  uint64
	sending  map[*record]uint64
	barriers []pendingBarrier
}

type pendingBarrier struct {
	target uint64
	done   chan struct{}
}

const (
	stateQueued int32 = iota
	stateSending
	stateAbandoned
	stateDone
)

// record is one event on its way to Kinesis.
type record struct {
	data     []byte
	pk       string
	size     int             // data + partition key, as Kinesis counts it
	ctx      context.Context // the synchronous publisher's; nil in async mode
	deadline time.Time       // async mode
	done     chan error      // synchronous: buffered 1; nil in async mode
	enq      time.Time
	topic    *bus.TopicCounters // the event's topic counters (Published, Dropped)
	state    atomic.Int32
	lastErr  error
	// seq is the order in which run took the record from in (run only).
	seq uint64
	// barrier, when non-nil, makes this a Flush barrier rather than an
	// event: run closes it once every record it took before is done.
	barrier chan struct{}
	// shardSet and shard memoize shardOf (rate-limited mode, run only).
	shardSet *shardSet
	shard    *shard
}

// shardOf returns the open shard of set that r's partition key maps to
// (nil if none), computing the MD5 once per shard set.
func (r *record) shardOf(set *shardSet) *shard {
	if set == nil {
		return nil
	}
	if r.shardSet != set {
		r.shardSet, r.shard = set, set.forKey(r.pk)
	}
	return r.shard
}

type sendResult struct {
	batch []*record
	// failed[i] is the error of batch[i], nil when it was written.
	failed []error
	// whole is the error of the call itself (nil when it returned).
	whole error
}

// ProducerStats are the figures of the PutRecords batching.
type ProducerStats struct {
	// Calls is the number of PutRecords calls made (failed ones too).
	Calls uint64 `json:"calls"`
	// Records is the number of records sent, retries included.
	Records uint64 `json:"records"`
	// FullBatchRecords is the number of records sent in calls that
	// carried batchMaxRecords records (or batchMaxBytes bytes).
	FullBatchRecords uint64 `json:"fullBatchRecords"`
	// RetriedRecords counts records sent again after a partial failure
	// or a throttled call.
	RetriedRecords uint64 `json:"retriedRecords"`
	// ThrottledCalls counts calls refused as a whole with a throttling
	// error.
	ThrottledCalls uint64 `json:"throttledCalls"`
}

type producerCounters struct {
	calls, records, full, retried, throttled atomic.Uint64
}

func newProducer(b *EventBus) *producer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &producer{
		b:          b,
		in:         make(chan *record, b.cfg.PublishBufferSize),
		closing:    make(chan struct{}),
		sealed:     make(chan struct{}),
		abort:      make(chan struct{}),
		done:       make(chan struct{}),
		sendCtx:    ctx,
		cancelSend: cancel,
		results:    make(chan sendResult, b.cfg.MaxInFlightBatches),
		budgets:    map[string]*writeBudget{},
		sending:    map[*record]uint64{},
	}
	go p.run()
	return p
}

// enqueue hands r to the producer, waiting for buffer space up to ctx. It
// returns bus.ErrEventBusNotStarted once the producer is closing.
func (p *producer) enqueue(ctx context.Context, r *record) error {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.closed {
		return bus.ErrEventBusNotStarted
	}
	select {
	case p.in <- r:
		return nil
	default:
	}
	select {
	case p.in <- r:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kinesis: publish buffer full: %w", ctx.Err())
	case <-p.closing:
		return bus.ErrEventBusNotStarted
	}
}

// wait waits for a synchronous record's outcome.
func (p *producer) wait(ctx context.Context, r *record) error {
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
	}
	if r.state.CompareAndSwap(stateQueued, stateAbandoned) {
		return fmt.Errorf("kinesis: record not written: %w", ctx.Err())
	}
	select {
	case err := <-r.done: // completed meanwhile
		return err
	default:
	}
	return fmt.Errorf("%w: %w (it was in a PutRecords call)", ErrPublishUnknown, ctx.Err())
}

// barrier waits until every record handed to the producer before the
// call (in particular every record of an async Publish that returned) is
// done: written, or failed and reported. It returns ctx's error if ctx
// ends first, and nil at once when the producer has stopped (Stop sent or
// failed everything it held).
func (p *producer) barrier(ctx context.Context) error {
	b := &record{barrier: make(chan struct{})}
	p.mu.RLock()
	if p.closed {
		p.mu.RUnlock()
		return nil
	}
	select {
	case p.in <- b:
	case <-ctx.Done():
		p.mu.RUnlock()
		return ctx.Err()
	case <-p.closing:
		p.mu.RUnlock()
		return nil
	}
	p.mu.RUnlock()
	select {
	case <-b.barrier:
		return nil
	case <-p.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take moves r from in into the backlog, or registers it as a barrier.
// It reports whether r is an event (added to the backlog).
func (p *producer) take(r *record) bool {
	if r.barrier != nil {
		p.barriers = append(p.barriers, pendingBarrier{target: p.nextSeq, done: r.barrier})
		return false
	}
	r.seq = p.nextSeq
	p.nextSeq++
	return true
}

// releaseBarriers closes the barriers whose records are all done: no
// record in backlog or in a PutRecords call is numbered below their
// target.
func (p *producer) releaseBarriers(backlog []*record) {
	if len(p.barriers) == 0 {
		return
	}
	low := p.nextSeq
	for _, r := range backlog {
		if r.seq < low && r.state.Load() != stateAbandoned {
			low = r.seq
		}
	}
	for _, s := range p.sending {
		low = min(low, s)
	}
	n := 0
	for n < len(p.barriers) && p.barriers[n].target <= low {
		close(p.barriers[n].done)
		n++
	}
	p.barriers = p.barriers[n:]
}

// close stops accepting records and sends what is queued. If ctx expires
// first, the records left fail with bus.ErrEventBusShutdownTimeout and
// close returns ctx's error.
func (p *producer) close(ctx context.Context) error {
	close(p.closing)
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	close(p.sealed)
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		close(p.abort)
		p.cancelSend()
		<-p.done
		return ctx.Err()
	}
}

// run is the producer's goroutine; see the type's comment.
func (p *producer) run() {
	defer close(p.done)
	defer p.cancelSend()
	cfg := p.b.cfg
	var (
		backlog  []*record
		bytes    int
		inflight int
		retryAt  time.Time
		backoff  = broker.Backoff{Base: cfg.PublishBackoff.Std(), Max: cfg.PublishBackoffMax.Std()}
		timer    = time.NewTimer(time.Hour)
		draining bool
		// holdSince is when run began holding back a partial batch in
		// rate-limited mode (zero: not holding); see rateHold.
		holdSince time.Time
	)
	defer timer.Stop()
	linger := cfg.FlushInterval.Std()
	pull := func() {
		for len(backlog) < 4*cfg.BatchMaxRecords*cfg.MaxInFlightBatches {
			select {
			case r := <-p.in:
				if p.take(r) {
					backlog = append(backlog, r)
					bytes += r.size
				}
			default:
				return
			}
		}
	}
	for {
		pull()
		p.releaseBarriers(backlog)
		if draining && len(backlog) == 0 && inflight == 0 && len(p.in) == 0 {
			return
		}
		now := time.Now()
		var wake time.Duration = -1
		if len(backlog) > 0 && inflight < cfg.MaxInFlightBatches {
			full := len(backlog) >= cfg.BatchMaxRecords || bytes >= cfg.BatchMaxBytes
			due := draining || full || linger <= 0 || now.Sub(backlog[0].enq) >= linger
			switch {
			case now.Before(retryAt):
				wake = retryAt.Sub(now)
			case !due:
				wake = linger - now.Sub(backlog[0].enq)
			default:
				if hold := p.rateHold(backlog, now, draining, &holdSince); hold > 0 {
					wake = hold
					break
				}
				holdSince = time.Time{}
				var batch []*record
				var rateWait time.Duration
				batch, backlog, rateWait = p.cut(backlog, now)
				for _, r := range batch {
					bytes -= r.size
				}
				if len(batch) > 0 {
					inflight++
					low := batch[0].seq
					for _, r := range batch[1:] {
						low = min(low, r.seq)
					}
					p.sending[batch[0]] = low
					p.wg.Add(1)
					go p.send(batch)
					continue
				}
				if len(backlog) == 0 {
					continue
				}
				wake = max(rateWait, time.Millisecond)
			}
		}
		var timerC <-chan time.Time
		if wake >= 0 {
			timer.Reset(wake)
			timerC = timer.C
		}
		in := p.in
		if len(backlog) >= 4*cfg.BatchMaxRecords*cfg.MaxInFlightBatches {
			in = nil // enough to work on: let publishers wait on the buffer
		}
		sealed := p.sealed
		if draining {
			sealed = nil
		}
		select {
		case r := <-in:
			if p.take(r) {
				backlog = append(backlog, r)
				bytes += r.size
			}
		case res := <-p.results:
			inflight--
			delete(p.sending, res.batch[0])
			retry := p.complete(res, now)
			if len(retry) > 0 {
				for _, r := range retry {
					bytes += r.size
				}
				backlog = append(retry, backlog...)
				retryAt = time.Now().Add(backoff.Next())
			} else if res.whole == nil {
				backoff.Reset()
			}
		case <-timerC:
		case <-sealed:
			draining = true
		case <-p.abort:
			p.fail(backlog, bus.ErrEventBusShutdownTimeout)
			backlog = nil
			for {
				select {
				case r := <-p.in:
					if r.barrier == nil { // a Flush barrier is released by done
						p.fail([]*record{r}, bus.ErrEventBusShutdownTimeout)
					}
					continue
				default:
				}
				break
			}
			for ; inflight > 0; inflight-- {
				p.complete(<-p.results, time.Now())
			}
			p.wg.Wait()
			return
		}
		if timerC != nil && !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// maxRateHold bounds how long rate-limited mode holds back a partial
// batch: one write window, after which every shard's budget has renewed.
const maxRateHold = time.Second

// rateHold returns how long to wait before cutting a batch, 0 to cut now.
// In rate-limited mode, under load (a full batch is queued), when the
// shards' write budgets would only let part of it through, sending that
// part would split the budget into small calls that keep splitting it
// (each window entry frees as it was taken). Waiting for the budget of a
// full batch keeps the calls full at the same throughput: the budget, not
// the calls, is the limit (a Flush waiting behind the backlog takes as
// long either way). A hold lasts at most maxRateHold, and never while
// draining for Stop.
func (p *producer) rateHold(backlog []*record, now time.Time, draining bool, since *time.Time) time.Duration {
	cfg := p.b.cfg
	if !cfg.RateLimited || draining || len(backlog) < cfg.BatchMaxRecords {
		return 0
	}
	full, wait := p.fullBatchFits(backlog, now)
	if full || wait <= 0 {
		return 0
	}
	if since.IsZero() {
		*since = now
	}
	left := maxRateHold - now.Sub(*since)
	if left <= 0 {
		return 0
	}
	return max(min(wait, left), time.Millisecond)
}

// fullBatchFits reports whether cut would now take a full batch
// (batchMaxRecords records, or batchMaxBytes bytes) from backlog under
// the shards' write budgets; if not, wait is how long until a blocked
// shard's budget grows. It changes no budget.
func (p *producer) fullBatchFits(backlog []*record, now time.Time) (full bool, wait time.Duration) {
	cfg := p.b.cfg
	shards := p.b.shards.Load()
	type room struct{ records, bytes int }
	rooms := map[string]*room{}
	var n, size int
	for _, r := range backlog {
		if r.state.Load() == stateAbandoned {
			continue
		}
		if size+r.size > cfg.BatchMaxBytes && n > 0 {
			return true, 0
		}
		if sh := r.shardOf(shards); sh != nil {
			rm := rooms[sh.id]
			if rm == nil {
				rm = &room{records: shardWriteRecordsPerSec, bytes: shardWriteBytesPerSec}
				if wb := p.budgets[sh.id]; wb != nil {
					rm.records, rm.bytes = wb.room(now)
				}
				rooms[sh.id] = rm
			}
			if rm.records < 1 || (rm.bytes < r.size && rm.bytes < shardWriteBytesPerSec) {
				if rm.records >= 0 { // first blocked record of this shard
					if wb := p.budgets[sh.id]; wb != nil {
						if w := wb.wait(r.size, now); wait == 0 || w < wait {
							wait = w
						}
					}
					rm.records = -1 // the shard's later records stay behind it
				}
				continue
			}
			rm.records--
			rm.bytes -= r.size
		}
		n++
		size += r.size
		if n >= cfg.BatchMaxRecords {
			return true, 0
		}
	}
	return false, wait
}

// cut takes the next batch from the front of backlog, in order, skipping
// records whose synchronous publisher gave up. In rate-limited mode a
// record whose shard has no write budget left stays queued, and so do the
// records of that shard behind it (per-key order); rateWait is then how
// long until the first of them may go.
func (p *producer) cut(backlog []*record, now time.Time) (batch, rest []*record, rateWait time.Duration) {
	cfg := p.b.cfg
	var size int
	var blocked map[string]bool
	var shards *shardSet
	if cfg.RateLimited {
		shards = p.b.shards.Load()
	}
	rest = backlog[:0:0]
	for i, r := range backlog {
		if len(batch) >= cfg.BatchMaxRecords || size+r.size > cfg.BatchMaxBytes && len(batch) > 0 {
			rest = append(rest, backlog[i:]...)
			break
		}
		if r.state.Load() == stateAbandoned {
			continue
		}
		if shards != nil {
			if sh := r.shardOf(shards); sh != nil {
				if blocked[sh.id] {
					rest = append(rest, r)
					continue
				}
				wb := p.budgets[sh.id]
				if wb == nil {
					wb = newWriteBudget(now)
					p.budgets[sh.id] = wb
				}
				if !wb.take(r.size, now) {
					if blocked == nil {
						blocked = map[string]bool{}
					}
					blocked[sh.id] = true
					if w := wb.wait(r.size, now); rateWait == 0 || w < rateWait {
						rateWait = w
					}
					rest = append(rest, r)
					continue
				}
			}
		}
		if !r.state.CompareAndSwap(stateQueued, stateSending) {
			continue // abandoned meanwhile
		}
		batch = append(batch, r)
		size += r.size
	}
	for _, wb := range p.budgets {
		wb.commit(now)
	}
	return batch, rest, rateWait
}

// send makes one PutRecords call (no SDK retries: run decides) and
// reports the outcome of every record.
func (p *producer) send(batch []*record) {
	defer p.wg.Done()
	entries := make([]types.PutRecordsRequestEntry, len(batch))
	size := 0
	for i, r := range batch {
		entries[i] = types.PutRecordsRequestEntry{Data: r.data, PartitionKey: aws.String(r.pk)}
		size += r.size
	}
	pc := &p.b.prodStats
	pc.calls.Add(1)
	pc.records.Add(uint64(len(batch)))
	if len(batch) >= p.b.cfg.BatchMaxRecords || size >= p.b.cfg.BatchMaxBytes*9/10 {
		pc.full.Add(uint64(len(batch)))
	}
	ctx, cancel := context.WithTimeout(p.sendCtx, 30*time.Second)
	defer cancel()
	out, err := p.b.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(p.b.cfg.StreamName), Records: entries}, noRetry)
	res := sendResult{batch: batch}
	switch {
	case err != nil:
		res.whole = err
		if throttleCodes[apiCode(err)] {
			pc.throttled.Add(1)
		}
	case len(out.Records) != len(batch):
		res.whole = fmt.Errorf("kinesis: PutRecords answered %d results for %d records", len(out.Records), len(batch))
	default:
		res.failed = make([]error, len(batch))
		for i, rr := range out.Records {
			if rr.ErrorCode != nil && *rr.ErrorCode != "" {
				res.failed[i] = &recordError{code: *rr.ErrorCode, msg: aws.ToString(rr.ErrorMessage)}
			}
		}
	}
	p.results <- res
}

// recordError is a per-record PutRecords failure.
type recordError struct{ code, msg string }

func (e *recordError) Error() string { return e.code + ": " + e.msg }

// complete settles a send's records and returns those to retry.
func (p *producer) complete(res sendResult, now time.Time) (retry []*record) {
	for i, r := range res.batch {
		err := res.whole
		if err == nil && res.failed != nil {
			err = res.failed[i]
		}
		if err == nil {
			p.succeed(r)
			continue
		}
		r.lastErr = err
		var re *recordError
		canRetry := retryable(err) || (errors.As(err, &re) && !permanentRecordCodes[re.code])
		if canRetry && !r.expired(now) {
			select {
			case <-p.abort:
				canRetry = false
			default:
			}
		}
		if !canRetry || r.expired(now) {
			p.fail([]*record{r}, fmt.Errorf("%w: %w", ErrPublishFailed, err))
			continue
		}
		r.state.Store(stateQueued)
		retry = append(retry, r)
	}
	if len(retry) > 0 {
		p.b.prodStats.retried.Add(uint64(len(retry)))
	}
	return retry
}

// expired reports whether r's publisher gave up or its async deadline
// passed.
func (r *record) expired(now time.Time) bool {
	if r.ctx != nil {
		return r.ctx.Err() != nil
	}
	return now.After(r.deadline)
}

func (p *producer) succeed(r *record) {
	r.state.Store(stateDone)
	if r.done != nil {
		p.b.counters.PublishedOn(r.topic)
		r.done <- nil
	}
}

// fail completes records that will not be written.
func (p *producer) fail(rs []*record, err error) {
	for _, r := range rs {
		prev := r.state.Swap(stateDone)
		if r.done != nil {
			r.done <- fmt.Errorf("kinesis: publish: %w", err)
			continue
		}
		if prev != stateAbandoned {
			p.b.counters.DroppedOn(r.topic)
			p.b.errs.Report(broker.ScopePublish, fmt.Errorf("kinesis: async record (partition key %q) not written: %w", r.pk, err))
		}
	}
}
