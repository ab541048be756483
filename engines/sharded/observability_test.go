package sharded

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

func TestHandlerLatency(t *testing.T) {
	t.Run("the latency count grows with every sync and async handler call", func(t *testing.T) {
		b := start(t, Config{Shards: 2})
		ctx := testCtx(t)
		noop := func(context.Context, bus.Event) error { return nil }
		slow := func(context.Context, bus.Event) error { time.Sleep(20 * time.Microsecond); return nil }
		if _, err := b.Subscribe(ctx, "lat.*", slow); err != nil {
			t.Fatal(err)
		}
		if _, err := b.SubscribeAsync(ctx, "lat.a", noop); err != nil {
			t.Fatal(err)
		}
		if got := b.EngineStats().HandlerLatency.Count; got != 0 {
			t.Fatalf("latency count before any publish = %d, want 0", got)
		}
		for round, want := range []uint64{30, 60} {
			for i := 0; i < 10; i++ {
				for _, topic := range []string{"lat.a", "lat.b"} {
					if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: i}); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			st := b.EngineStats()
			if st.HandlerLatency.Count != want || st.Delivered != want {
				t.Fatalf("round %d: latency count %d, delivered %d; want %d calls", round, st.HandlerLatency.Count, st.Delivered, want)
			}
			// The sync handler sleeps 20µs per call, 20 calls per round.
			if min := time.Duration(want/3*2) * 20 * time.Microsecond; st.HandlerLatency.Sum < min {
				t.Errorf("round %d: latency sum %v, want at least %v", round, st.HandlerLatency.Sum, min)
			}
		}
	})
	t.Run("panicking and failing calls are timed too", func(t *testing.T) {
		b := start(t, Config{Shards: 1})
		ctx := testCtx(t)
		h := func(_ context.Context, e bus.Event) error {
			switch e.Payload.(int) % 3 {
			case 1:
				return errors.New("boom")
			case 2:
				panic("boom")
			}
			return nil
		}
		if _, err := b.Subscribe(ctx, "p", h); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 9; i++ {
			if err := b.Publish(ctx, bus.Event{Topic: "p", Payload: i}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		st := b.EngineStats()
		if st.HandlerLatency.Count != 9 || st.Failed != 6 || st.Panics != 3 {
			t.Errorf("latency count %d, failed %d, panics %d; want 9, 6, 3", st.HandlerLatency.Count, st.Failed, st.Panics)
		}
	})
	t.Run("latency survives Stop, a restart and a resize", func(t *testing.T) {
		b := start(t, Config{Shards: 1})
		ctx := testCtx(t)
		if _, err := b.Subscribe(ctx, "r", func(context.Context, bus.Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
		publish := func(n int) {
			t.Helper()
			for i := 0; i < n; i++ {
				if err := b.Publish(ctx, bus.Event{Topic: "r", Payload: i}); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		publish(5)
		if err := b.Resize(ctx, 2); err != nil {
			t.Fatal(err)
		}
		publish(5)
		if err := b.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		publish(5)
		if got := b.EngineStats().HandlerLatency.Count; got != 15 {
			t.Errorf("latency count = %d, want 15", got)
		}
	})
}

func TestTopicStats(t *testing.T) {
	t.Run("topic figures add up to the engine's", func(t *testing.T) {
		b := start(t, Config{Shards: 2})
		ctx := testCtx(t)
		fail := func(_ context.Context, e bus.Event) error {
			if e.Payload.(int)%2 == 1 {
				return errors.New("odd")
			}
			return nil
		}
		if _, err := b.Subscribe(ctx, "orders.*", fail); err != nil {
			t.Fatal(err)
		}
		if _, err := b.SubscribeAsync(ctx, "orders.created", func(context.Context, bus.Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
		want := map[string]bus.TopicStats{
			"orders.created": {Published: 4, Delivered: 8, Failed: 2},
			"orders.paid":    {Published: 3, Delivered: 3, Failed: 1},
			"audit":          {Published: 2},
		}
		var batch []bus.Event
		for topic, w := range want {
			for i := 0; i < int(w.Published); i++ {
				batch = append(batch, bus.Event{Topic: topic, Payload: i})
			}
		}
		// Half one by one, half in one batch.
		for _, e := range batch[:len(batch)/2] {
			if err := b.Publish(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.PublishBatch(ctx, batch[len(batch)/2:]); err != nil {
			t.Fatal(err)
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got := b.TopicStats()
		if len(got) != len(want) {
			t.Errorf("TopicStats has %d topics, want %d: %v", len(got), len(want), got)
		}
		var sum bus.TopicStats
		for topic, w := range want {
			if got[topic] != w {
				t.Errorf("%s: %+v, want %+v", topic, got[topic], w)
			}
			sum = sum.Add(got[topic])
		}
		st := b.EngineStats()
		if sum.Published != st.Published || sum.Delivered != st.Delivered || sum.Failed != st.Failed || sum.Dropped != st.Dropped {
			t.Errorf("topic sum %+v does not match engine %+v", sum, st)
		}
	})
	t.Run("topics beyond TopicLimit go to bus.OtherTopic", func(t *testing.T) {
		b := start(t, Config{Shards: 1, TopicLimit: 2})
		ctx := testCtx(t)
		if _, err := b.Subscribe(ctx, "*", func(context.Context, bus.Event) error { return nil }); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			if err := b.Publish(ctx, bus.Event{Topic: fmt.Sprintf("t%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		got := b.TopicStats()
		want := map[string]bus.TopicStats{
			"t0":           {Published: 1, Delivered: 1},
			"t1":           {Published: 1, Delivered: 1},
			bus.OtherTopic: {Published: 3, Delivered: 3},
		}
		if len(got) != len(want) {
			t.Errorf("TopicStats = %v, want %v", got, want)
		}
		for topic, w := range want {
			if got[topic] != w {
				t.Errorf("%s: %+v, want %+v", topic, got[topic], w)
			}
		}
	})
	t.Run("refused and evicted events count as dropped on their topic", func(t *testing.T) {
		for _, mode := range []string{BackpressureDropNewest, BackpressureDropOldest} {
			t.Run(mode, func(t *testing.T) {
				rec := newLog()
				b, g := fullRing(t, Config{Backpressure: mode}, rec)
				_ = b.Publish(testCtx(t), keyedEvent("bp", "k", 5))
				g.release()
				if err := b.Flush(testCtx(t)); err != nil {
					t.Fatal(err)
				}
				got := b.TopicStats()["bp"]
				want := bus.TopicStats{Published: 6, Delivered: 5, Dropped: 1}
				if mode == BackpressureDropNewest {
					want.Published = 5 // a refused event was never accepted
				}
				if got != want {
					t.Errorf("bp: %+v, want %+v", got, want)
				}
				if st := b.EngineStats(); st.Dropped != got.Dropped {
					t.Errorf("engine dropped %d, topic dropped %d", st.Dropped, got.Dropped)
				}
			})
		}
	})
	t.Run("publish and deliver stay allocation-free with topic stats and latency", func(t *testing.T) {
		b := start(t, Config{Shards: 1})
		ctx := context.Background()
		n := 0
		if _, err := b.Subscribe(ctx, "alloc", func(context.Context, bus.Event) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		ev := bus.Event{Topic: "alloc", Payload: &n}
		if err := b.Publish(ctx, ev); err != nil { // first event admits the topic
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if err := b.Publish(ctx, ev); err != nil {
				t.Fatal(err)
			}
		})
		if err := b.Flush(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if allocs != 0 {
			t.Errorf("Publish allocates %.2f per event", allocs)
		}
		if st := b.TopicStats()["alloc"]; st.Delivered != 1002 || st.Published != 1002 {
			t.Errorf("alloc topic: %+v, want 1002 published and delivered", st)
		}
	})
}
