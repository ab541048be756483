package busbench

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Latencies holds publish→deliver latency percentiles.
type Latencies struct {
	Rate           int // events per second offered
	Achieved       float64
	P50, P99, P999 time.Duration
	Max            time.Duration
}

// Latency publishes at rate events/s for dur from one producer that
// busy-waits to its schedule and stamps each event with time.Now(); one
// subscriber records time.Since(CreatedAt) (monotonic). The first 10% of
// the samples are discarded as warm-up.
func Latency(newBus func() (bus.EventBus, error), rate int, dur time.Duration) (Latencies, error) {
	return LatencyN(newBus, rate, max(10, int(float64(rate)*dur.Seconds())))
}

// LatencyN is Latency for n events.
func LatencyN(newBus func() (bus.EventBus, error), rate, n int) (Latencies, error) {
	b, err := newBus()
	if err != nil {
		return Latencies{}, err
	}
	ctx := context.Background()
	if err := b.Start(ctx); err != nil {
		return Latencies{}, err
	}
	defer b.Stop(ctx)
	samples := make([]time.Duration, 0, n)
	done := make(chan struct{})
	_, err = b.Subscribe(ctx, Topic, func(_ context.Context, e bus.Event) error {
		samples = append(samples, time.Since(e.CreatedAt))
		if len(samples) == n {
			close(done)
		}
		return nil
	})
	if err != nil {
		return Latencies{}, err
	}
	return pace(rate, n, done, &samples, func(e bus.Event) error { return b.Publish(ctx, e) })
}

// ChannelLatency is Latency for a buffered channel (buffer buf) with one
// consumer goroutine.
func ChannelLatency(buf, rate int, dur time.Duration) (Latencies, error) {
	n := int(float64(rate) * dur.Seconds())
	samples := make([]time.Duration, 0, n)
	done := make(chan struct{})
	ch := make(chan bus.Event, buf)
	go func() {
		for i := 0; i < n; i++ {
			e := <-ch
			samples = append(samples, time.Since(e.CreatedAt))
		}
		close(done)
	}()
	return pace(rate, n, done, &samples, func(e bus.Event) error { ch <- e; return nil })
}

func pace(rate, n int, done chan struct{}, samples *[]time.Duration, publish func(bus.Event) error) (Latencies, error) {
	interval := time.Second / time.Duration(rate)
	e := NewEvent()
	start := time.Now()
	next := start
	for i := 0; i < n; i++ {
		for time.Now().Before(next) {
		}
		e.CreatedAt = time.Now()
		if err := publish(e); err != nil {
			return Latencies{}, err
		}
		next = next.Add(interval)
	}
	elapsed := time.Since(start)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		return Latencies{}, fmt.Errorf("latency run timed out")
	}
	s := (*samples)[len(*samples)/10:]
	slices.Sort(s)
	pick := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Latencies{
		Rate: rate, Achieved: float64(n) / elapsed.Seconds(),
		P50: pick(0.50), P99: pick(0.99), P999: pick(0.999), Max: s[len(s)-1],
	}, nil
}
