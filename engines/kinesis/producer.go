package kinesis

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/enginekit"
)

// The producer batches records into PutRecords calls. Its parts, by
// concern: this file (the types, the goroutine's loop and Stop),
// queue.go (publishers' side: enqueue, wait, Flush barriers; run's
// backlog), batch.go (when and what to cut, the rate-limited hold) and
// send.go (the PutRecords call and the completion of its records).
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

	// The queue, run only (queue.go): records taken from in and not yet
	// in a PutRecords call, oldest first, and their total size.
	backlog []*record
	bytes   int

	// Batch cutting, run only (batch.go): inflight counts the PutRecords
	// calls under way, retryAt holds every cut back after a failed call
	// (backoff sets it), draining is set once Stop sealed the producer,
	// and holdSince is when run began holding back a partial batch in
	// rate-limited mode (zero: not holding); see rateHold.
	inflight  int
	retryAt   time.Time
	backoff   broker.Backoff
	draining  bool
	holdSince time.Time

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
	topic    *enginekit.TopicCounters // the event's topic counters (Published, Dropped)
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
		backoff:    broker.Backoff{Base: b.cfg.PublishBackoff.Std(), Max: b.cfg.PublishBackoffMax.Std()},
	}
	go p.run()
	return p
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

// run is the producer's goroutine; see the type's comment. Each round it
// moves what publishers queued into the backlog, releases the Flush
// barriers that are due, starts a batch if one is due (dispatch), and
// otherwise waits for a record, a send's result, the timer dispatch
// asked for, the seal of Stop, or Stop's abort.
func (p *producer) run() {
	defer close(p.done)
	defer p.cancelSend()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.pull()
		p.releaseBarriers(p.backlog)
		if p.draining && len(p.backlog) == 0 && p.inflight == 0 && len(p.in) == 0 {
			return
		}
		now := time.Now()
		again, wake := p.dispatch(now)
		if again {
			continue
		}
		var timerC <-chan time.Time
		if wake >= 0 {
			timer.Reset(wake)
			timerC = timer.C
		}
		in := p.in
		if p.backlogFull() {
			in = nil // enough to work on: let publishers wait on the buffer
		}
		sealed := p.sealed
		if p.draining {
			sealed = nil
		}
		select {
		case r := <-in:
			p.admit(r)
		case res := <-p.results:
			p.settle(res, now)
		case <-timerC:
		case <-sealed:
			p.draining = true
		case <-p.abort:
			p.abandon()
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
