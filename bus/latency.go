package bus

import (
	"time"
)

// LatencyBucketCount is the number of buckets of a LatencyHistogram: one
// per bound of LatencyBounds plus the overflow bucket (+Inf).
const LatencyBucketCount = len(latencyBounds) + 1

// latencyBounds are the inclusive upper bounds of the histogram buckets:
// a 1-2.5-5 series from 1µs to 10s, which covers an in-process handler
// (microseconds) as well as one that calls a remote service (seconds).
// They are fixed so that snapshots of different engines can be added and
// exported without resampling.
var latencyBounds = [...]time.Duration{
	time.Microsecond, 2500 * time.Nanosecond, 5 * time.Microsecond,
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
	10 * time.Second,
}

// LatencyBounds returns the inclusive upper bounds of the first
// LatencyBucketCount-1 buckets; the last bucket counts everything above
// the last bound.
func LatencyBounds() [LatencyBucketCount - 1]time.Duration { return latencyBounds }

// LatencySnapshot is a point-in-time copy of a LatencyHistogram.
type LatencySnapshot struct {
	// Buckets holds the count per bucket (not cumulative): Buckets[i]
	// counts durations d with LatencyBounds()[i-1] < d <= LatencyBounds()[i];
	// the last one counts durations above the last bound.
	Buckets [LatencyBucketCount]uint64 `json:"buckets"`
	// Count is the number of observations (the sum of Buckets).
	Count uint64 `json:"count"`
	// Sum is the total of the observed durations.
	Sum time.Duration `json:"sum"`
}

// Add returns the bucket-wise sum of s and o.
func (s LatencySnapshot) Add(o LatencySnapshot) LatencySnapshot {
	for i := range s.Buckets {
		s.Buckets[i] += o.Buckets[i]
	}
	s.Count += o.Count
	s.Sum += o.Sum
	return s
}

// Sub returns the observations made between the earlier snapshot o and
// s (per-interval deltas). If s is not later than o (the histogram was
// replaced, e.g. by a new engine), s itself is returned.
func (s LatencySnapshot) Sub(o LatencySnapshot) LatencySnapshot {
	for i := range s.Buckets {
		if s.Buckets[i] < o.Buckets[i] {
			return s
		}
	}
	for i := range s.Buckets {
		s.Buckets[i] -= o.Buckets[i]
	}
	s.Count -= o.Count
	if s.Sum >= o.Sum {
		s.Sum -= o.Sum
	}
	return s
}

// Mean returns the average duration, or 0 without observations.
func (s LatencySnapshot) Mean() time.Duration {
	if s.Count == 0 {
		return 0
	}
	return s.Sum / time.Duration(s.Count)
}

// Quantile estimates the q-quantile (0 <= q <= 1) by linear interpolation
// inside the bucket that holds it, the way Prometheus' histogram_quantile
// does. A quantile in the overflow bucket is reported as the last bound.
// Without observations it returns 0.
func (s LatencySnapshot) Quantile(q float64) time.Duration {
	if s.Count == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	rank := q * float64(s.Count)
	var cum uint64
	for i, c := range s.Buckets {
		if c == 0 || float64(cum+c) < rank {
			cum += c
			continue
		}
		if i == len(latencyBounds) {
			return latencyBounds[len(latencyBounds)-1]
		}
		lower := time.Duration(0)
		if i > 0 {
			lower = latencyBounds[i-1]
		}
		upper := latencyBounds[i]
		frac := (rank - float64(cum)) / float64(c)
		return lower + time.Duration(frac*float64(upper-lower))
	}
	return latencyBounds[len(latencyBounds)-1]
}
