package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// publishKeyed publishes n events on topic, payload {"key": k, "seq": i}
// with key "k<i%keys>" as partition key, and returns the payload keys in
// publish order ("k0/0", "k1/1"...).
func publishKeyed(t *testing.T, b bus.EventBus, topic string, n, keys int) []string {
	t.Helper()
	var out []string
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%d", i%keys)
		ctx := bus.WithPartitionKey(ctxT(t), k)
		if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: map[string]any{"key": k, "seq": i}}); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s/%d", k, i))
	}
	return out
}

// label names an event published by publishKeyed.
func label(e bus.Event) string {
	m, _ := e.Payload.(map[string]any)
	return fmt.Sprintf("%v/%v", m["key"], m["seq"])
}

// pollAll polls topic in pages of limit from cursor until want events
// came (or the timeout), or with want < 0 until a page is empty, and
// returns them with the last cursor.
func pollAll(t *testing.T, p bus.Poller, topic, cursor string, req bus.ConsumeRequest, want int) ([]bus.Event, string) {
	t.Helper()
	req.Cursor = cursor
	var got []bus.Event
	deadline := time.Now().Add(20 * time.Second)
	for (want < 0 || len(got) < want) && time.Now().Before(deadline) {
		resp, err := p.Poll(ctxT(t), topic, req)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if len(resp.Events) > req.Limit {
			t.Fatalf("Poll returned %d events for a limit of %d", len(resp.Events), req.Limit)
		}
		if resp.Cursor == "" {
			t.Fatal("Poll returned an empty cursor")
		}
		got = append(got, resp.Events...)
		req.Cursor = resp.Cursor
		if len(resp.Events) == 0 {
			if want < 0 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return got, req.Cursor
}

// checkOncePerKeyOrder checks that got holds each of want exactly once and
// every key's events in publish order.
func checkOncePerKeyOrder(t *testing.T, got []bus.Event, want []string) {
	t.Helper()
	seen := map[string]int{}
	last := map[any]float64{}
	for _, e := range got {
		seen[label(e)]++
		m, _ := e.Payload.(map[string]any)
		seq, _ := m["seq"].(float64)
		if prev, ok := last[m["key"]]; ok && seq <= prev {
			t.Errorf("key %v: seq %v after %v", m["key"], seq, prev)
		}
		last[m["key"]] = seq
	}
	for _, w := range want {
		if seen[w] != 1 {
			t.Errorf("event %s returned %d times", w, seen[w])
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d events, want %d", len(got), len(want))
	}
}

func TestPoll(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	cfg := engineConfig(k, map[string]any{"topicPartitions": 4})
	b := started(t, cfg)

	t.Run("pages of 37 return every event once, in publish order per key", func(t *testing.T) {
		want := publishKeyed(t, b, "poll.paging", 300, 10)
		got, _ := pollAll(t, b, "poll.paging", "", bus.ConsumeRequest{Limit: 37}, len(want))
		checkOncePerKeyOrder(t, got, want)
	})

	t.Run("polled events equal the events subscribers get", func(t *testing.T) {
		var sub collector
		if _, err := b.Subscribe(ctxT(t), "poll.same", sub.Handle); err != nil {
			t.Fatal(err)
		}
		e := bus.Event{Topic: "poll.same", Payload: map[string]any{"a": []any{1.5, "x"}, "b": map[string]any{"c": true}}, Metadata: map[string]any{"tenant": "t1"}}
		if err := b.Publish(ctxT(t), e); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, "the delivery", func() bool { return sub.Count() == 1 })
		got, _ := pollAll(t, b, "poll.same", "", bus.ConsumeRequest{Limit: 10}, 1)
		if len(got) != 1 {
			t.Fatalf("polled %d events, want 1", len(got))
		}
		d := sub.Events()[0]
		d.ProcessingStarted, d.ProcessingCompleted = nil, nil
		if !reflect.DeepEqual(got[0], d) {
			t.Errorf("polled  %#v\nhandled %#v", got[0], d)
		}
	})

	t.Run("a cursor continues exactly after the last event returned, and an empty poll returns at once", func(t *testing.T) {
		want := publishKeyed(t, b, "poll.resume", 20, 3)
		first, cur := pollAll(t, b, "poll.resume", "", bus.ConsumeRequest{Limit: 50}, len(want))
		checkOncePerKeyOrder(t, first, want)
		began := time.Now()
		resp, err := b.Poll(ctxT(t), "poll.resume", bus.ConsumeRequest{Limit: 10, Cursor: cur})
		if err != nil || len(resp.Events) != 0 || resp.Gap {
			t.Fatalf("poll at the end: %d events, gap %v, err %v", len(resp.Events), resp.Gap, err)
		}
		if d := time.Since(began); d > time.Second {
			t.Errorf("a poll with nothing to return took %v", d)
		}
		more := publishKeyed(t, b, "poll.resume", 5, 3)
		got, _ := pollAll(t, b, "poll.resume", resp.Cursor, bus.ConsumeRequest{Limit: 50}, 5)
		checkOncePerKeyOrder(t, got, more)
	})

	t.Run("CursorLatest skips what was there and returns only later events", func(t *testing.T) {
		publishKeyed(t, b, "poll.latest", 10, 2)
		resp, err := b.Poll(ctxT(t), "poll.latest", bus.ConsumeRequest{Limit: 100, Cursor: bus.CursorLatest})
		if err != nil || len(resp.Events) != 0 {
			t.Fatalf("latest: %d events, err %v", len(resp.Events), err)
		}
		if err := b.Publish(ctxT(t), bus.Event{Topic: "poll.latest", Payload: map[string]any{"key": "new", "seq": 99}}); err != nil {
			t.Fatal(err)
		}
		got, cur := pollAll(t, b, "poll.latest", resp.Cursor, bus.ConsumeRequest{Limit: 100}, 1)
		if len(got) != 1 || label(got[0]) != "new/99" {
			t.Errorf("after latest: %v", got)
		}
		if resp, err := b.Poll(ctxT(t), "poll.latest", bus.ConsumeRequest{Limit: 100, Cursor: cur}); err != nil || len(resp.Events) != 0 {
			t.Errorf("after the new event: %d events, err %v", len(resp.Events), err)
		}
	})

	t.Run("Shards are partitions: single-partition polls add up to the topic, an unknown one is an error", func(t *testing.T) {
		want := publishKeyed(t, b, "poll.shards", 80, 8)
		var all []bus.Event
		for p := 0; p < 4; p++ {
			got, _ := pollAll(t, b, "poll.shards", "", bus.ConsumeRequest{Limit: 7, Shards: []int{p}}, -1)
			if len(got) == 0 {
				t.Errorf("partition %d: nothing (8 keys over 4 partitions)", p)
			}
			all = append(all, got...)
		}
		checkOncePerKeyOrder(t, all, want)
		_, err := b.Poll(ctxT(t), "poll.shards", bus.ConsumeRequest{Limit: 1, Shards: []int{4}})
		if !errors.Is(err, bus.ErrInvalidConsumeRequest) {
			t.Errorf("partition 4 of 4: err %v, want ErrInvalidConsumeRequest", err)
		}
	})

	t.Run("a filter selects events and the cursor moves past the rejected ones", func(t *testing.T) {
		publishKeyed(t, b, "poll.filter", 40, 4)
		f, err := bus.ParseFilter([]byte(`{"$or":[{"key":"k1"},{"$and":[{"key":"k2"},{"$not":{"seq":2}}]}]}`))
		if err != nil {
			t.Fatal(err)
		}
		got, cur := pollAll(t, b, "poll.filter", "", bus.ConsumeRequest{Limit: 3, Filter: &f}, 19)
		for _, e := range got {
			if l := label(e); !strings.HasPrefix(l, "k1/") && !strings.HasPrefix(l, "k2/") || l == "k2/2" {
				t.Errorf("filter let %s through", l)
			}
		}
		if len(got) != 19 {
			t.Errorf("got %d events, want 10 of k1 and 9 of k2", len(got))
		}
		resp, err := b.Poll(ctxT(t), "poll.filter", bus.ConsumeRequest{Limit: 100, Cursor: cur})
		if err != nil || len(resp.Events) != 0 {
			t.Errorf("after the last match: %d events, err %v", len(resp.Events), err)
		}
	})

	t.Run("a pattern polls every matching topic but not the dead-letter topics", func(t *testing.T) {
		publishKeyed(t, b, "wild.a", 5, 1)
		publishKeyed(t, b, "wild.b", 7, 1)
		if err := b.Publish(ctxT(t), bus.Event{Topic: "dlq.wild.a", Payload: "dead"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // topicRefreshInterval is 200ms
		got, cur := pollAll(t, b, "wild.*", "", bus.ConsumeRequest{Limit: 5}, 12)
		if len(got) != 12 {
			t.Fatalf("got %d events, want 12", len(got))
		}
		for _, e := range got {
			if e.Topic != "wild.a" && e.Topic != "wild.b" {
				t.Errorf("event of topic %q", e.Topic)
			}
		}
		// "*" matches every topic but the dead-letter ones.
		every, _ := pollAll(t, b, "*", "", bus.ConsumeRequest{Limit: 200}, -1)
		topics := map[string]int{}
		for _, e := range every {
			topics[e.Topic]++
		}
		if topics["wild.a"] != 5 || topics["wild.b"] != 7 || topics["dlq.wild.a"] != 0 {
			t.Errorf(`a poll of "*" read %v, want wild.a 5, wild.b 7 and no dead letter`, topics)
		}
		// A cursor of the pattern is not one of a single topic.
		if _, err := b.Poll(ctxT(t), "wild.a", bus.ConsumeRequest{Limit: 1, Cursor: cur}); !errors.Is(err, bus.ErrInvalidCursor) {
			t.Errorf("cursor of wild.* on wild.a: err %v, want ErrInvalidCursor", err)
		}
	})

	t.Run("malformed cursors and limits are refused with the bus sentinels", func(t *testing.T) {
		for _, c := range []string{"x", "k1.", "k1.!!", "k1.AQ", "k1.AAA"} {
			if _, err := b.Poll(ctxT(t), "poll.paging", bus.ConsumeRequest{Limit: 1, Cursor: c}); !errors.Is(err, bus.ErrInvalidCursor) {
				t.Errorf("cursor %q: err %v, want ErrInvalidCursor", c, err)
			}
		}
		if _, err := b.Poll(ctxT(t), "poll.paging", bus.ConsumeRequest{}); !errors.Is(err, bus.ErrInvalidConsumeRequest) {
			t.Errorf("limit 0: err %v, want ErrInvalidConsumeRequest", err)
		}
		var noCtx context.Context // a nil ctx is documented as Background
		began := time.Now()
		resp, err := b.Poll(noCtx, "poll.none", bus.ConsumeRequest{Limit: 1})
		if err != nil || len(resp.Events) != 0 {
			t.Errorf("a topic that does not exist: %d events, err %v", len(resp.Events), err)
		}
		if d := time.Since(began); d > 300*time.Millisecond {
			t.Errorf("a poll of a topic that does not exist took %v", d)
		}
	})
}

// partitions returns the partition ids of topic.
func partitions(t *testing.T, k *testinfra.KafkaCluster, topic string) []int {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	c, err := sarama.NewClient(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ps, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(ps))
	for i, p := range ps {
		out[i] = int(p)
	}
	return out
}

// trimTopic deletes every record of topic but the newest keep of each
// partition (DeleteRecords, as retention would).
func trimTopic(t *testing.T, k *testinfra.KafkaCluster, topic string, keep int) {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	c, err := sarama.NewClient(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	admin, err := sarama.NewClusterAdminFromClient(c)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := c.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	upTo := map[int32]int64{}
	for _, p := range parts {
		newest, err := c.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		if newest > int64(keep) {
			upTo[p] = newest - int64(keep)
		}
	}
	if len(upTo) > 0 {
		if err := admin.DeleteRecords(topic, upTo); err != nil {
			t.Fatalf("DeleteRecords %s %v: %v", topic, upTo, err)
		}
	}
}

func TestPollGapAndRestart(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	cfg := engineConfig(k, nil)
	b := started(t, cfg)
	want := publishKeyed(t, b, "poll.gap", 40, 2)
	first, err := b.Poll(ctxT(t), "poll.gap", bus.ConsumeRequest{Limit: 10})
	if err != nil || len(first.Events) == 0 {
		t.Fatalf("first page: %d events, err %v", len(first.Events), err)
	}
	got, cur := first.Events, first.Cursor
	if err := b.Stop(ctxT(t)); err != nil {
		t.Fatal(err)
	}

	t.Run("after Stop Poll reports the engine is not started", func(t *testing.T) {
		if _, err := b.Poll(ctxT(t), "poll.gap", bus.ConsumeRequest{Limit: 1}); !errors.Is(err, bus.ErrEventBusNotStarted) {
			t.Errorf("err %v, want ErrEventBusNotStarted", err)
		}
	})

	b2 := started(t, cfg)
	t.Run("a cursor resumes on a new engine", func(t *testing.T) {
		rest, _ := pollAll(t, b2, "poll.gap", cur, bus.ConsumeRequest{Limit: 10}, len(want)-len(got))
		checkOncePerKeyOrder(t, append(got, rest...), want)
	})

	t.Run("a cursor older than the retained records reports a gap and continues at the oldest", func(t *testing.T) {
		trimTopic(t, k, "poll.gap", 5) // 5 records kept per partition, at least 15 deleted from each
		fresh, err := b2.Poll(ctxT(t), "poll.gap", bus.ConsumeRequest{Limit: 100})
		if err != nil || fresh.Gap || len(fresh.Events) == 0 || len(fresh.Events) > 10 {
			t.Fatalf("from the oldest retained: %d events, gap %v, err %v (an empty cursor is no gap)", len(fresh.Events), fresh.Gap, err)
		}
		retained := make([]string, 0, len(fresh.Events))
		for _, e := range fresh.Events {
			retained = append(retained, label(e))
		}
		resp, err := b2.Poll(ctxT(t), "poll.gap", bus.ConsumeRequest{Limit: 100, Cursor: cur})
		if err != nil {
			t.Fatal(err)
		}
		if !resp.Gap {
			t.Error("no gap reported")
		}
		checkOncePerKeyOrder(t, resp.Events, retained)
		again, err := b2.Poll(ctxT(t), "poll.gap", bus.ConsumeRequest{Limit: 100, Cursor: resp.Cursor})
		if err != nil || again.Gap || len(again.Events) != 0 {
			t.Errorf("after the gap: %d events, gap %v, err %v", len(again.Events), again.Gap, err)
		}
	})
}

var _ bus.Poller = (*kafka.EventBus)(nil)

// A poll after a broker restart reconnects by itself: the client's
// connections broke, the poll's retry opens new ones.
func TestPollAcrossBrokerRestart(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{Persistent: true})
	b := started(t, engineConfig(k, nil))
	want := publishKeyed(t, b, "poll.restart", 30, 3)
	first, err := b.Poll(ctxT(t), "poll.restart", bus.ConsumeRequest{Limit: 10})
	if err != nil || len(first.Events) == 0 {
		t.Fatalf("first page: %d events, err %v", len(first.Events), err)
	}
	k.Restart(t)
	var rest []bus.Event
	cur := first.Cursor
	testutil.Eventually(t, 30*time.Second, "the rest after the restart", func() bool {
		resp, err := b.Poll(ctxT(t), "poll.restart", bus.ConsumeRequest{Limit: 10, Cursor: cur})
		if err != nil {
			t.Logf("poll after the restart: %v", err)
			return false
		}
		rest = append(rest, resp.Events...)
		cur = resp.Cursor
		return len(first.Events)+len(rest) >= len(want)
	})
	checkOncePerKeyOrder(t, append(first.Events, rest...), want)
}

// A partition whose next record batch is larger than its share of a
// page's fetch is not starved: the broker returns an oversized batch only
// for the first partition of a request, so the poll asks for it alone.
// Each round uses a new engine (a new poll client, which has not learnt
// the record sizes yet), and the order of partitions in a request varies,
// so a poll that does not ask again misses the large event in about half
// of the rounds.
func TestPollLargeBatch(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{SeedTopics: []string{"poll.large"}, SeedPartitions: 2})
	cfg := engineConfig(k, nil)
	pub := started(t, cfg)
	big := strings.Repeat("x", 100<<10)
	if err := pub.Publish(bus.WithPartitionKey(ctxT(t), "big"), bus.Event{Topic: "poll.large", Payload: big}); err != nil {
		t.Fatal(err)
	}
	publishKeyed(t, pub, "poll.large", 20, 20) // both partitions get small events
	for round := range 6 {
		b := started(t, cfg)
		resp, err := b.Poll(ctxT(t), "poll.large", bus.ConsumeRequest{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range resp.Events {
			found = found || e.Payload == big
		}
		if !found {
			t.Errorf("round %d: the poll returned %d events without the large one", round, len(resp.Events))
		}
		if err := b.Stop(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
}
