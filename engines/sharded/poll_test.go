package sharded

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// pollAll polls topic from cursor in pages of limit until a page comes
// back empty; it returns the events, whether any page reported a gap,
// and the last cursor.
func pollAll(t *testing.T, b *EventBus, topic, cursor string, limit int) ([]bus.Event, bool, string) {
	t.Helper()
	var out []bus.Event
	gap := false
	for {
		resp, err := b.Poll(testCtx(t), topic, bus.ConsumeRequest{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		gap = gap || resp.Gap
		cursor = resp.Cursor
		if len(resp.Events) == 0 {
			return out, gap, cursor
		}
		out = append(out, resp.Events...)
	}
}

func publishKeyed(t *testing.T, b *EventBus, topic string, from, n, keys int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := b.Publish(testCtx(t), keyedEvent(topic, fmt.Sprintf("k%d", i%keys), i)); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
	if err := b.Flush(testCtx(t)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

// checkKeyed fails unless evs hold exactly the keyed events from..to-1,
// each once, and each key's in publish order.
func checkKeyed(t *testing.T, evs []bus.Event, from, to int) {
	t.Helper()
	seen := map[int]bool{}
	last := map[string]int{}
	for _, e := range evs {
		p := e.Payload.(keyed)
		if seen[p.seq] {
			t.Errorf("event %d read twice", p.seq)
		}
		seen[p.seq] = true
		if prev, ok := last[p.key]; ok && p.seq < prev {
			t.Errorf("key %s: event %d read after %d", p.key, p.seq, prev)
		}
		last[p.key] = p.seq
	}
	for i := from; i < to; i++ {
		if !seen[i] {
			t.Errorf("event %d not read", i)
		}
	}
	if len(seen) != to-from {
		t.Errorf("read %d distinct events, want %d", len(seen), to-from)
	}
}

func TestPollWithoutRetainEventsIsUnsupported(t *testing.T) {
	b := start(t, Config{})
	_, err := b.Poll(testCtx(t), "orders", bus.ConsumeRequest{Limit: 1})
	if !errors.Is(err, bus.ErrPollUnsupported) {
		t.Fatalf("Poll = %v, want ErrPollUnsupported", err)
	}
}

func TestPollReportsAGapWhenTheLogOverflowedPastTheCursor(t *testing.T) {
	b := start(t, Config{Shards: 1, RetainEvents: 16})
	publishKeyed(t, b, "audit", 0, 10, 1)
	resp, err := b.Poll(testCtx(t), "audit", bus.ConsumeRequest{Limit: 5})
	if err != nil || len(resp.Events) != 5 || resp.Gap {
		t.Fatalf("first page: %d events, gap %v, err %v", len(resp.Events), resp.Gap, err)
	}
	publishKeyed(t, b, "audit", 10, 30, 1) // 40 published, the newest 16 retained
	evs, gap, _ := pollAll(t, b, "audit", resp.Cursor, 7)
	if !gap {
		t.Errorf("a cursor at event 5 with events 0..23 overwritten: no gap reported")
	}
	checkKeyed(t, evs, 24, 40)
	// From the oldest retained event, nothing is missed: no gap.
	evs, gap, _ = pollAll(t, b, "audit", "", 100)
	if gap {
		t.Errorf("a poll from the oldest retained event reported a gap")
	}
	checkKeyed(t, evs, 24, 40)
}

func TestPollCursorsStayValidAcrossResizesAndRestarts(t *testing.T) {
	b := start(t, Config{Shards: 2, RetainEvents: 1000})
	publishKeyed(t, b, "orders", 0, 100, 10)
	resp, err := b.Poll(testCtx(t), "orders", bus.ConsumeRequest{Limit: 30})
	if err != nil {
		t.Fatal(err)
	}
	first, early := resp.Events, resp.Cursor
	if err := b.Resize(testCtx(t), 3); err != nil {
		t.Fatal(err)
	}
	publishKeyed(t, b, "orders", 100, 100, 10)
	rest, gap, cursor := pollAll(t, b, "orders", early, 16)
	if gap {
		t.Errorf("gap reported across one resize")
	}
	checkKeyed(t, append(first, rest...), 0, 200)

	// Stop and Start retire the logs as a resize does: the cursor reads on.
	if err := b.Stop(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := b.Start(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	publishKeyed(t, b, "orders", 200, 50, 10)
	more, gap, cursor := pollAll(t, b, "orders", cursor, 16)
	if gap {
		t.Errorf("gap reported across a restart")
	}
	checkKeyed(t, more, 200, 250)

	// Two more resizes drop the logs the cursors were positioned in.
	for _, n := range []int{1, 2} {
		if err := b.Resize(testCtx(t), n); err != nil {
			t.Fatal(err)
		}
	}
	if evs, gap, _ := pollAll(t, b, "orders", cursor, 16); gap || len(evs) != 0 {
		t.Errorf("a cursor that had read the dropped logs to their end: gap %v, %d events; want no gap, none", gap, len(evs))
	}
	if _, gap, _ := pollAll(t, b, "orders", early, 16); !gap {
		t.Errorf("a cursor with unread events in dropped logs reported no gap")
	}
}

func TestPollCursorLatestSkipsEventsStillQueuedInTheRing(t *testing.T) {
	b := start(t, Config{Shards: 1, RetainEvents: 100})
	g := newGate()
	if _, err := b.Subscribe(testCtx(t), "jobs", g.handler(nil)); err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	if err := b.Publish(ctx, keyedEvent("jobs", "k", 0)); err != nil {
		t.Fatal(err)
	}
	<-g.entered // the worker holds event 0; events 1..4 wait in the ring
	for i := 1; i < 5; i++ {
		if err := b.Publish(ctx, keyedEvent("jobs", "k", i)); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := b.Poll(ctx, "jobs", bus.ConsumeRequest{Limit: 10, Cursor: bus.CursorLatest})
	if err != nil || len(resp.Events) != 0 {
		t.Fatalf("Poll(CursorLatest) = %d events, %v; want none", len(resp.Events), err)
	}
	g.release()
	publishKeyed(t, b, "jobs", 5, 5, 1)
	evs, _, _ := pollAll(t, b, "jobs", resp.Cursor, 3)
	checkKeyed(t, evs, 5, 10)
}

func TestPollRefusesCursorsOfAnotherEngineOrPattern(t *testing.T) {
	one := start(t, Config{RetainEvents: 10})
	two := start(t, Config{RetainEvents: 10})
	publishKeyed(t, one, "a.x", 0, 3, 1)
	resp, err := one.Poll(testCtx(t), "a.*", bus.ConsumeRequest{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := one.Poll(testCtx(t), "a.*", bus.ConsumeRequest{Limit: 2, Cursor: resp.Cursor}); err != nil {
		t.Fatalf("the cursor on its own engine and pattern: %v", err)
	}
	for name, poll := range map[string]func() error{
		"another engine value": func() error {
			_, err := two.Poll(testCtx(t), "a.*", bus.ConsumeRequest{Limit: 2, Cursor: resp.Cursor})
			return err
		},
		"another pattern": func() error {
			_, err := one.Poll(testCtx(t), "a.x", bus.ConsumeRequest{Limit: 2, Cursor: resp.Cursor})
			return err
		},
		"a truncated cursor": func() error {
			_, err := one.Poll(testCtx(t), "a.*", bus.ConsumeRequest{Limit: 2, Cursor: resp.Cursor[:len(resp.Cursor)-2]})
			return err
		},
	} {
		if err := poll(); !errors.Is(err, bus.ErrInvalidCursor) {
			t.Errorf("%s: err = %v, want ErrInvalidCursor", name, err)
		}
	}
}

func TestPollMergesShardsByCreatedAtAndMatchesPatterns(t *testing.T) {
	b := start(t, Config{Shards: 4, RetainEvents: 1000})
	t0 := time.Now()
	var want []string
	for i := range 200 {
		topic := []string{"shop.orders", "shop.refunds", "audit"}[i%3]
		p := fmt.Sprintf("%s-%03d", topic, i)
		if topic != "audit" {
			want = append(want, p)
		}
		e := bus.Event{Topic: topic, Payload: p, CreatedAt: t0.Add(time.Duration(i) * time.Microsecond), Metadata: map[string]any{bus.MetadataKeyPartition: fmt.Sprint(i % 7)}}
		if err := b.Publish(testCtx(t), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	evs, _, _ := pollAll(t, b, "shop.*", "", 25)
	got := make([]string, len(evs))
	for i, e := range evs {
		got[i] = e.Payload.(string)
	}
	if !slices.Equal(got, want) {
		t.Errorf("merged poll of shop.*:\n got %v\nwant %v", got, want)
	}
}

// Polling while publishers overrun a small log: no race, every page in
// per-key order across pages, gaps reported instead of repeats.
func TestPollWhilePublishersOverrunTheLog(t *testing.T) {
	b := start(t, Config{Shards: 2, RetainEvents: 64, BatchMaxEvents: 8})
	ctx := testCtx(t)
	done := make(chan struct{})
	errs := make(chan error, 2)
	for p := range 2 {
		go func() {
			for i := range 5000 {
				if err := b.Publish(ctx, keyedEvent("load", fmt.Sprintf("p%d-k%d", p, i%3), i)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("publish: %v", err)
			}
		}
		close(done)
	}()
	last := map[string]int{}
	cursor, gaps, read := "", 0, 0
	for finished := false; !finished; {
		select {
		case <-done:
			finished = true
		default:
		}
		resp, err := b.Poll(ctx, "load", bus.ConsumeRequest{Limit: 16, Cursor: cursor})
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if resp.Gap {
			gaps++
		}
		for _, e := range resp.Events {
			p := e.Payload.(keyed)
			if prev, ok := last[p.key]; ok && p.seq <= prev {
				t.Fatalf("key %s: event %d read after %d", p.key, p.seq, prev)
			}
			last[p.key] = p.seq
			read++
		}
		cursor = resp.Cursor
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rest, gap, _ := pollAll(t, b, "load", cursor, 16)
	if gap {
		gaps++
	}
	for _, e := range rest {
		p := e.Payload.(keyed)
		if prev, ok := last[p.key]; ok && p.seq <= prev {
			t.Fatalf("key %s: event %d read after %d", p.key, p.seq, prev)
		}
		last[p.key] = p.seq
		read++
	}
	t.Logf("read %d of 10000 events, %d polls reported a gap", read, gaps)
	if read < 10000 && gaps == 0 {
		t.Errorf("read %d of 10000 events and no poll reported a gap: events were lost silently", read)
	}
	if read > 10000 {
		t.Errorf("read %d events, more than the 10000 published", read)
	}
}
