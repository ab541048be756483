package kinesis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// startSend starts the PutRecords call of batch (its records are in state
// sending), remembering the batch's lowest record number for the Flush
// barriers.
func (p *producer) startSend(batch []*record) {
	p.inflight++
	low := batch[0].seq
	for _, r := range batch[1:] {
		low = min(low, r.seq)
	}
	p.sending[batch[0]] = low
	p.wg.Add(1)
	go p.send(batch)
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

// settle handles the result of a send: it completes the records Kinesis
// accepted and puts those to retry back at the front of the backlog, in
// their order, after a backoff; a call that succeeded resets the backoff.
func (p *producer) settle(res sendResult, now time.Time) {
	p.inflight--
	delete(p.sending, res.batch[0])
	retry := p.complete(res, now)
	if len(retry) > 0 {
		for _, r := range retry {
			p.bytes += r.size
		}
		p.backlog = append(retry, p.backlog...)
		p.retryAt = time.Now().Add(p.backoff.Next())
	} else if res.whole == nil {
		p.backoff.Reset()
	}
}

// abandon ends run when Stop's ctx expired: the records queued and those
// still on in fail with bus.ErrEventBusShutdownTimeout, and the calls
// under way (cancelled by close) are completed before run returns.
func (p *producer) abandon() {
	p.fail(p.backlog, bus.ErrEventBusShutdownTimeout)
	p.backlog = nil
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
	for ; p.inflight > 0; p.inflight-- {
		p.complete(<-p.results, time.Now())
	}
	p.wg.Wait()
}
