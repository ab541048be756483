package redis_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func rawClient(t testing.TB, b *redis.EventBus) *goredis.Client {
	t.Helper()
	opt, err := goredis.ParseURL(b.Config().URL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// pendingOf returns the number of pending entries of every group on the
// stream of topic.
func pendingOf(t testing.TB, c *goredis.Client, b *redis.EventBus, topic string) int64 {
	t.Helper()
	groups, err := c.XInfoGroups(context.Background(), b.Config().KeyPrefix+topic).Result()
	if err != nil {
		t.Fatalf("XINFO GROUPS: %v", err)
	}
	var n int64
	for _, g := range groups {
		n += g.Pending
	}
	return n
}

func TestDeadLetter(t *testing.T) {
	t.Run("a handler that keeps failing is retried then dead-lettered with reason and attempts, and acked", func(t *testing.T) {
		cfg := testConfig(shared)
		cfg.MaxRetries = 2
		b := started(t, cfg)
		ctx := testCtx(t)
		var good, dead, star recorder
		if _, err := b.Subscribe(ctx, "pay", func(ctx context.Context, e bus.Event) error {
			if e.Payload == "bad" {
				return errors.New("card declined")
			}
			return good.Handle(ctx, e)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Subscribe(ctx, "dlq.pay", dead.Handle); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Subscribe(ctx, "*", star.Handle); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"bad", "good"} {
			if err := b.Publish(ctx, bus.Event{Topic: "pay", Payload: p, Metadata: map[string]any{"order": "o-1"}}); err != nil {
				t.Fatal(err)
			}
		}
		testutil.Eventually(t, 10*time.Second, "the dead letter", func() bool { return dead.Count() >= 1 })
		testutil.Eventually(t, 10*time.Second, "the good event", func() bool { return good.Count() >= 1 })
		dl := dead.Events()[0]
		md := dl.Metadata
		if dl.Payload != "bad" || md["deadLetterReason"] != "card declined" || md["deadLetterAttempts"] != float64(3) ||
			md["deadLetterTopic"] != "pay" || md["order"] != "o-1" || md["deadLetterId"] == nil {
			t.Errorf("dead letter = %#v", dl)
		}
		s := b.EngineStats()
		if s.DeadLettered != 1 || s.Retried != 2 || s.Failed != 3 {
			t.Errorf("stats = %+v, want 1 dead-lettered, 2 retried, 3 failed", s)
		}
		c := rawClient(t, b)
		testutil.Eventually(t, 5*time.Second, "the failed entry to be acked", func() bool { return pendingOf(t, c, b, "pay") == 0 })
		// The "*" subscription saw both events of "pay" but not the dead letter.
		if err := b.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for _, e := range star.Events() {
			if strings.HasPrefix(e.Topic, "dlq.") {
				t.Errorf(`"*" received the dead letter on %q`, e.Topic)
			}
		}
	})

	t.Run("malformed entries are dead-lettered at once and acked, and delivery goes on", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		var got, dead recorder
		if _, err := b.Subscribe(ctx, "inbox", got.Handle); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Subscribe(ctx, "dlq.inbox", dead.Handle); err != nil {
			t.Fatal(err)
		}
		c := rawClient(t, b)
		stream := b.Config().KeyPrefix + "inbox"
		for _, v := range []map[string]any{
			{"foo": "bar"}, // not a CloudEvent
			{"specversion": "1.0", "id": "x", "source": "s", "type": "t", "datacontenttype": "application/json", "data": "{broken"},
		} {
			if err := c.XAdd(ctx, &goredis.XAddArgs{Stream: stream, Values: v}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Publish(ctx, bus.Event{Topic: "inbox", Payload: "fine"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the good event", func() bool { return got.Count() >= 1 })
		testutil.Eventually(t, 10*time.Second, "two dead letters", func() bool { return dead.Count() >= 2 })
		if got.Count() != 1 || got.Events()[0].Payload != "fine" {
			t.Errorf("handler got %v", got.Payloads())
		}
		for _, e := range dead.Events() {
			if r, _ := e.Metadata["deadLetterReason"].(string); !strings.HasPrefix(r, "malformed") {
				t.Errorf("reason = %q", r)
			}
		}
		testutil.Eventually(t, 5*time.Second, "no pending entries", func() bool { return pendingOf(t, c, b, "inbox") == 0 })
		if b.BackgroundErrors("decode") != 2 {
			t.Errorf("decode errors reported = %d, want 2", b.BackgroundErrors("decode"))
		}
	})

	t.Run("an oversized payload is refused on publish and dead-lettered on receive", func(t *testing.T) {
		small := testConfig(shared)
		small.MaxPayloadBytes = 1024
		big := small
		big.MaxPayloadBytes = -1
		consumer := started(t, small)
		producer := started(t, big)
		ctx := testCtx(t)

		err := consumer.Publish(ctx, bus.Event{Topic: "blobs", Payload: strings.Repeat("x", 2000)})
		if !errors.Is(err, bus.ErrPayloadTooLarge) {
			t.Errorf("oversized Publish = %v, want ErrPayloadTooLarge", err)
		}
		var got, dead recorder
		if _, err := consumer.Subscribe(ctx, "blobs", got.Handle); err != nil {
			t.Fatal(err)
		}
		if _, err := consumer.Subscribe(ctx, "dlq.blobs", dead.Handle); err != nil {
			t.Fatal(err)
		}
		if err := producer.Publish(ctx, bus.Event{Topic: "blobs", Payload: strings.Repeat("y", 2000)}); err != nil {
			t.Fatal(err)
		}
		if err := producer.Publish(ctx, bus.Event{Topic: "blobs", Payload: "small"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the small event", func() bool { return got.Count() >= 1 })
		testutil.Eventually(t, 10*time.Second, "the dead letter", func() bool { return dead.Count() >= 1 })
		if got.Count() != 1 {
			t.Errorf("handler got the oversized event")
		}
		d := dead.Events()[0]
		if r, _ := d.Metadata["deadLetterReason"].(string); d.Payload != nil || !strings.Contains(r, "payload too large") {
			t.Errorf("dead letter payload %v, reason %q", d.Payload, r)
		}
	})
}
