package redis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// An entry whose consumers keep dying while they handle it is delivered
// again and again (every claim counts in Redis' pending list). Past
// maxDeliveries the engine dead-letters it without calling the handler,
// so it cannot crash-loop the group; an entry delivered fewer times is
// handled as usual.
func TestAnEntryDeliveredTooOftenIsDeadLetteredWithoutReachingTheHandler(t *testing.T) {
	cfg := testConfig(shared)
	cfg.Group = "workers"
	cfg.MaxDeliveries = 3
	cfg.ClaimTimeout = bus.Duration(200 * time.Millisecond)
	cfg.ClaimInterval = bus.Duration(100 * time.Millisecond)
	ctx := testCtx(t)

	// Two entries in the engine's wire format, in a group created first.
	pubCfg := testConfig(shared)
	pubCfg.KeyPrefix = cfg.KeyPrefix
	pub := started(t, pubCfg)
	raw := rawClient(t, pub)
	stream := cfg.KeyPrefix + "jobs"
	if err := raw.XGroupCreateMkStream(ctx, stream, cfg.Group, "0").Err(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"poison", "fine"} {
		if err := pub.Publish(ctx, bus.Event{Topic: "jobs", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	// A consumer reads both and dies; the poison one then kills three
	// more consumers that took it over (each claim is a delivery).
	read, err := raw.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: cfg.Group, Consumer: "ghost-1", Streams: []string{stream, ">"}, Count: 10}).Result()
	if err != nil || len(read) != 1 || len(read[0].Messages) != 2 {
		t.Fatalf("XREADGROUP = %v, %v", read, err)
	}
	poisonID := read[0].Messages[0].ID
	for i := 2; i <= 4; i++ {
		if err := raw.XClaim(ctx, &goredis.XClaimArgs{Stream: stream, Group: cfg.Group, Consumer: fmt.Sprint("ghost-", i), Messages: []string{poisonID}}).Err(); err != nil {
			t.Fatal(err)
		}
	}

	b := started(t, cfg)
	var handled, dead recorder
	if _, err := b.Subscribe(ctx, "dlq.jobs", dead.Handle); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(ctx, "jobs", handled.Handle); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the fine entry taken over and handled", func() bool { return handled.Count() >= 1 })
	testutil.Eventually(t, 10*time.Second, "the poison entry dead-lettered", func() bool { return dead.Count() >= 1 })
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := handled.Payloads(); len(got) != 1 || got[0] != "fine" {
		t.Errorf("the handler got %v, want only fine: the entry delivered 5 times must not reach it", got)
	}
	dl := dead.Events()[0]
	reason, _ := dl.Metadata["deadLetterReason"].(string)
	if dl.Payload != "poison" || !strings.Contains(reason, "delivered 5 times (maxDeliveries 3)") || dl.Metadata["deadLetterAttempts"] != float64(5) {
		t.Errorf("dead letter = %#v", dl)
	}
	if s := b.EngineStats(); s.DeadLettered != 1 || s.Failed != 0 {
		t.Errorf("stats %+v, want 1 dead-lettered and no handler failure", s)
	}
	if got := b.TopicStats()["jobs"].DeadLettered; got != 1 {
		t.Errorf("per-topic DeadLettered = %d, want 1", got)
	}
	testutil.Eventually(t, 10*time.Second, "both entries acknowledged", func() bool { return pendingOf(t, raw, b, "jobs") == 0 })
	if n := b.BackgroundErrors(broker.ScopeDeadLetter); n != 1 {
		t.Errorf("%d dead-letter reports, want 1 (the entry given up)", n)
	}
}
