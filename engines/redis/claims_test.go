package redis_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// slowRecorder is a recorder whose handler takes d per event.
func slowRecorder(rec *recorder, d time.Duration) bus.EventHandler {
	return func(ctx context.Context, e bus.Event) error {
		time.Sleep(d)
		return rec.Handle(ctx, e)
	}
}

// publishN publishes n events "<prefix>-0000"… to topic.
func publishN(t testing.TB, b *redis.EventBus, topic, prefix string, n int) []string {
	t.Helper()
	ctx := testCtx(t)
	want := seqN(prefix+"-%04d", n)
	for _, p := range want {
		if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// The claim loop must not treat the entries a live subscription holds
// (read, waiting for the handler) as abandoned: claiming them raised
// their delivery count in Redis, and after a restart the subscription
// dead-lettered healthy events as "delivered too many times".
func TestHeldEntriesAreNotDeadLetteredAfterARestart(t *testing.T) {
	cfg := testConfig(shared)
	cfg.ClaimTimeout = bus.Duration(100 * time.Millisecond)
	cfg.ClaimInterval = bus.Duration(10 * time.Millisecond)
	cfg.StartFrom = redis.StartFromBeginning
	b := started(t, cfg)
	ctx := testCtx(t)
	var rec, dead recorder
	if _, err := b.Subscribe(ctx, "dlq.steady", dead.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "steady", slowRecorder(&rec, 10*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	want := publishN(t, b, "steady", "ev", 300)
	// Let the subscription hold a batch for many claim timeouts.
	testutil.Eventually(t, 20*time.Second, "most events handled", func() bool { return rec.Count() >= 250 })
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := b.Stop(stopCtx); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 20*time.Second, "every event handled or dead-lettered", func() bool {
		missing, _ := diff(want, append(rec.Payloads(), dead.Payloads()...))
		return len(missing) == 0
	})
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_, dups := diff(want, rec.Payloads())
	t.Logf("handled %d, dead-lettered %d, duplicates %d", rec.Count(), dead.Count(), len(dups))
	if n := dead.Count(); n > 0 {
		t.Errorf("%d healthy events dead-lettered (first: %v)", n, dead.Events()[0].Metadata["deadLetterReason"])
	}
	if len(dups) > 0 {
		t.Errorf("%d events handled twice without a failure: %v", len(dups), dups[:min(len(dups), 5)])
	}
}

// An entry acknowledged after the claim loop took it over (it was still
// pending when XAUTOCLAIM ran) must not be handed to the subscription
// again.
func TestAnAcknowledgedEntryIsNotHandledAgain(t *testing.T) {
	cfg := testConfig(shared)
	cfg.ClaimTimeout = bus.Duration(200 * time.Millisecond)
	cfg.ClaimInterval = bus.Duration(20 * time.Millisecond)
	b := started(t, cfg)
	ctx := testCtx(t)
	var rec recorder
	if _, err := b.Subscribe(ctx, "quick", slowRecorder(&rec, 2*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	want := publishN(t, b, "quick", "ev", 2000)
	testutil.Eventually(t, 60*time.Second, "every event handled", func() bool {
		missing, _ := diff(want, rec.Payloads())
		return len(missing) == 0
	})
	// Duplicates came 270-475ms after the first call: wait for them.
	time.Sleep(600 * time.Millisecond)
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	_, dups := diff(want, rec.Payloads())
	t.Logf("handled %d, duplicates %d", rec.Count(), len(dups))
	if len(dups) > 0 {
		t.Errorf("%d events handled twice without a failure: %v", len(dups), dups[:min(len(dups), 5)])
	}
}

// A live consumer of a shared group keeps what it holds: the entries it
// read and has not handled yet are not claimed by the other consumer,
// however long its local batch takes to work through.
func TestALiveConsumerKeepsItsEntriesInASharedGroup(t *testing.T) {
	cfg := testConfig(shared)
	cfg.Group = "pair"
	cfg.ClaimTimeout = bus.Duration(2 * time.Second)
	cfg.ClaimInterval = bus.Duration(100 * time.Millisecond)
	cfg.ReadCount = 256
	cfg.StartFrom = redis.StartFromBeginning
	one, two := started(t, cfg), started(t, cfg)
	ctx := testCtx(t)
	var mu sync.Mutex
	seen := map[string]int{}
	var total atomic.Int64
	h := func(_ context.Context, e bus.Event) error {
		time.Sleep(20 * time.Millisecond)
		mu.Lock()
		seen[fmt.Sprint(e.Payload)]++
		mu.Unlock()
		total.Add(1)
		return nil
	}
	if _, err := one.Subscribe(ctx, "shared", h); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Subscribe(ctx, "shared", h); err != nil {
		t.Fatal(err)
	}
	want := publishN(t, one, "shared", "ev", 600)
	testutil.Eventually(t, 60*time.Second, "every event handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == len(want)
	})
	time.Sleep(cfg.ClaimTimeout.Std()) // a late claim would show now
	for _, b := range []*redis.EventBus{one, two} {
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	mu.Unlock()
	t.Logf("handled %d calls for %d events, duplicates %d", total.Load(), len(want), dups)
	if dups > 0 {
		t.Errorf("%d events handled twice although both consumers were alive", dups)
	}
}

// A restart is not a failed delivery: the entries a subscription read but
// never handed to its handler before Stop do not count against
// maxDeliveries when the next run reads them again.
func TestEntriesReadButNotHandledBeforeStopKeepTheirDeliveryCount(t *testing.T) {
	cfg := testConfig(shared)
	cfg.MaxDeliveries = 1
	cfg.ClaimTimeout = bus.Duration(30 * time.Second)
	b := started(t, cfg)
	ctx := testCtx(t)
	var rec, dead recorder
	if _, err := b.Subscribe(ctx, "dlq.restart", dead.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "restart", slowRecorder(&rec, 20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	want := publishN(t, b, "restart", "ev", 50)
	for round := 0; round < 2; round++ {
		testutil.Eventually(t, 20*time.Second, "some events handled", func() bool { return rec.Count()+dead.Count() >= 5*(round+1) })
		stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := b.Stop(stopCtx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 20*time.Second, "every event handled or dead-lettered", func() bool {
		missing, _ := diff(want, append(rec.Payloads(), dead.Payloads()...))
		return len(missing) == 0
	})
	if n := dead.Count(); n > 0 {
		t.Errorf("%d events dead-lettered after two restarts (first: %v)", n, dead.Events()[0].Metadata["deadLetterReason"])
	}
	if _, dups := diff(want, rec.Payloads()); len(dups) > 0 {
		t.Errorf("%d events handled twice without a failure: %v", len(dups), dups)
	}
}

// A handler may run longer than claimTimeout: while its consumer is alive
// the entry is not taken over by another consumer of the group.
func TestAHandlerLongerThanTheClaimTimeoutKeepsItsEntry(t *testing.T) {
	cfg := testConfig(shared)
	cfg.Group = "slowpokes"
	cfg.ClaimTimeout = bus.Duration(300 * time.Millisecond)
	cfg.ClaimInterval = bus.Duration(50 * time.Millisecond)
	one, two := started(t, cfg), started(t, cfg)
	ctx := testCtx(t)
	var calls atomic.Int64
	h := func(context.Context, bus.Event) error {
		calls.Add(1)
		time.Sleep(1500 * time.Millisecond)
		return nil
	}
	if _, err := one.Subscribe(ctx, "long", h); err != nil {
		t.Fatal(err)
	}
	if _, err := two.Subscribe(ctx, "long", h); err != nil {
		t.Fatal(err)
	}
	publishN(t, one, "long", "ev", 1)
	testutil.Eventually(t, 10*time.Second, "the handler called", func() bool { return calls.Load() >= 1 })
	time.Sleep(2 * time.Second)
	if n := calls.Load(); n != 1 {
		t.Errorf("the event reached a handler %d times; its consumer was alive and running it", n)
	}
}
