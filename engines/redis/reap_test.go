package redis_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// A process that dies without Stop leaves its private groups on the
// streams (a clean Stop removes them). With staleGroupTimeout set, another
// engine on the same key prefix removes those whose consumers stayed idle
// longer than the timeout, and only those: live private groups, shared
// groups and groups without the private prefix stay. A stopped engine,
// started again, recreates its group and receives new events.
func TestStalePrivateGroupsAreRemoved(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(shared)
	cfg.BlockTimeout = bus.Duration(100 * time.Millisecond)
	cfg.ClaimTimeout = bus.Duration(300 * time.Millisecond)
	cfg.ClaimInterval = bus.Duration(100 * time.Millisecond)

	gone := newBus(t, cfg) // the process that goes away
	if err := gone.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gone.Stop(context.Background()) })
	goneGot := make(chan bus.Event, 16)
	if _, err := gone.Subscribe(ctx, "orders", func(_ context.Context, e bus.Event) error { goneGot <- e; return nil }); err != nil {
		t.Fatal(err)
	}
	raw := rawClient(t, gone)
	stream := cfg.KeyPrefix + "orders"
	// A shared group with an idle consumer, and a group of someone else's
	// naming: neither is a private group, neither may be touched.
	for _, g := range []string{"workers", "audit-sub:x"} {
		if err := raw.XGroupCreateMkStream(ctx, stream, g, "$").Err(); err != nil {
			t.Fatal(err)
		}
		if err := raw.XGroupCreateConsumer(ctx, stream, g, "idle-consumer").Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A private group whose process died between creating it and reading,
	// and one whose process died after reading.
	bare := cfg.KeyPrefix + "sub:diedbeforereading"
	if err := raw.XGroupCreateMkStream(ctx, stream, bare, "$").Err(); err != nil {
		t.Fatal(err)
	}
	dead := cfg.KeyPrefix + "sub:diedwhilereading"
	if err := raw.XGroupCreateMkStream(ctx, stream, dead, "$").Err(); err != nil {
		t.Fatal(err)
	}
	if err := raw.XGroupCreateConsumer(ctx, stream, dead, "dead-consumer").Err(); err != nil {
		t.Fatal(err)
	}
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := gone.Stop(stopCtx); err != nil { // subscriptions are kept, their group is released
		t.Fatal(err)
	}
	groups := func() []string {
		gs, err := raw.XInfoGroups(ctx, stream).Result()
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, g := range gs {
			names = append(names, g.Name)
		}
		slices.Sort(names)
		return names
	}
	before := groups()
	if len(before) != 4 {
		t.Fatalf("groups before: %v, want the two dead ones, workers and audit-sub:x (not the cleanly stopped subscription's)", before)
	}

	cfg.StaleGroupTimeout = bus.Duration(time.Second)
	janitor := started(t, cfg)
	liveGot := make(chan bus.Event, 16)
	if _, err := janitor.Subscribe(ctx, "orders", func(_ context.Context, e bus.Event) error { liveGot <- e; return nil }); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "two stale groups removed", func() bool { return janitor.StaleGroupsRemoved() == 2 })
	after := groups()
	var private []string
	for _, g := range after {
		if strings.HasPrefix(g, cfg.KeyPrefix+"sub:") {
			private = append(private, g)
		}
	}
	if len(private) != 1 || !slices.Contains(after, "workers") || !slices.Contains(after, "audit-sub:x") || slices.Contains(after, bare) || slices.Contains(after, dead) {
		t.Fatalf("groups after the sweep: %v; want workers, audit-sub:x and only the live subscription's private group", after)
	}
	// Another second: the live group survives sweeps while it reads.
	time.Sleep(1500 * time.Millisecond)
	if n := janitor.StaleGroupsRemoved(); n != 2 {
		t.Fatalf("removed %d groups, want still 2 (a live group was taken)", n)
	}
	if err := janitor.Publish(ctx, bus.Event{Topic: "orders", Payload: "after-sweep"}); err != nil {
		t.Fatal(err)
	}
	expectPayload(t, liveGot, "after-sweep")

	// The stopped engine comes back: its subscription recreates the group
	// and receives what is published from then on.
	if err := gone.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := janitor.Publish(ctx, bus.Event{Topic: "orders", Payload: "after-restart"}); err != nil {
		t.Fatal(err)
	}
	expectPayload(t, goneGot, "after-restart")
	if n := janitor.BackgroundErrors(""); n != 0 {
		t.Errorf("the sweeps reported %d background errors", n)
	}
}

// expectPayload waits for an event with payload want on ch (other events
// before it, re-read history, are allowed).
func expectPayload(t *testing.T, ch <-chan bus.Event, want string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-ch:
			if e.Payload == want {
				return
			}
		case <-deadline:
			t.Fatalf("no event %q within 10s", want)
		}
	}
}
