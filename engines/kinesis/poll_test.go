package kinesis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// publishKeyed publishes n events on topic, round-robin over keys, with
// payload "<key>:<counter>" (counter from start) and partition key key.
func publishKeyed(t *testing.T, b *EventBus, topic string, keys []string, start, n int) []string {
	t.Helper()
	var sent []string
	for i := start; i < start+n; i++ {
		k := keys[i%len(keys)]
		p := fmt.Sprintf("%s:%05d", k, i)
		e := bus.Event{Topic: topic, Payload: p, Metadata: map[string]any{bus.MetadataKeyPartition: k}}
		if err := b.Publish(testCtx(t), e); err != nil {
			t.Fatalf("publish %s: %v", p, err)
		}
		sent = append(sent, p)
	}
	return sent
}

// pollUntil polls topic from cursor in pages of limit until want events
// came or timeout passed, and returns the events and the last cursor. A
// page over limit, or a Gap, fails the test.
func pollUntil(t *testing.T, b *EventBus, topic, cursor string, req bus.ConsumeRequest, want int, timeout time.Duration) ([]bus.Event, string) {
	t.Helper()
	var got []bus.Event
	deadline := time.Now().Add(timeout)
	for len(got) < want && time.Now().Before(deadline) {
		req.Cursor = cursor
		res, err := b.Poll(testCtx(t), topic, req)
		if err != nil {
			t.Fatalf("Poll after %d events: %v", len(got), err)
		}
		if len(res.Events) > req.Limit {
			t.Fatalf("Poll returned %d events, limit %d", len(res.Events), req.Limit)
		}
		if res.Gap {
			t.Fatalf("Poll reported a gap after %d events", len(got))
		}
		got = append(got, res.Events...)
		cursor = res.Cursor
		if len(res.Events) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return got, cursor
}

// checkOnceInOrder checks that got holds exactly the payloads of sent,
// each once, and each key's in increasing counter order.
func checkOnceInOrder(t *testing.T, got []bus.Event, sent []string) {
	t.Helper()
	want := map[string]bool{}
	for _, p := range sent {
		want[p] = true
	}
	seen := map[string]bool{}
	last := map[string]int{}
	for _, e := range got {
		p, _ := e.Payload.(string)
		if !want[p] {
			t.Errorf("unexpected event %q (%T %v) on %q", p, e.Payload, e.Payload, e.Topic)
			continue
		}
		if seen[p] {
			t.Errorf("%s returned twice", p)
		}
		seen[p] = true
		k, num, _ := strings.Cut(p, ":")
		v, _ := strconv.Atoi(num)
		if prev, ok := last[k]; ok && v <= prev {
			t.Errorf("key %s: %05d after %05d", k, v, prev)
		}
		last[k] = v
	}
	if len(seen) != len(want) {
		t.Errorf("got %d distinct events, want %d", len(seen), len(want))
	}
}

func TestPoll(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.ShardCount = 3
	b := started(t, cfg)
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"}

	t.Run("pages return every event of the topic once, each key in order, and skip other topics", func(t *testing.T) {
		sent := publishKeyed(t, b, "paging.a", keys, 0, 300)
		publishKeyed(t, b, "paging.other", keys, 1000, 50)
		got, _ := pollUntil(t, b, "paging.a", "", bus.ConsumeRequest{Limit: 37}, len(sent), 20*time.Second)
		checkOnceInOrder(t, got, sent)
		for _, e := range got {
			if e.Topic != "paging.a" {
				t.Fatalf("event of topic %q returned for paging.a", e.Topic)
			}
		}
	})

	t.Run("a pattern polls every matching topic", func(t *testing.T) {
		a := publishKeyed(t, b, "pattern.x", keys, 0, 20)
		c := publishKeyed(t, b, "pattern.y", keys, 20, 20)
		publishKeyed(t, b, "patternless", keys, 40, 20)
		got, _ := pollUntil(t, b, "pattern.*", "", bus.ConsumeRequest{Limit: 1000}, 40, 10*time.Second)
		checkOnceInOrder(t, got, append(a, c...))
	})

	t.Run("polled events equal what a subscriber receives", func(t *testing.T) {
		var rec recorder
		if _, err := b.Subscribe(testCtx(t), "same.*", rec.Handle); err != nil {
			t.Fatal(err)
		}
		e := bus.Event{Topic: "same.one", Payload: map[string]any{"n": 1.5, "tags": []any{"a", "b"}}, Metadata: map[string]any{"tenant": "acme"}}
		if err := b.Publish(testCtx(t), e); err != nil {
			t.Fatal(err)
		}
		got, _ := pollUntil(t, b, "same.*", "", bus.ConsumeRequest{Limit: 10}, 1, 10*time.Second)
		deadline := time.Now().Add(10 * time.Second)
		for rec.Count() < 1 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		subs := rec.Events()
		if len(got) != 1 || len(subs) != 1 {
			t.Fatalf("polled %d events, subscriber received %d; want 1 and 1", len(got), len(subs))
		}
		if p, s := fmt.Sprintf("%#v", got[0]), fmt.Sprintf("%#v", subs[0]); p != s {
			t.Errorf("polled   %s\nreceived %s", p, s)
		}
	})

	t.Run("CursorLatest returns only events published after it", func(t *testing.T) {
		publishKeyed(t, b, "latest.t", keys, 0, 30)
		res, err := b.Poll(testCtx(t), "latest.t", bus.ConsumeRequest{Limit: 100, Cursor: bus.CursorLatest})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Events) != 0 || res.Gap {
			t.Fatalf("first poll with CursorLatest: %d events, gap %v; want none", len(res.Events), res.Gap)
		}
		sent := publishKeyed(t, b, "latest.t", keys, 100, 30)
		got, _ := pollUntil(t, b, "latest.t", res.Cursor, bus.ConsumeRequest{Limit: 100}, len(sent), 10*time.Second)
		checkOnceInOrder(t, got, sent)
	})

	t.Run("a filter returns exactly the matching events and the cursor moves past the rest", func(t *testing.T) {
		for i := range 60 {
			e := bus.Event{Topic: "filter.t", Payload: map[string]any{"i": i, "order": map[string]any{"region": []string{"eu", "us", "ap"}[i%3]}}}
			if err := b.Publish(testCtx(t), e); err != nil {
				t.Fatal(err)
			}
		}
		f, err := bus.ParseFilter([]byte(`{"$and":[{"order.region":"eu"},{"$not":{"i":3}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		got, cursor := pollUntil(t, b, "filter.t", "", bus.ConsumeRequest{Limit: 7, Filter: &f}, 19, 10*time.Second)
		var is []string
		for _, e := range got {
			m, _ := e.Payload.(map[string]any)
			is = append(is, fmt.Sprint(m["i"]))
		}
		want := []string{}
		for i := 0; i < 60; i += 3 {
			if i != 3 {
				want = append(want, strconv.Itoa(i))
			}
		}
		if strings.Join(is, ",") != strings.Join(want, ",") {
			t.Errorf("filtered events %v, want %v", is, want)
		}
		// Everything was consumed: an unfiltered poll from the cursor
		// finds nothing more.
		res, err := b.Poll(testCtx(t), "filter.t", bus.ConsumeRequest{Limit: 100, Cursor: cursor})
		if err != nil || len(res.Events) != 0 {
			t.Errorf("after the filtered polls: %d events, %v; want none", len(res.Events), err)
		}
	})

	t.Run("Shards restricts the poll: single-shard polls together return every event once", func(t *testing.T) {
		sent := publishKeyed(t, b, "shards.t", keys, 0, 120)
		var all []bus.Event
		for i := range 3 {
			got, _ := drainShard(t, b, "shards.t", i)
			if len(got) == 0 || len(got) == len(sent) {
				t.Errorf("shard %d alone returned %d of %d events: 10 keys over 3 shards should spread", i, len(got), len(sent))
			}
			all = append(all, got...)
		}
		checkOnceInOrder(t, all, sent)
		_, err := b.Poll(testCtx(t), "shards.t", bus.ConsumeRequest{Limit: 5, Shards: []int{3}})
		if !errorsIs(err, bus.ErrInvalidConsumeRequest) {
			t.Errorf("shard index 3 of 3: err = %v, want ErrInvalidConsumeRequest", err)
		}
	})

	t.Run("a malformed cursor gives ErrInvalidCursor and Limit 0 ErrInvalidConsumeRequest", func(t *testing.T) {
		res, err := b.Poll(testCtx(t), "bad.t", bus.ConsumeRequest{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		other, err := b.Poll(testCtx(t), "bad.other", bus.ConsumeRequest{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		forged := (&pollCursor{Stream: cfg.StreamName, Topic: "bad.t", Pos: map[string]string{"shardId-000000000000": "12ab"}}).encode()
		otherStream := (&pollCursor{Stream: "elsewhere", Topic: "bad.t", Pos: map[string]string{}}).encode()
		for name, c := range map[string]string{
			"garbage": "not a cursor", "truncated": res.Cursor[:len(res.Cursor)-3], "another topic's": other.Cursor,
			"another stream's": otherStream, "a forged position": forged, "an empty body": cursorPrefix,
		} {
			_, err := b.Poll(testCtx(t), "bad.t", bus.ConsumeRequest{Limit: 1, Cursor: c})
			if !errorsIs(err, bus.ErrInvalidCursor) {
				t.Errorf("%s cursor: err = %v, want ErrInvalidCursor", name, err)
			}
		}
		if _, err := b.Poll(testCtx(t), "bad.t", bus.ConsumeRequest{Limit: 0}); !errorsIs(err, bus.ErrInvalidConsumeRequest) {
			t.Errorf("Limit 0: err = %v, want ErrInvalidConsumeRequest", err)
		}
		var noCtx context.Context // Poll documents nil as context.Background()
		if _, err := b.Poll(noCtx, "bad.t", bus.ConsumeRequest{Limit: 1, Cursor: res.Cursor}); err != nil {
			t.Errorf("nil ctx: %v", err)
		}
	})
}

// drainShard reads shard index i of topic from the oldest record until a
// poll returns nothing and leaves the cursor as it was (a page of records
// of other topics returns nothing but moves the cursor).
func drainShard(t *testing.T, b *EventBus, topic string, i int) ([]bus.Event, string) {
	t.Helper()
	var all []bus.Event
	cursor := ""
	for {
		res, err := b.Poll(testCtx(t), topic, bus.ConsumeRequest{Limit: 25, Cursor: cursor, Shards: []int{i}})
		if err != nil {
			t.Fatalf("Poll shard %d: %v", i, err)
		}
		if len(res.Events) == 0 && res.Cursor == cursor {
			return all, cursor
		}
		cursor = res.Cursor
		all = append(all, res.Events...)
	}
}

func TestPollAcrossRestarts(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	keys := []string{"a", "b", "c"}

	t.Run("a cursor resumes on a new engine after Stop", func(t *testing.T) {
		b1 := started(t, cfg)
		first := publishKeyed(t, b1, "resume.t", keys, 0, 40)
		got, cursor := pollUntil(t, b1, "resume.t", "", bus.ConsumeRequest{Limit: 40}, 40, 10*time.Second)
		checkOnceInOrder(t, got, first)
		second := publishKeyed(t, b1, "resume.t", keys, 40, 25)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b1.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := b1.Poll(testCtx(t), "resume.t", bus.ConsumeRequest{Limit: 1, Cursor: cursor}); !errorsIs(err, bus.ErrEventBusNotStarted) {
			t.Errorf("Poll after Stop: err = %v, want ErrEventBusNotStarted", err)
		}
		b2 := started(t, cfg)
		got, _ = pollUntil(t, b2, "resume.t", cursor, bus.ConsumeRequest{Limit: 10}, 25, 10*time.Second)
		checkOnceInOrder(t, got, second)
	})
}
