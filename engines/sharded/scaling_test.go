package sharded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// scaleRecorder is an observer that records the shard changes.
type scaleRecorder struct {
	mu      sync.Mutex
	changes []ScalingChange
}

func (r *scaleRecorder) TopicCreated(string)                                     {}
func (r *scaleRecorder) TopicDeleted(string)                                     {}
func (r *scaleRecorder) MessageFailed(context.Context, bus.Event, string, error) {}
func (r *scaleRecorder) ShardsScaled(c ScalingChange) {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
}

func (r *scaleRecorder) all() []ScalingChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ScalingChange(nil), r.changes...)
}

// slowly wraps h to sleep d first: a handler that waits (I/O-like), so
// that more shards deliver more events per second.
func slowly(d time.Duration, h bus.EventHandler) bus.EventHandler {
	return func(ctx context.Context, e bus.Event) error {
		time.Sleep(d)
		return h(ctx, e)
	}
}

// publishKeys publishes perKey events on each of keys keys from one
// goroutine per key (block mode: publishers wait for room), until done or
// stop; it returns how many each key had accepted. A publish refused
// because the engine stopped ends that key's run.
func publishKeys(t *testing.T, ctx context.Context, b *EventBus, topic string, keys, perKey int, stop *atomic.Bool) map[string]int {
	t.Helper()
	sent := make([]int, keys)
	var wg sync.WaitGroup
	for k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perKey && (stop == nil || !stop.Load()); i++ {
				err := b.Publish(ctx, keyedEvent(topic, fmt.Sprint("key", k), i))
				if errors.Is(err, bus.ErrEventBusNotStarted) {
					return
				}
				if err != nil {
					t.Errorf("publish: %v", err)
					return
				}
				sent[k]++
			}
		}()
	}
	wg.Wait()
	want := map[string]int{}
	for k, n := range sent {
		want[fmt.Sprint("key", k)] = n
	}
	return want
}

func TestShardMetricsMeasuresUtilization(t *testing.T) {
	b := start(t, Config{Shards: 2, RingSize: 64})
	ctx := testCtx(t)
	rec := newLog()
	if _, err := b.Subscribe(ctx, "util", slowly(2*time.Millisecond, rec.handle)); err != nil {
		t.Fatal(err)
	}
	b.ShardMetrics() // baseline
	for i := range 40 {
		if err := b.Publish(ctx, keyedEvent("util", "hot", i)); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 10*time.Second, "10 deliveries", func() bool { return rec.count() >= 10 })
	busy := b.ShardMetrics()
	if len(busy) != 2 {
		t.Fatalf("ShardMetrics = %+v, want 2 shards", busy)
	}
	var hot, cold ShardMetrics
	for _, m := range busy {
		if m.Taken > 0 {
			hot = m
		} else {
			cold = m
		}
	}
	if hot.Utilization < 0.7 || cold.Utilization > 0.3 || hot.Capacity != 64 || hot.Interval <= 0 {
		t.Errorf("while one key keeps one shard busy: hot %+v, cold %+v; want utilization >= 0.7 and <= 0.3", hot, cold)
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	drained := b.ShardMetrics()
	time.Sleep(30 * time.Millisecond) // an idle interval to measure
	idle := b.ShardMetrics()
	var handled uint64
	for _, s := range [][]ShardMetrics{busy, drained} {
		for _, m := range s {
			handled += m.Handled
		}
	}
	if handled != 40 {
		t.Errorf("events handled over the samples = %d, want 40", handled)
	}
	for _, m := range idle {
		if m.Utilization > 0.2 || m.Taken != 0 || m.Depth != 0 {
			t.Errorf("idle shard %+v: want utilization <= 0.2, nothing taken or queued", m)
		}
	}
	if d := b.SuggestScaling(); len(d.Remove) != 1 {
		t.Errorf("SuggestScaling on two idle shards = %v, want one removed", d)
	}
}

// TestAutoScalingFollowsABurst: a burst against slow handlers (four sync
// subscriptions, whose calls more shards can run side by side) scales one
// shard up to maxShards, then back to minShards once idle; every event
// arrives once and in order per key at every subscription across all the
// changes, and no two automatic changes are closer than the cooldown.
func TestAutoScalingFollowsABurst(t *testing.T) {
	const cooldown = 150 * time.Millisecond
	b := start(t, Config{Shards: 1, RingSize: 64, BatchMaxEvents: 16, Scaling: ScalingConfig{
		Auto: true, MinShards: 1, MaxShards: 4, Interval: bus.Duration(20 * time.Millisecond), Cooldown: bus.Duration(cooldown),
	}})
	obs := &scaleRecorder{}
	b.SetObserver(obs)
	ctx := testCtx(t)
	recs := make([]*log, 4)
	for i := range recs {
		recs[i] = newLog()
		if _, err := b.Subscribe(ctx, "burst", slowly(500*time.Microsecond, recs[i].handle)); err != nil {
			t.Fatal(err)
		}
	}
	want := publishKeys(t, ctx, b, "burst", 16, 200, nil)
	testutil.Eventually(t, 60*time.Second, "3200 deliveries to each subscription", func() bool {
		for _, rec := range recs {
			if rec.count() != 16*200 {
				return false
			}
		}
		return true
	})
	peak := 0
	for _, c := range obs.all() {
		peak = max(peak, c.To)
	}
	if peak != 4 {
		t.Errorf("the burst peaked at %d shards, want maxShards (4); changes %+v", peak, obs.all())
	}
	testutil.Eventually(t, 10*time.Second, "back to one shard once idle", func() bool { return b.ShardCount() == 1 })
	for _, rec := range recs {
		rec.checkOrdered(t, want)
	}
	if m := invariant(t, b); m.Dropped != 0 {
		t.Errorf("dropped %d events", m.Dropped)
	}
	changes := obs.all()
	for i := 1; i < len(changes); i++ {
		prevEnd := changes[i-1].Started.Add(changes[i-1].Took)
		if gap := changes[i].Started.Sub(prevEnd); gap < cooldown {
			t.Errorf("change %d (%d→%d) began %v after the previous one ended, want >= %v", i, changes[i].From, changes[i].To, gap, cooldown)
		}
		if !changes[i].Auto {
			t.Errorf("change %d not automatic: %+v", i, changes[i])
		}
	}
	if st := b.EngineStats(); st.Shards != 1 || st.ScalingChanges != uint64(len(changes)) || len(changes) < 3 {
		t.Errorf("EngineStats shards %d, scaling changes %d; observer saw %d changes (want >= 3)", st.Shards, st.ScalingChanges, len(changes))
	}
}

func TestApplyScaling(t *testing.T) {
	b := start(t, Config{Shards: 2, RingSize: 64, Scaling: ScalingConfig{
		Auto: true, MinShards: 2, MaxShards: 5, Interval: bus.Duration(5 * time.Millisecond), Cooldown: bus.Duration(time.Hour),
	}})
	obs := &scaleRecorder{}
	b.SetObserver(obs)
	ctx := testCtx(t)
	rec := newLog()
	if _, err := b.Subscribe(ctx, "apply", rec.handle); err != nil {
		t.Fatal(err)
	}
	sent := 0
	publish := func() {
		for range 50 {
			if err := b.Publish(ctx, keyedEvent("apply", "k", sent)); err != nil {
				t.Fatal(err)
			}
			sent++
		}
	}
	step := func(name string, d ScalingDecision, wantIDs, wantCount int) []int {
		t.Helper()
		publish()
		got, err := b.ApplyScaling(ctx, d)
		if err != nil || len(got) != wantIDs || b.ShardCount() != wantCount {
			t.Fatalf("%s: ApplyScaling(%v) = %v, %v with %d shards; want %d ids and %d shards", name, d, got, err, b.ShardCount(), wantIDs, wantCount)
		}
		return got
	}
	t.Run("it bypasses the cooldown, one change after another", func(t *testing.T) {
		step("first", ScalingDecision{Add: 1}, 3, 3)
		added := step("second, at once", ScalingDecision{Add: 1}, 4, 4)
		cur := b.ShardMetrics()
		if len(cur) != 4 || cur[0].ID != added[0] || cur[3].ID != added[3] {
			t.Errorf("ShardMetrics after the change = %+v, want the ids returned (%v)", cur, added)
		}
	})
	t.Run("it never adds beyond maxShards", func(t *testing.T) {
		step("add 5", ScalingDecision{Add: 5}, 5, 5)
		step("at maxShards", ScalingDecision{Add: 1}, 0, 5)
	})
	t.Run("it never removes below minShards and returns the removed ids", func(t *testing.T) {
		var all []int
		for _, m := range b.ShardMetrics() {
			all = append(all, m.ID)
		}
		removed := step("remove all", ScalingDecision{Remove: all}, 5, 2)
		if fmt.Sprint(removed) != fmt.Sprint(all) {
			t.Errorf("removed %v, want the drained shards %v", removed, all)
		}
		step("stale ids", ScalingDecision{Remove: all}, 0, 2)
	})
	t.Run("the monitor honours the cooldown the changes started", func(t *testing.T) {
		time.Sleep(100 * time.Millisecond) // 20 monitor intervals over idle shards
		if n := b.ShardCount(); n != 2 {
			t.Errorf("the monitor changed the count to %d during the cooldown", n)
		}
	})
	t.Run("invalid decisions and a stopped engine are errors", func(t *testing.T) {
		if _, err := b.ApplyScaling(ctx, ScalingDecision{Add: -1}); !errors.Is(err, ErrInvalidScalingDecision) {
			t.Errorf("negative Add: %v", err)
		}
		stopped, err := NewEventBus(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stopped.ApplyScaling(ctx, ScalingDecision{Add: 1}); !errors.Is(err, bus.ErrEventBusNotStarted) {
			t.Errorf("on a stopped engine: %v", err)
		}
	})
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec.checkOrdered(t, map[string]int{"k": sent})
	changes := obs.all()
	if len(changes) != 4 || changes[0].Auto || b.EngineStats().ScalingChanges != 4 {
		t.Errorf("reported changes %+v (counted %d), want the 4 manual ones", changes, b.EngineStats().ScalingChanges)
	}
}

// TestStopDuringAnAutomaticChange stops the engine while the monitor's
// change waits for the old shard to drain: Stop delivers everything
// accepted, in order, and leaves no goroutine behind.
func TestStopDuringAnAutomaticChange(t *testing.T) {
	leaks := goleak.IgnoreCurrent()
	b, err := NewEventBus(Config{Shards: 1, RingSize: 256, Scaling: ScalingConfig{
		Auto: true, MaxShards: 4, Interval: bus.Duration(10 * time.Millisecond), Cooldown: bus.Duration(time.Hour),
	}})
	if err != nil {
		t.Fatal(err)
	}
	obs := &scaleRecorder{}
	b.SetObserver(obs)
	ctx := testCtx(t)
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	rec := newLog()
	if _, err := b.Subscribe(ctx, "stop", slowly(2*time.Millisecond, rec.handle)); err != nil {
		t.Fatal(err)
	}
	var want map[string]int
	published := make(chan struct{})
	go func() {
		defer close(published)
		want = publishKeys(t, ctx, b, "stop", 8, 1<<30, nil) // until Stop refuses
	}()
	testutil.Eventually(t, 10*time.Second, "the monitor's first change, draining the old shard", func() bool {
		draining := false
		for _, m := range b.Metrics().Shards {
			draining = draining || m.Draining
		}
		return draining && b.ShardCount() > 1
	})
	if err := b.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	<-published
	total := 0
	for _, n := range want {
		total += n
	}
	if got := rec.count(); got != total {
		t.Errorf("delivered %d of %d accepted events", got, total)
	}
	rec.checkOrdered(t, want)
	if m := invariant(t, b); m.Dropped != 0 || m.LossyShutdown {
		t.Errorf("dropped %d (lossy %v)", m.Dropped, m.LossyShutdown)
	}
	if c := obs.all(); len(c) != 1 || !c[0].Auto || !errors.Is(c[0].Err, context.Canceled) {
		t.Errorf("reported %+v, want the one automatic change, cut short by Stop", c)
	}
	goleak.VerifyNone(t, leaks)
}

// TestUtilizationExcludesWaitingForASubscription: one slow sync
// subscription fed by four shards runs one call at a time, so the four
// workers together are about one worker busy, not four: more shards
// would not help, and the utilization says so.
func TestUtilizationExcludesWaitingForASubscription(t *testing.T) {
	b := start(t, Config{Shards: 4, RingSize: 64})
	ctx := testCtx(t)
	rec := newLog()
	if _, err := b.Subscribe(ctx, "serial", slowly(time.Millisecond, rec.handle)); err != nil {
		t.Fatal(err)
	}
	b.ShardMetrics() // baseline
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		publishKeys(t, ctx, b, "serial", 32, 1<<30, &stop)
	}()
	testutil.Eventually(t, 10*time.Second, "100 deliveries", func() bool { return rec.count() >= 100 })
	var work float64
	busyShards := 0
	for _, m := range b.ShardMetrics() {
		work += m.Utilization
		if m.Taken > 0 {
			busyShards++
		}
	}
	stop.Store(true)
	<-done
	if busyShards < 2 || work > 1.6 {
		t.Errorf("%d shards took events, total utilization %.2f; want several shards and about one worker's worth (<= 1.6)", busyShards, work)
	}
}
