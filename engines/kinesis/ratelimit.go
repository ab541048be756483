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

// writeBudget holds the write limits of one shard (producer goroutine
// only).
type writeBudget struct {
	records, bytes *bucket
}

func newWriteBudget(now time.Time) *writeBudget {
	return &writeBudget{
		records: newBucket(shardWriteRecordsPerSec, shardWriteRecordsPerSec, now),
		bytes:   newBucket(shardWriteBytesPerSec, shardWriteBytesPerSec, now),
	}
}

// take reserves one record of size bytes if both limits allow it.
func (w *writeBudget) take(size int, now time.Time) bool {
	w.records.refill(now)
	w.bytes.refill(now)
	if w.records.tokens < 1 || (w.bytes.tokens < float64(size) && w.bytes.tokens < w.bytes.burst) {
		return false
	}
	w.records.tokens--
	w.bytes.tokens -= float64(size)
	return true
}

func (w *writeBudget) wait(size int, now time.Time) time.Duration {
	return max(w.records.wait(1, now), w.bytes.wait(float64(size), now))
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
