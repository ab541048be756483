package kinesis

import (
	"sync"
	"time"
)

// Per-shard service limits enforced in rate-limited mode.
const (
	shardWriteRecordsPerSec = 1000
	shardWriteBytesPerSec   = 1 << 20
	shardReadsPerSec        = 5
)

// bucket is a token bucket: rate tokens per second, holding at most
// burst. Not safe for concurrent use.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func newBucket(rate, burst float64, now time.Time) *bucket {
	return &bucket{rate: rate, burst: burst, tokens: burst, last: now}
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(b.burst, b.tokens+el*b.rate)
		b.last = now
	}
}

// take removes n tokens if there are that many. A request larger than
// the burst is allowed once the bucket is full, so it cannot starve.
func (b *bucket) take(n float64, now time.Time) bool {
	b.refill(now)
	if b.tokens >= n || (n > b.burst && b.tokens >= b.burst) {
		b.tokens -= n
		return true
	}
	return false
}

// wait returns how long until n tokens are there.
func (b *bucket) wait(n float64, now time.Time) time.Duration {
	b.refill(now)
	n = min(n, b.burst)
	if b.tokens >= n {
		return 0
	}
	return time.Duration((n - b.tokens) / b.rate * float64(time.Second))
}

// writeBudget holds the write limits of one shard as a sliding window:
// at most 1,000 records and 1 MiB in any one-second window, which is how
// the service states them. Unlike a token bucket it never lets a burst
// exceed the per-second limit, yet it lets two full 500-record batches per
// second through. Used by the producer goroutine only.
type writeBudget struct {
	window         []windowEntry // oldest first, all within the last second
	records, bytes int           // sums over window
	pendRec        int           // taken by the batch being cut, not yet committed
	pendBytes      int
}

type windowEntry struct {
	at             time.Time
	records, bytes int
}

func newWriteBudget(time.Time) *writeBudget { return &writeBudget{} }

func (w *writeBudget) expire(now time.Time) {
	cut := now.Add(-time.Second)
	n := 0
	for n < len(w.window) && !w.window[n].at.After(cut) {
		w.records -= w.window[n].records
		w.bytes -= w.window[n].bytes
		n++
	}
	if n > 0 {
		w.window = append(w.window[:0], w.window[n:]...)
	}
}

// take reserves one record of size bytes for the batch being cut if the
// window allows it. A record larger than the byte limit goes alone.
func (w *writeBudget) take(size int, now time.Time) bool {
	w.expire(now)
	rec, by := w.records+w.pendRec, w.bytes+w.pendBytes
	if rec+1 > shardWriteRecordsPerSec || (by+size > shardWriteBytesPerSec && by > 0) {
		return false
	}
	w.pendRec++
	w.pendBytes += size
	return true
}

// room returns how many records and bytes the window has left now.
func (w *writeBudget) room(now time.Time) (records, bytes int) {
	w.expire(now)
	return shardWriteRecordsPerSec - w.records - w.pendRec, shardWriteBytesPerSec - w.bytes - w.pendBytes
}

// commit records what the batch took, at now.
func (w *writeBudget) commit(now time.Time) {
	if w.pendRec == 0 {
		return
	}
	w.window = append(w.window, windowEntry{at: now, records: w.pendRec, bytes: w.pendBytes})
	w.records += w.pendRec
	w.bytes += w.pendBytes
	w.pendRec, w.pendBytes = 0, 0
}

// wait returns how long until the oldest entry leaves the window.
func (w *writeBudget) wait(_ int, now time.Time) time.Duration {
	if len(w.window) == 0 {
		return time.Millisecond
	}
	return max(w.window[0].at.Add(time.Second).Sub(now), time.Millisecond)
}

// readLimiter spaces the GetRecords calls of each shard to 5 per second,
// shared by every reader of the engine (all subscriptions). Safe for
// concurrent use.
type readLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
}

func newReadLimiter() *readLimiter { return &readLimiter{buckets: map[string]*bucket{}} }

// wait blocks until shard may be read, or returns false when quit closes.
func (l *readLimiter) wait(shard string, quit <-chan struct{}) bool {
	for {
		now := time.Now()
		l.mu.Lock()
		b := l.buckets[shard]
		if b == nil {
			// Burst 1: calls are spaced evenly, never 5 at once.
			b = newBucket(shardReadsPerSec, 1, now)
			l.buckets[shard] = b
		}
		ok := b.take(1, now)
		d := b.wait(1, now)
		l.mu.Unlock()
		if ok {
			return true
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-quit:
			t.Stop()
			return false
		}
	}
}
