package busbench

import (
	"runtime"
	"sync/atomic"
	"time"
)

// PingPongRTT measures the cache-line round trip between two spinning
// goroutines (a "cache-line ping-pong RTT" measurement): one writes
// an odd value and waits for the next even one, the other answers. With
// fewer than two Ps it returns 0.
func PingPongRTT(rounds int) time.Duration {
	if runtime.GOMAXPROCS(0) < 2 {
		return 0
	}
	var line struct {
		_ [64]byte
		v atomic.Uint64
		_ [64]byte
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := uint64(0); i < uint64(rounds); i++ {
			for line.v.Load() != 2*i+1 {
			}
			line.v.Store(2*i + 2)
		}
	}()
	start := time.Now()
	for i := uint64(0); i < uint64(rounds); i++ {
		line.v.Store(2*i + 1)
		for line.v.Load() != 2*i+2 {
		}
	}
	d := time.Since(start)
	<-done
	return d / time.Duration(rounds)
}
