package kinesis

import "time"

// dispatch starts a PutRecords call with the next batch if one is due: a
// full batch is queued (batchMaxRecords records or batchMaxBytes bytes),
// the oldest record waited flushInterval, or run is draining for Stop;
// and no more than maxInFlightBatches calls are under way, the backoff of
// a failed call has passed, and rate-limited mode does not hold the batch
// back. again reports that run should go round at once (a batch started,
// or only abandoned records were left); otherwise wake is how long until
// a batch may be due (-1: not before something arrives).
func (p *producer) dispatch(now time.Time) (again bool, wake time.Duration) {
	cfg := p.b.cfg
	if len(p.backlog) == 0 || p.inflight >= cfg.MaxInFlightBatches {
		return false, -1
	}
	linger := cfg.FlushInterval.Std()
	full := len(p.backlog) >= cfg.BatchMaxRecords || p.bytes >= cfg.BatchMaxBytes
	due := p.draining || full || linger <= 0 || now.Sub(p.backlog[0].enq) >= linger
	switch {
	case now.Before(p.retryAt):
		return false, p.retryAt.Sub(now)
	case !due:
		return false, linger - now.Sub(p.backlog[0].enq)
	}
	if hold := p.rateHold(p.backlog, now, p.draining, &p.holdSince); hold > 0 {
		return false, hold
	}
	p.holdSince = time.Time{}
	batch, rest, rateWait := p.cut(p.backlog, now)
	p.backlog = rest
	for _, r := range batch {
		p.bytes -= r.size
	}
	if len(batch) > 0 {
		p.startSend(batch)
		return true, 0
	}
	if len(p.backlog) == 0 {
		return true, 0
	}
	return false, max(rateWait, time.Millisecond)
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
