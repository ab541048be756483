package broker

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy decides how often and after how long a failed handler call
// is retried. The zero value retries nothing.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt; -1 or
	// 0 means none.
	MaxRetries int
	// Backoff is the base wait; attempt n (n >= 1 being the first retry)
	// waits a uniformly random duration in [0, min(MaxBackoff,
	// Backoff·2^(n-1))] ("full jitter": retries of many consumers spread
	// out instead of hammering a recovering dependency in lockstep).
	Backoff time.Duration
	// MaxBackoff caps one wait (0: no cap beyond the overflow guard).
	MaxBackoff time.Duration
}

// Attempts returns the total number of handler calls the policy allows for
// one event (1 + retries).
func (p RetryPolicy) Attempts() int {
	if p.MaxRetries <= 0 {
		return 1
	}
	return 1 + p.MaxRetries
}

// Ceiling returns the upper bound of the wait before retry n (n >= 1).
func (p RetryPolicy) Ceiling(n int) time.Duration {
	if n < 1 || p.Backoff <= 0 {
		return 0
	}
	c := p.Backoff
	for i := 1; i < n; i++ {
		if c > time.Duration(1<<62)/2 {
			break // guard against overflow
		}
		c *= 2
		if p.MaxBackoff > 0 && c >= p.MaxBackoff {
			break
		}
	}
	if p.MaxBackoff > 0 && c > p.MaxBackoff {
		c = p.MaxBackoff
	}
	return c
}

// Delay returns the randomized wait before retry n (n >= 1): uniform in
// [0, Ceiling(n)].
func (p RetryPolicy) Delay(n int) time.Duration {
	c := p.Ceiling(n)
	if c <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(c) + 1))
}

// Backoff is a reusable capped exponential backoff with full jitter for
// background loops (reconnects, read errors): Next grows the ceiling,
// Reset returns to the base after a success. Not safe for concurrent use.
type Backoff struct {
	Base, Max time.Duration
	n         int
}

// Next returns the next randomized wait and advances the ceiling.
func (b *Backoff) Next() time.Duration {
	b.n++
	d := RetryPolicy{Backoff: b.Base, MaxBackoff: b.Max}.Delay(b.n)
	// A zero wait would turn a persistent error into a busy loop.
	if min := b.Base / 10; d < min {
		d = min
	}
	return d
}

// Reset returns the backoff to its base after a success.
func (b *Backoff) Reset() { b.n = 0 }
