package redis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestRetention(t *testing.T) {
	t.Run("retention is on by default: seven days", func(t *testing.T) {
		b := newBus(t, redis.Config{})
		if got := b.Config().RetentionDays; got != 7 {
			t.Errorf("default retentionDays = %d, want 7", got)
		}
		if _, err := redis.NewEventBus(redis.Config{RetentionDays: -2}); err == nil {
			t.Errorf("retentionDays -2 accepted")
		}
	})

	t.Run("a stream stays bounded by age under a steady publish, and trimming counts what a group had not acknowledged", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.Retention = bus.Duration(300 * time.Millisecond)
		b := started(t, cfg)
		ctx := testCtx(t)
		raw := rawClient(t, b)
		stream := cfg.KeyPrefix + "ticks"
		var rec recorder
		if _, err := b.Subscribe(ctx, "ticks", rec.Handle); err != nil {
			t.Fatal(err)
		}
		// A group nobody reads: everything trimmed is unacknowledged by it.
		if err := raw.XGroupCreateMkStream(ctx, stream, "laggard", "$").Err(); err != nil {
			t.Fatal(err)
		}
		const n = 600
		var maxLen int64
		for i := 0; i < n; i++ {
			if err := b.Publish(ctx, bus.Event{Topic: "ticks", Payload: fmt.Sprint(i)}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
			if i > n/3 && i%20 == 0 {
				l, err := raw.XLen(ctx, stream).Result()
				if err != nil {
					t.Fatal(err)
				}
				maxLen = max(maxLen, l)
			}
		}
		// Without trimming the stream would hold all n entries; with it,
		// about the last 300ms (plus one trim interval) of them.
		t.Logf("published %d over ~%v; longest stream seen in the last two thirds: %d entries", n, n*5*time.Millisecond, maxLen)
		if maxLen == 0 || maxLen > n/2 {
			t.Errorf("stream length reached %d of %d published entries: not bounded by a 300ms retention", maxLen, n)
		}
		testutil.Eventually(t, 10*time.Second, "every event delivered to the live subscription", func() bool { return rec.Count() >= n })
		total, unacked := b.TrimmedEntries()
		t.Logf("trimmed %d, of which %d not acknowledged by some group", total, unacked)
		if total == 0 || unacked == 0 || unacked > total {
			t.Errorf("TrimmedEntries = %d, %d; want some trimmed, all of them unacknowledged by the laggard group", total, unacked)
		}
	})

}
