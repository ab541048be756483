package redis_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// publishSeq publishes n events on topic with payload {"i": i, "kind": …}
// (kind "keep" for every fourth).
func publishSeq(t *testing.T, b *redis.EventBus, topic string, from, n int) {
	t.Helper()
	ctx := testCtx(t)
	for i := from; i < from+n; i++ {
		kind := "skip"
		if i%4 == 0 {
			kind = "keep"
		}
		if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: map[string]any{"i": i, "kind": kind}, Metadata: map[string]any{"n": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
}

// pollAll polls topic in pages of limit from cursor until a poll returns
// no event, and returns the events and the last cursor.
func pollAll(t *testing.T, b *redis.EventBus, topic, cursor string, limit int, f *bus.Filter) ([]bus.Event, string) {
	t.Helper()
	ctx := testCtx(t)
	var all []bus.Event
	for polls := 0; ; polls++ {
		if polls > 10000 {
			t.Fatalf("poll of %s does not end", topic)
		}
		resp, err := b.Poll(ctx, topic, bus.ConsumeRequest{Limit: limit, Cursor: cursor, Filter: f})
		if err != nil {
			t.Fatalf("Poll(%s): %v", topic, err)
		}
		if len(resp.Events) > limit {
			t.Fatalf("Poll returned %d events, limit %d", len(resp.Events), limit)
		}
		if resp.Gap {
			t.Errorf("unexpected gap")
		}
		if resp.Cursor == "" {
			t.Fatalf("empty cursor")
		}
		cursor = resp.Cursor
		if len(resp.Events) == 0 {
			return all, cursor
		}
		all = append(all, resp.Events...)
	}
}

func indexes(t *testing.T, events []bus.Event) []int {
	t.Helper()
	out := make([]int, len(events))
	for k, e := range events {
		m, ok := e.Payload.(map[string]any)
		if !ok {
			t.Fatalf("payload %T %v", e.Payload, e.Payload)
		}
		f, ok := m["i"].(float64)
		if !ok {
			t.Fatalf("payload %v", m)
		}
		out[k] = int(f)
	}
	return out
}

func seq(from, n int) []int {
	out := make([]int, n)
	for k := range out {
		out[k] = from + k
	}
	return out
}

func TestPoll(t *testing.T) {
	t.Run("paging from the oldest returns every event once, in publish order, as subscribers get them", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		var rec recorder
		if _, err := b.Subscribe(ctx, "pages", rec.Handle); err != nil {
			t.Fatal(err)
		}
		publishSeq(t, b, "pages", 0, 300)
		got, _ := pollAll(t, b, "pages", "", 37, nil)
		if idx := indexes(t, got); !reflect.DeepEqual(idx, seq(0, 300)) {
			t.Fatalf("polled %v", idx)
		}
		testutil.Eventually(t, 10*time.Second, "the subscriber to get all", func() bool { return rec.Count() >= 300 })
		for k, want := range rec.Events() {
			g := got[k]
			if g.Topic != "pages" || !reflect.DeepEqual(g.Payload, want.Payload) || !reflect.DeepEqual(g.Metadata, want.Metadata) || !g.CreatedAt.Equal(want.CreatedAt) {
				t.Fatalf("event %d: polled %+v, subscriber got %+v", k, g, want)
			}
		}
	})

	t.Run("a pattern polls every matching stream, merged, each event once and in order per topic", func(t *testing.T) {
		b := started(t, testConfig(shared))
		for r := 0; r < 5; r++ {
			for _, topic := range []string{"orders.eu", "orders.us", "orders.asia"} {
				publishSeq(t, b, topic, r*10, 10)
			}
		}
		publishSeq(t, b, "invoices.eu", 0, 10) // not matched
		got, _ := pollAll(t, b, "orders.*", "", 7, nil)
		per := map[string][]bus.Event{}
		for _, e := range got {
			per[e.Topic] = append(per[e.Topic], e)
		}
		if len(got) != 150 || len(per) != 3 {
			t.Fatalf("polled %d events of %d topics, want 150 of 3", len(got), len(per))
		}
		for topic, evs := range per {
			if idx := indexes(t, evs); !reflect.DeepEqual(idx, seq(0, 50)) {
				t.Errorf("%s: %v", topic, idx)
			}
		}
		// Merged by time: the topics' batches were published in turns,
		// so the first 10 polled are one topic's first batch.
		if first := indexes(t, got[:10]); !reflect.DeepEqual(first, seq(0, 10)) || got[0].Topic != got[9].Topic {
			t.Errorf("not merged by time: first ten %v", first)
		}
	})

	t.Run("a cursor resumes on a new engine after Stop", func(t *testing.T) {
		cfg := testConfig(shared)
		b1 := newBus(t, cfg)
		ctx := testCtx(t)
		if err := b1.Start(ctx); err != nil {
			t.Fatal(err)
		}
		publishSeq(t, b1, "resume", 0, 50)
		resp, err := b1.Poll(ctx, "resume", bus.ConsumeRequest{Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if err := b1.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b1.Poll(ctx, "resume", bus.ConsumeRequest{Limit: 20, Cursor: resp.Cursor}); !errors.Is(err, bus.ErrEventBusNotStarted) {
			t.Errorf("Poll after Stop: %v, want ErrEventBusNotStarted", err)
		}
		b2 := started(t, cfg)
		rest, _ := pollAll(t, b2, "resume", resp.Cursor, 20, nil)
		if idx := append(indexes(t, resp.Events), indexes(t, rest)...); !reflect.DeepEqual(idx, seq(0, 50)) {
			t.Errorf("polled %v across the restart", idx)
		}
	})

	t.Run("CursorLatest returns only later events, also of streams a pattern matches later", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		publishSeq(t, b, "late.a", 0, 10)
		for _, topic := range []string{"late.a", "late.*", "late.none"} {
			resp, err := b.Poll(ctx, topic, bus.ConsumeRequest{Limit: 5, Cursor: bus.CursorLatest})
			if err != nil || len(resp.Events) != 0 || resp.Gap {
				t.Fatalf("Poll(%s, latest) = %d events, gap %v, %v", topic, len(resp.Events), resp.Gap, err)
			}
			publishSeq(t, b, "late.a", 100, 3)
			publishSeq(t, b, "late.none", 200, 2) // the first publish creates the stream
			got, _ := pollAll(t, b, topic, resp.Cursor, 2, nil)
			var want []int
			switch topic {
			case "late.a":
				want = seq(100, 3)
			case "late.none":
				want = seq(200, 2)
			default:
				want = append(seq(100, 3), seq(200, 2)...)
			}
			if idx := indexes(t, got); !reflect.DeepEqual(idx, want) {
				t.Errorf("%s after latest: %v, want %v", topic, idx, want)
			}
		}
	})

	t.Run("a filter selects events and the cursor moves past the rejected ones", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		publishSeq(t, b, "filtered", 0, 40)
		f := bus.Eq("kind", "keep")
		resp, err := b.Poll(ctx, "filtered", bus.ConsumeRequest{Limit: 100, Filter: &f})
		if err != nil {
			t.Fatal(err)
		}
		if idx := indexes(t, resp.Events); !reflect.DeepEqual(idx, []int{0, 4, 8, 12, 16, 20, 24, 28, 32, 36}) {
			t.Errorf("filtered poll: %v", idx)
		}
		publishSeq(t, b, "filtered", 40, 3) // 40 keep, 41 and 42 skip
		next, err := b.Poll(ctx, "filtered", bus.ConsumeRequest{Limit: 100, Cursor: resp.Cursor})
		if err != nil {
			t.Fatal(err)
		}
		if idx := indexes(t, next.Events); !reflect.DeepEqual(idx, []int{40, 41, 42}) {
			t.Errorf("after the filtered poll, unfiltered: %v (rejected entries before the cursor came back?)", idx)
		}
	})

	t.Run("a trimmed cursor reports a gap and continues at the oldest retained event; trimming only what was read does not", func(t *testing.T) {
		cfg := testConfig(shared)
		b := started(t, cfg)
		ctx := testCtx(t)
		raw := rawClient(t, b)
		stream := cfg.KeyPrefix + "trimmed"
		publishSeq(t, b, "trimmed", 0, 50)
		resp, err := b.Poll(ctx, "trimmed", bus.ConsumeRequest{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		// Trim exactly what was read (entries 0..9), the cursor's own
		// entry included: nothing is lost.
		if err := raw.XTrimMaxLen(ctx, stream, 40).Err(); err != nil {
			t.Fatal(err)
		}
		resp, err = b.Poll(ctx, "trimmed", bus.ConsumeRequest{Limit: 10, Cursor: resp.Cursor})
		if err != nil {
			t.Fatal(err)
		}
		if idx := indexes(t, resp.Events); resp.Gap || !reflect.DeepEqual(idx, seq(10, 10)) {
			t.Fatalf("after trimming what was read: gap %v, %v", resp.Gap, idx)
		}
		if err := raw.XTrimMaxLen(ctx, stream, 5).Err(); err != nil {
			t.Fatal(err)
		}
		resp, err = b.Poll(ctx, "trimmed", bus.ConsumeRequest{Limit: 10, Cursor: resp.Cursor})
		if err != nil {
			t.Fatal(err)
		}
		if idx := indexes(t, resp.Events); !resp.Gap || !reflect.DeepEqual(idx, seq(45, 5)) {
			t.Fatalf("after trimming unread entries: gap %v, %v; want gap and 45..49", resp.Gap, idx)
		}
		publishSeq(t, b, "trimmed", 50, 2)
		rest, _ := pollAll(t, b, "trimmed", resp.Cursor, 10, nil)
		if idx := indexes(t, rest); !reflect.DeepEqual(idx, seq(50, 2)) {
			t.Errorf("after the gap: %v", idx)
		}
		// Everything trimmed, the stream empty: a gap, then nothing.
		stale := resp.Cursor
		publishSeq(t, b, "trimmed", 52, 3)
		if err := raw.XTrimMaxLen(ctx, stream, 0).Err(); err != nil {
			t.Fatal(err)
		}
		resp, err = b.Poll(ctx, "trimmed", bus.ConsumeRequest{Limit: 10, Cursor: stale})
		if err != nil || !resp.Gap || len(resp.Events) != 0 {
			t.Fatalf("emptied stream: gap %v, %d events, %v", resp.Gap, len(resp.Events), err)
		}
	})

	t.Run("a stream deleted and created again reports a gap and is read from its start", func(t *testing.T) {
		cfg := testConfig(shared)
		b := started(t, cfg)
		ctx := testCtx(t)
		publishSeq(t, b, "reborn", 0, 20)
		_, cursor := pollAll(t, b, "reborn", "", 50, nil)
		if err := rawClient(t, b).Del(ctx, cfg.KeyPrefix+"reborn").Err(); err != nil {
			t.Fatal(err)
		}
		publishSeq(t, b, "reborn", 100, 3)
		resp, err := b.Poll(ctx, "reborn", bus.ConsumeRequest{Limit: 10, Cursor: cursor})
		if err != nil || !resp.Gap {
			t.Fatalf("gap %v, %v", resp.Gap, err)
		}
		if idx := indexes(t, resp.Events); !reflect.DeepEqual(idx, seq(100, 3)) {
			t.Errorf("polled %v", idx)
		}
	})

	t.Run("entries subscribers could not decode are skipped and reported", func(t *testing.T) {
		cfg := testConfig(shared)
		b := started(t, cfg)
		ctx := testCtx(t)
		publishSeq(t, b, "mixed", 0, 2)
		if err := rawClient(t, b).XAdd(ctx, &goredis.XAddArgs{Stream: cfg.KeyPrefix + "mixed", Values: []any{"garbage", "1"}}).Err(); err != nil {
			t.Fatal(err)
		}
		publishSeq(t, b, "mixed", 2, 2)
		before := b.BackgroundErrors(broker.ScopeDecode)
		got, _ := pollAll(t, b, "mixed", "", 10, nil)
		if idx := indexes(t, got); !reflect.DeepEqual(idx, seq(0, 4)) {
			t.Errorf("polled %v", idx)
		}
		if b.BackgroundErrors(broker.ScopeDecode) == before {
			t.Errorf("the undecodable entry was not reported")
		}
	})

	t.Run("a poll of a topic with nothing returns at once with a cursor that continues", func(t *testing.T) {
		b := started(t, testConfig(shared))
		ctx := testCtx(t)
		start := time.Now()
		var noCtx context.Context // a nil ctx is documented as Background
		resp, err := b.Poll(noCtx, "empty.*", bus.ConsumeRequest{Limit: 10})
		if err != nil || len(resp.Events) != 0 || resp.Cursor == "" {
			t.Fatalf("Poll = %+v, %v", resp, err)
		}
		resp2, err := b.Poll(ctx, "empty.one", bus.ConsumeRequest{Limit: 10})
		if err != nil || len(resp2.Events) != 0 {
			t.Fatalf("Poll = %+v, %v", resp2, err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("empty polls took %v", d)
		}
		publishSeq(t, b, "empty.one", 0, 3)
		for _, c := range []struct{ topic, cursor string }{{"empty.*", resp.Cursor}, {"empty.one", resp2.Cursor}} {
			got, _ := pollAll(t, b, c.topic, c.cursor, 10, nil)
			if idx := indexes(t, got); !reflect.DeepEqual(idx, seq(0, 3)) {
				t.Errorf("%s: %v", c.topic, idx)
			}
		}
	})

	t.Run("invalid requests and cursors are refused with the documented errors", func(t *testing.T) {
		b := newBus(t, testConfig(shared))
		ctx := testCtx(t)
		if _, err := b.Poll(ctx, "x", bus.ConsumeRequest{Limit: 1}); !errors.Is(err, bus.ErrEventBusNotStarted) {
			t.Errorf("before Start: %v", err)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = b.Stop(context.Background()) })
		publishSeq(t, b, "x", 0, 3)
		good, err := b.Poll(ctx, "x", bus.ConsumeRequest{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name  string
			topic string
			req   bus.ConsumeRequest
			want  error
		}{
			{"limit 0", "x", bus.ConsumeRequest{}, bus.ErrInvalidConsumeRequest},
			{"shards", "x", bus.ConsumeRequest{Limit: 1, Shards: []int{0}}, bus.ErrInvalidConsumeRequest},
			{"empty topic", "", bus.ConsumeRequest{Limit: 1}, bus.ErrEmptyTopic},
			{"garbage cursor", "x", bus.ConsumeRequest{Limit: 1, Cursor: "garbage"}, bus.ErrInvalidCursor},
			{"bad base64", "x", bus.ConsumeRequest{Limit: 1, Cursor: "rs1.!!"}, bus.ErrInvalidCursor},
			{"truncated cursor", "x", bus.ConsumeRequest{Limit: 1, Cursor: good.Cursor[:len(good.Cursor)-2]}, bus.ErrInvalidCursor},
			{"trailing bytes", "x", bus.ConsumeRequest{Limit: 1, Cursor: good.Cursor + "AA"}, bus.ErrInvalidCursor},
			{"another topic's cursor", "y", bus.ConsumeRequest{Limit: 1, Cursor: good.Cursor}, bus.ErrInvalidCursor},
			{"an exact topic's cursor for a pattern", "*", bus.ConsumeRequest{Limit: 1, Cursor: good.Cursor}, bus.ErrInvalidCursor},
		}
		for _, c := range cases {
			if _, err := b.Poll(ctx, c.topic, c.req); !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
		}
		if resp, err := b.Poll(ctx, "x", bus.ConsumeRequest{Limit: 5, Cursor: good.Cursor}); err != nil || len(resp.Events) != 2 {
			t.Errorf("the good cursor after the refusals: %d events, %v", len(resp.Events), err)
		}
	})
}
