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
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// reader reads one leased shard for one consumer: GetShardIterator after
// the checkpoint (TRIM_HORIZON without one), then GetRecords in a loop,
// at most 5 calls per second per shard in rate-limited mode, waiting
// pollInterval after a call that returned nothing new. Records are handed
// to the handler in shard order (sync: on this goroutine, one handler
// call at a time across the subscription; async: to the worker pool) and
// registered with the tracker, whose watermark the consumer checkpoints.
type reader struct {
	c       *consumer
	shard   string
	start   string // checkpoint at acquisition ("" = TRIM_HORIZON)
	tracker *tracker
	// before is the highest sequence number earlier readers of this
	// shard and subscription handed on; lastTaken is this reader's
	// (reader goroutine only). See redelivery.go.
	before, lastTaken string

	quit     chan struct{}
	ctx      context.Context // cancelled with quit: bounds Kinesis calls
	cancel   context.CancelFunc
	done     chan struct{}
	stopOnce sync.Once
	inflight sync.WaitGroup // async jobs handed to the pool

	ended atomic.Bool  // shard read to its end, ShardEnd checkpointed, lease released
	lost  atomic.Bool  // lease lost: no more checkpoints
	lag   atomic.Int64 // MillisBehindLatest of the last GetRecords

	cpMu  sync.Mutex // orders save against finish's ShardEnd
	saved string     // last checkpoint written (guarded by cpMu)
}

func newReader(c *consumer, shard, cp string) *reader {
	ctx, cancel := context.WithCancel(context.Background())
	return &reader{
		c: c, shard: shard, start: cp, saved: cp,
		tracker: newTracker(cp),
		before:  c.s.takenBefore(shard),
		quit:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
		done:    make(chan struct{}),
	}
}

func (r *reader) stop() {
	r.stopOnce.Do(func() {
		close(r.quit)
		r.cancel()
	})
}

func (r *reader) errorf(format string, args ...any) error {
	return fmt.Errorf("kinesis: stream %q shard %s consumer %q: %w", r.c.b.cfg.StreamName, r.shard, r.c.s.key.Consumer, fmt.Errorf(format, args...))
}

// save checkpoints the watermark if it moved.
func (r *reader) save(ctx context.Context) error {
	r.cpMu.Lock()
	defer r.cpMu.Unlock()
	if r.ended.Load() || r.lost.Load() {
		return nil
	}
	wm, _ := r.tracker.position()
	if wm == "" || wm == r.saved {
		return nil
	}
	err := r.c.b.checkpoints().Checkpoint(ctx, r.c.s.key, r.shard, r.c.owner, wm)
	if err != nil {
		if !errors.Is(err, checkpoint.ErrLeaseLost) {
			r.c.b.errs.Report(broker.ScopeAck, r.errorf("checkpoint: %w", err))
		}
		return err
	}
	r.saved = wm
	return nil
}

// sleep waits d or until quit; it reports whether the full wait elapsed.
func (r *reader) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.quit:
		return false
	}
}

// callCtx is the context of one Kinesis call: cancelled when the reader
// stops, so Stop never waits for a slow poll.
func (r *reader) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.ctx, 30*time.Second)
}

// iterator returns a shard iterator after seq (TRIM_HORIZON when empty),
// retrying with backoff until it succeeds or the reader stops.
func (r *reader) iterator(seq string, bo *broker.Backoff) (*string, bool) {
	b := r.c.b
	for {
		in := &kinesis.GetShardIteratorInput{StreamName: aws.String(b.cfg.StreamName), ShardId: aws.String(r.shard)}
		if seq == "" {
			in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
		} else {
			in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
			in.StartingSequenceNumber = aws.String(seq)
		}
		ctx, cancel := r.callCtx()
		out, err := b.client.GetShardIterator(ctx, in)
		cancel()
		if err == nil {
			bo.Reset()
			return out.ShardIterator, true
		}
		select {
		case <-r.quit:
			return nil, false
		default:
		}
		b.errs.Report(broker.ScopeRead, r.errorf("get shard iterator: %w", err))
		if !r.sleep(bo.Next()) {
			return nil, false
		}
	}
}

func (r *reader) run() {
	defer close(r.done)
	defer func() { r.c.s.addTaken(r.shard, r.lastTaken) }()
	defer r.cancel()
	defer r.inflight.Wait()
	b := r.c.b
	cfg := b.cfg
	bo := &broker.Backoff{Base: 100 * time.Millisecond, Max: 5 * time.Second}
	last := r.start
	it, ok := r.iterator(last, bo)
	if !ok {
		return
	}
	for {
		select {
		case <-r.quit:
			return
		default:
		}
		if cfg.RateLimited && !b.reads.wait(r.shard, r.quit) {
			return
		}
		b.readCalls.Add(1)
		ctx, cancel := r.callCtx()
		out, err := b.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(cfg.MaxRecordsPerRead)}, noRetry)
		cancel()
		if err != nil {
			select {
			case <-r.quit:
				return
			default:
			}
			var expired *types.ExpiredIteratorException
			if errors.As(err, &expired) {
				if it, ok = r.iterator(last, bo); !ok {
					return
				}
				continue
			}
			if !throttleCodes[apiCode(err)] {
				b.errs.Report(broker.ScopeRead, r.errorf("get records: %w", err))
			}
			if !r.sleep(bo.Next()) {
				return
			}
			continue
		}
		bo.Reset()
		r.lag.Store(aws.ToInt64(out.MillisBehindLatest))
		for _, rec := range out.Records {
			if !r.process(rec) {
				return
			}
			last = aws.ToString(rec.SequenceNumber)
		}
		if out.NextShardIterator == nil {
			r.finish()
			return
		}
		it = out.NextShardIterator
		if len(out.Records) == 0 || (len(out.Records) < int(cfg.MaxRecordsPerRead) && aws.ToInt64(out.MillisBehindLatest) == 0) {
			if !r.sleep(cfg.PollInterval.Std()) {
				return
			}
		}
	}
}

// process hands one record on; false means the reader is stopping and
// the record was not taken.
func (r *reader) process(rec types.Record) bool {
	select {
	case <-r.quit:
		return false
	default:
	}
	c, b := r.c, r.c.b
	seq := aws.ToString(rec.SequenceNumber)
	if isMarker(rec.Data) {
		r.tracker.skip(seq)
		return true
	}
	env, err := brokerkit.DecodeStructured(rec.Data)
	if err != nil {
		// Not a CloudEvent: every consumer of the stream sees it, so it
		// is reported and skipped rather than dead-lettered once per
		// subscription.
		b.errs.Report(broker.ScopeDecode, r.errorf("record %s: %w", seq, err))
		b.counters.CountDropped("") // topic unknown: bus.OtherTopic
		r.tracker.skip(seq)
		return true
	}
	if !b.cfg.SubscriptionMatches(c.s.topic, env.Event.Topic) {
		r.tracker.skip(seq)
		return true
	}
	ticket := r.tracker.add(seq)
	if c.s.async {
		r.inflight.Add(1)
		select {
		case c.jobs <- job{r: r, ticket: ticket, env: env, seq: seq}:
			r.lastTaken = seq
			return true
		case <-r.quit:
			r.inflight.Done()
			return false
		}
	}
	r.lastTaken = seq
	c.s.serial.Lock()
	defer c.s.serial.Unlock()
	c.handle(r, ticket, env, seq)
	return true
}

// finish ends a closed shard: once every record is settled it
// checkpoints ShardEnd, releases the lease and wakes the consumer so the
// children are read.
func (r *reader) finish() {
	r.inflight.Wait()
	select {
	case <-r.tracker.drained():
	case <-r.quit:
		return
	}
	b, c := r.c.b, r.c
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r.cpMu.Lock()
	err := b.checkpoints().Checkpoint(ctx, c.s.key, r.shard, c.owner, checkpoint.ShardEnd)
	if err == nil {
		r.ended.Store(true)
	}
	r.cpMu.Unlock()
	if err != nil {
		if !errors.Is(err, checkpoint.ErrLeaseLost) {
			b.errs.Report(broker.ScopeAck, r.errorf("checkpoint shard end: %w", err))
		}
		return
	}
	if err := b.checkpoints().Release(ctx, c.s.key, r.shard, c.owner); err != nil {
		b.errs.Report(broker.ScopeAck, r.errorf("release: %w", err))
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}
