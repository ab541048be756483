package sharded

import (
	"context"
	"fmt"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
)

// BenchmarkDispatchOnly measures the worker's per-event instruction cost
// without any cross-core transfer: one goroutine fills a batch and
// dispatches it.
func BenchmarkDispatchOnly(b *testing.B) {
	for _, subs := range []int{1, 4} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			e, err := NewEventBus(Config{Shards: 1})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			if err := e.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer e.Stop(ctx)
			n := 0
			for i := 0; i < subs; i++ {
				if _, err := e.Subscribe(ctx, "t", func(context.Context, bus.Event) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			s := newShard(e, e.run, nil, 99)
			const batch = 256
			ev := bus.Event{Topic: "t", Payload: 1}
			for i := 0; i < batch; i++ {
				s.write(uint64(i), ctx, &ev)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				s.bs.begin(s)
				s.take(0, batch)
				s.dispatch()
				s.bs.end(s)
			}
		})
	}
}

func TestTrivialContext(t *testing.T) {
	type key struct{}
	cancelled, cancel := context.WithCancel(context.Background())
	defer cancel()
	tests := []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"nil is trivial", nil, true},
		{"Background is trivial", context.Background(), true},
		{"TODO is trivial", context.TODO(), true},
		{"a value context is not", context.WithValue(context.Background(), key{}, 1), false},
		{"a cancel context is not", cancelled, false},
		{"WithoutCancel of Background is not", context.WithoutCancel(context.Background()), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			byEquality := tt.ctx == nil || tt.ctx == context.Background() || tt.ctx == context.TODO()
			if got := trivialCtx(tt.ctx); got != tt.want || got != byEquality {
				t.Errorf("trivialCtx = %v, want %v (== says %v)", got, tt.want, byEquality)
			}
		})
	}
}

// BenchmarkPublishOnly measures the producer's per-event instruction
// cost: Publish into a ring large enough that it never fills, with no
// worker reading it (no cross-core transfer).
func BenchmarkPublishOnly(b *testing.B) {
	e, err := NewEventBus(Config{Shards: 1, RingSize: 1 << 14})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	r := &runState{life: ctx, abandonCh: make(chan struct{})}
	set := &shardSet{n: 1, run: r}
	s := newShard(e, r, set, 0)
	set.shards = []*shard{s}
	e.set.Store(set)
	ev := bus.Event{Topic: "bench.orders", Payload: 1}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i&(1<<14-1) == 0 && i > 0 {
			b.StopTimer()
			s.head.Store(s.tail.Load())
			b.StartTimer()
		}
		if err := e.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
