package enginekit

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

func TestLatencyHistogramPutsDurationsInTheirBuckets(t *testing.T) {
	last := len(bus.LatencyBounds()) // the overflow bucket's index
	tests := []struct {
		d      time.Duration
		bucket int
	}{
		{-time.Second, 0},
		{0, 0},
		{time.Microsecond, 0}, // bounds are inclusive
		{time.Microsecond + 1, 1},
		{3 * time.Microsecond, 2},
		{time.Millisecond, 9},
		{time.Second, 18},
		{10 * time.Second, last - 1},
		{time.Hour, last}, // overflow
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v goes to bucket %d", tt.d, tt.bucket), func(t *testing.T) {
			var h LatencyHistogram
			h.Observe(tt.d)
			s := h.Snapshot()
			if s.Buckets[tt.bucket] != 1 || s.Count != 1 {
				t.Fatalf("buckets %v count %d, want one observation in bucket %d", s.Buckets, s.Count, tt.bucket)
			}
		})
	}
}

func TestLatencyHistogramIsSafeForConcurrentObservers(t *testing.T) {
	var h LatencyHistogram
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				h.Observe(time.Duration(i) * time.Microsecond)
				_ = h.Snapshot()
			}
		}()
	}
	wg.Wait()
	if s := h.Snapshot(); s.Count != 8000 {
		t.Fatalf("count %d, want 8000", s.Count)
	}
}

func TestLatencyHistogramObserveDoesNotAllocate(t *testing.T) {
	var h LatencyHistogram
	if n := testing.AllocsPerRun(1000, func() { h.Observe(3 * time.Millisecond) }); n != 0 {
		t.Fatalf("Observe allocates %.1f times", n)
	}
}

func BenchmarkLatencyHistogramObserve(b *testing.B) {
	var h LatencyHistogram
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h.Observe(time.Duration(i&1023) * time.Microsecond)
	}
}

func TestLatencySnapshotArithmeticAndQuantiles(t *testing.T) {
	var h LatencyHistogram
	for i := 0; i < 90; i++ {
		h.Observe(2 * time.Microsecond) // bucket (1µs, 2.5µs]
	}
	for i := 0; i < 10; i++ {
		h.Observe(40 * time.Millisecond) // bucket (25ms, 50ms]
	}
	s := h.Snapshot()
	if s.Count != 100 {
		t.Fatalf("count %d, want 100", s.Count)
	}
	if want := (90*2*time.Microsecond + 10*40*time.Millisecond) / 100; s.Mean() != want {
		t.Errorf("mean %v, want %v", s.Mean(), want)
	}
	if p50 := s.Quantile(0.5); p50 <= time.Microsecond || p50 > 2500*time.Nanosecond {
		t.Errorf("p50 %v, want within (1µs, 2.5µs]", p50)
	}
	if p99 := s.Quantile(0.99); p99 <= 25*time.Millisecond || p99 > 50*time.Millisecond {
		t.Errorf("p99 %v, want within (25ms, 50ms]", p99)
	}
	if got := (bus.LatencySnapshot{}).Quantile(0.5); got != 0 {
		t.Errorf("quantile of an empty snapshot = %v, want 0", got)
	}

	h.Observe(time.Hour)
	later := h.Snapshot()
	if q := later.Quantile(1); q != 10*time.Second {
		t.Errorf("quantile in the overflow bucket = %v, want the last bound", q)
	}
	d := later.Sub(s)
	if d.Count != 1 || d.Buckets[bus.LatencyBucketCount-1] != 1 || d.Sum != time.Hour {
		t.Errorf("delta = %+v, want exactly the one hour-long observation", d)
	}
	if back := s.Add(d); back != later {
		t.Errorf("s + (later - s) = %+v, want %+v", back, later)
	}
	if reset := s.Sub(later); reset != s {
		t.Errorf("subtracting a later snapshot must return the receiver (counter reset)")
	}
}

func TestEngineStatsAddSumsTheLatencyHistograms(t *testing.T) {
	var a, b LatencyHistogram
	a.Observe(time.Millisecond)
	b.Observe(time.Millisecond)
	b.Observe(time.Second)
	sum := bus.EngineStats{Delivered: 1, HandlerLatency: a.Snapshot()}.Add(bus.EngineStats{Delivered: 2, HandlerLatency: b.Snapshot()})
	if sum.Delivered != 3 || sum.HandlerLatency.Count != 3 || sum.HandlerLatency.Buckets[9] != 2 {
		t.Fatalf("sum = %+v", sum)
	}
}
