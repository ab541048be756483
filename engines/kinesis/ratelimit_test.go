package kinesis

import (
	"testing"
	"time"
)

func TestWriteBudget(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		perTick   int
		tick      time.Duration
		duration  time.Duration
		wantRecs  int // most records allowed in any one-second window
		wantBytes int
	}{
		{name: "small records are held to 1000 per second", size: 100, perTick: 500, tick: 50 * time.Millisecond, duration: 5 * time.Second, wantRecs: 1000},
		{name: "large records are held to 1 MiB per second", size: 100 << 10, perTick: 50, tick: 10 * time.Millisecond, duration: 5 * time.Second, wantBytes: 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWriteBudget(time.Time{})
			t0 := time.Unix(1000, 0)
			type sent struct {
				at time.Time
				n  int
			}
			var log []sent
			for now := t0; now.Before(t0.Add(tc.duration)); now = now.Add(tc.tick) {
				n := 0
				for i := 0; i < tc.perTick && w.take(tc.size, now); i++ {
					n++
				}
				w.commit(now)
				if n > 0 {
					log = append(log, sent{now, n})
				}
			}
			total := 0
			for i := range log {
				recs := 0
				for j := i; j < len(log) && log[j].at.Sub(log[i].at) < time.Second; j++ {
					recs += log[j].n
				}
				if tc.wantRecs > 0 && recs > tc.wantRecs {
					t.Fatalf("%d records in the second from %v", recs, log[i].at.Sub(t0))
				}
				if tc.wantBytes > 0 && recs*tc.size > tc.wantBytes {
					t.Fatalf("%d bytes in the second from %v", recs*tc.size, log[i].at.Sub(t0))
				}
				total += log[i].n
			}
			// and the budget is used, not starved: at least 80% of the limit.
			perSec := float64(total) / tc.duration.Seconds()
			limit := float64(tc.wantRecs)
			if tc.wantBytes > 0 {
				limit = float64(tc.wantBytes / tc.size)
			}
			if perSec < 0.8*limit {
				t.Fatalf("only %.0f records/s went through, limit %.0f", perSec, limit)
			}
		})
	}
}

func TestReadLimiterSpacesCallsToFivePerSecond(t *testing.T) {
	l := newReadLimiter()
	quit := make(chan struct{})
	start := time.Now()
	for i := 0; i < 6; i++ {
		if !l.wait("shard-0", quit) {
			t.Fatal("wait returned false")
		}
	}
	// Burst 1 at 5/s: the 6th call comes 1s after the first.
	if el := time.Since(start); el < 950*time.Millisecond {
		t.Fatalf("6 reads took %v, want >= 1s at 5 reads/s", el)
	}
	close(quit)
}
