package eventbustest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Checks of cursored consumption (bus.Poller), declared by Features.Poll,
// Features.PollRestart and Features.PollGap, and of subscription filters
// (bus.FilteredHandler), which every engine must honour.
//
// A poll never waits for events, and broker engines make a published event
// visible to Poll a little later than Publish returns: the checks poll in
// a loop until what they expect is there or the delivery timeout passes,
// then keep polling until a page comes back empty, so that duplicates and
// extra events are seen too.

// pollKeys is how many partition keys the paging check spreads its events
// over.
const pollKeys = 10

// poller returns b as a bus.Poller, failing the check when the engine
// declares Features.Poll without implementing it.
func (c *checker) poller(b bus.EventBus) bus.Poller {
	c.t.Helper()
	p, ok := b.(bus.Poller)
	if !ok {
		c.t.Fatalf("the engine declares Features.Poll but %T does not implement bus.Poller", b)
	}
	return p
}

// skipUnlessPoll skips a poll check on an engine that does not declare
// Features.Poll.
func (c *checker) skipUnlessPoll() {
	c.t.Helper()
	if !c.cfg.Features.Poll {
		c.t.Skipf("the engine declares no cursored consumption (Features.Poll)")
	}
}

// pollOnce polls once and fails the check on an error or an oversized
// page.
func (c *checker) pollOnce(p bus.Poller, topic string, req bus.ConsumeRequest) bus.ConsumeResponse {
	c.t.Helper()
	resp, err := p.Poll(c.ctx(), topic, req)
	if err != nil {
		c.t.Fatalf("Poll(%q, cursor %q, shards %v): %v", topic, req.Cursor, req.Shards, err)
	}
	if len(resp.Events) > req.Limit {
		c.t.Fatalf("Poll returned %d events, more than Limit %d", len(resp.Events), req.Limit)
	}
	if resp.Cursor == "" && len(resp.Events) > 0 {
		c.t.Fatalf("Poll returned %d events and an empty cursor", len(resp.Events))
	}
	for _, e := range resp.Events {
		if e.Topic != topic && !strings.ContainsAny(topic, "*") {
			c.t.Fatalf("Poll(%q) returned an event of topic %q", topic, e.Topic)
		}
	}
	return resp
}

// pollUntil polls from req.Cursor, page after page, until done holds for
// what was read so far, then goes on until a page comes back empty. It
// returns every event read, in the order read, and the last cursor.
func (c *checker) pollUntil(p bus.Poller, topic string, req bus.ConsumeRequest, what string, done func([]bus.Event) bool) ([]bus.Event, string) {
	c.t.Helper()
	var got []bus.Event
	deadline := time.Now().Add(c.timeout())
	for !done(got) {
		resp := c.pollOnce(p, topic, req)
		got = append(got, resp.Events...)
		if resp.Cursor != "" {
			req.Cursor = resp.Cursor
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v polling for %s: read %d events (%s)", c.timeout(), what, len(got), short(eventPayloads(got)))
		}
		if len(resp.Events) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
	}
	for {
		resp := c.pollOnce(p, topic, req)
		if resp.Cursor != "" {
			req.Cursor = resp.Cursor
		}
		if len(resp.Events) == 0 {
			return got, req.Cursor
		}
		got = append(got, resp.Events...)
		if time.Now().After(deadline.Add(c.timeout())) {
			c.t.Fatalf("polling for %s never reached an empty page: read %d events", what, len(got))
		}
	}
}

// readAtLeast is a done condition for pollUntil: n events read.
func readAtLeast(n int) func([]bus.Event) bool {
	return func(evs []bus.Event) bool { return len(evs) >= n }
}

// readAll is a done condition for pollUntil: every payload of want read.
func readAll(want []string) func([]bus.Event) bool {
	return func(evs []bus.Event) bool {
		missing, _ := missingAndDuplicates(want, eventPayloads(evs))
		return len(missing) == 0
	}
}

func eventPayloads(evs []bus.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		if m, ok := e.Payload.(map[string]any); ok {
			out[i] = fmt.Sprint(m["id"])
			continue
		}
		out[i] = fmt.Sprint(e.Payload)
	}
	return out
}

// keyedPayloads publishes n events on topic spread over pollKeys partition
// keys (bus.WithPartitionKey); payload "k3/0042" is the 42nd event, of
// key k3.
func (c *checker) publishKeyed(b bus.EventBus, topic string, n int) []string {
	c.t.Helper()
	want := make([]string, n)
	for i := range want {
		key := fmt.Sprintf("k%d", i%pollKeys)
		want[i] = fmt.Sprintf("%s/%04d", key, i)
		if err := b.Publish(bus.WithPartitionKey(c.ctx(), key), bus.Event{Topic: topic, Payload: want[i]}); err != nil {
			c.t.Fatalf("publish %d: %v", i, err)
		}
	}
	return want
}

// checkExactlyOnceInKeyOrder reports events of want missing from got or
// read twice, extras, and keys whose events are out of publish order.
func (c *checker) checkExactlyOnceInKeyOrder(want []string, got []bus.Event) {
	c.t.Helper()
	payloads := eventPayloads(got)
	missing, dups := missingAndDuplicates(want, payloads)
	if len(missing)+len(dups) > 0 {
		c.t.Errorf("read %d events, want %d: missing %s, read twice %s", len(payloads), len(want), short(missing), short(dups))
	}
	if extra := without(payloads, want); len(extra) > 0 {
		c.t.Errorf("read events that were not published: %s", short(extra))
	}
	last := map[string]string{}
	for _, p := range payloads {
		key, _, _ := strings.Cut(p, "/")
		if prev, ok := last[key]; ok && p <= prev {
			c.t.Errorf("key %s out of publish order: %s read after %s", key, p, prev)
			return
		}
		last[key] = p
	}
}

// without returns the elements of list that are not in set.
func without(list, set []string) []string {
	in := map[string]bool{}
	for _, s := range set {
		in[s] = true
	}
	var out []string
	for _, s := range list {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}

func checkPollPaging(c *checker) {
	c.skipUnlessPoll()
	b := c.started()
	p := c.poller(b)
	topic := c.topic("paged")
	want := c.publishKeyed(b, topic, 1000)
	got, _ := c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 37}, "1,000 events in pages of 37", readAll(want))
	c.checkExactlyOnceInKeyOrder(want, got)
}

func checkPollRestart(c *checker) {
	c.skipUnlessPoll()
	if !c.cfg.Features.PollRestart {
		c.t.Skipf("the engine declares no cursor resumption across engines (Features.PollRestart)")
	}
	first := c.started()
	topic := c.topic("resumed")
	want := c.publishKeyed(first, topic, 60)
	var before []bus.Event
	cursor := ""
	c.eventually("the first 20 events to be polled", func() bool {
		resp := c.pollOnce(c.poller(first), topic, bus.ConsumeRequest{Limit: 20 - len(before), Cursor: cursor})
		before = append(before, resp.Events...)
		if resp.Cursor != "" {
			cursor = resp.Cursor
		}
		return len(before) >= 20
	})
	if err := first.Stop(c.ctx()); err != nil {
		c.t.Fatalf("Stop: %v", err)
	}
	second := c.started()
	rest := without(want, eventPayloads(before))
	after, _ := c.pollUntil(c.poller(second), topic, bus.ConsumeRequest{Limit: 16, Cursor: cursor}, "the other 40 events on a new engine", readAll(rest))
	if dup := without(eventPayloads(after), rest); len(dup) > 0 {
		c.t.Errorf("the resumed cursor read %d events again that were read before the restart (or never published): %s", len(dup), short(dup))
	}
	c.checkExactlyOnceInKeyOrder(want, append(before, after...))
}

func checkPollLatest(c *checker) {
	c.skipUnlessPoll()
	b := c.started()
	p := c.poller(b)
	topic := c.topic("latest")
	old := []string{"old-0", "old-1", "old-2", "old-3", "old-4"}
	for _, s := range old {
		c.publish(b, topic, s)
	}
	c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 10}, "the events published before", readAll(old))
	resp := c.pollOnce(p, topic, bus.ConsumeRequest{Limit: 10, Cursor: bus.CursorLatest})
	if len(resp.Events) > 0 {
		c.t.Errorf("the first poll with CursorLatest returned %v, want no events", eventPayloads(resp.Events))
	}
	if resp.Cursor == "" {
		c.t.Fatalf("the first poll with CursorLatest returned an empty cursor")
	}
	fresh := []string{"new-0", "new-1", "new-2", "new-3", "new-4"}
	for _, s := range fresh {
		c.publish(b, topic, s)
	}
	got, _ := c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 10, Cursor: resp.Cursor}, "the events published after", readAll(fresh))
	if payloads := eventPayloads(got); !slices.Equal(payloads, fresh) {
		c.t.Errorf("after CursorLatest read %v, want only the later events %v", payloads, fresh)
	}
}

// filterCase is a filter in its JSON form and which of the 20 events of
// checkPollFilters it must select, decided without the filter.
type filterCase struct {
	json    string
	selects func(i int) bool
}

var filterCases = []filterCase{
	{`{"customer.tier": "gold"}`, func(i int) bool { return i%3 == 0 }},
	{`{"$not": {"customer.tier": "gold"}}`, func(i int) bool { return i%3 != 0 }},
	{`{"$and": [{"customer.address.country": "FR"}, {"tags.1": "t2"}]}`, func(i int) bool { return i%4 == 0 && i%5 == 2 }},
	{`{"$or": [{"n": 3}, {"n": 4.0}, {"tags.1": "t2"}]}`, func(i int) bool { return i == 3 || i == 4 || i%5 == 2 }},
	{`{"$and": [{"$not": {"active": true}}, {"$or": [{"customer.address": {"country": "DE"}}, {"tags": ["old", "t1"]}]}]}`,
		func(i int) bool { return i%2 == 1 && (i%4 == 1 || i%5 == 1) }},
	{`{"$or": [{"customer.nickname": null}, {"tags.7": "t0"}, {"n": 19}]}`, func(i int) bool { return i == 19 }},
}

// filterPayload is event i of checkPollFilters: nested objects, an array
// and numbers, as a map so that it reads the same on every engine.
func filterPayload(i int) map[string]any {
	return map[string]any{
		"id":     fmt.Sprintf("f%02d", i),
		"n":      i,
		"active": i%2 == 0,
		"customer": map[string]any{
			"tier":    []string{"gold", "silver", "bronze"}[i%3],
			"address": map[string]any{"country": []string{"FR", "DE", "US", "JP"}[i%4]},
		},
		"tags": []any{[]string{"new", "old"}[i%2], fmt.Sprintf("t%d", i%5)},
	}
}

func checkPollFilters(c *checker) {
	c.skipUnlessPoll()
	b := c.started()
	p := c.poller(b)
	topic := c.topic("filtered")
	const n = 20
	all := make([]string, n)
	for i := range all {
		all[i] = fmt.Sprintf("f%02d", i)
		if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: filterPayload(i)}); err != nil {
			c.t.Fatalf("publish: %v", err)
		}
	}
	c.pollUntil(p, topic, bus.ConsumeRequest{Limit: n}, "every event unfiltered", readAll(all))
	for _, fc := range filterCases {
		f, err := bus.ParseFilter([]byte(fc.json))
		if err != nil {
			c.t.Fatalf("ParseFilter(%s): %v", fc.json, err)
		}
		var want []string
		for i := range n {
			if fc.selects(i) {
				want = append(want, all[i])
			}
		}
		got, _ := c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 3, Filter: &f}, "the events "+fc.json+" selects", readAll(want))
		payloads := eventPayloads(got)
		if !slices.Equal(payloads, want) {
			c.t.Errorf("filter %s selected %v, want %v", fc.json, payloads, want)
		}
	}
}

func checkPollShards(c *checker) {
	c.skipUnlessPoll()
	if c.cfg.PollShards == nil {
		c.t.Skipf("Config.PollShards is nil: the engine names no shards to poll")
	}
	b := c.started()
	p := c.poller(b)
	topic := c.topic("sharded")
	want := c.publishKeyed(b, topic, 200)
	c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 64}, "every event of every shard", readAll(want))
	ids := c.cfg.PollShards(c.tt, b, topic)
	if len(ids) == 0 {
		c.t.Fatalf("Config.PollShards returned no shard ids")
	}
	var union []bus.Event
	for _, id := range ids {
		got, _ := c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 25, Shards: []int{id}}, fmt.Sprintf("shard %d", id), readAtLeast(0))
		union = append(union, got...)
		if len(got) == len(want) && len(ids) > 1 {
			c.t.Errorf("a poll of shard %d alone read every event of the topic's %d shards", id, len(ids))
		}
	}
	c.checkExactlyOnceInKeyOrder(want, union)
	unknown := slices.Max(ids) + 1000
	_, err := p.Poll(c.ctx(), topic, bus.ConsumeRequest{Limit: 1, Shards: []int{unknown}})
	if !errors.Is(err, bus.ErrInvalidConsumeRequest) {
		c.t.Errorf("Poll of shard %d, which does not exist: err = %v, want one wrapping bus.ErrInvalidConsumeRequest", unknown, err)
	}
}

func checkPollGap(c *checker) {
	c.skipUnlessPoll()
	if !c.cfg.Features.PollGap {
		c.t.Skipf("the engine declares no gap reporting (Features.PollGap)")
	}
	if c.cfg.TrimTopic == nil {
		c.t.Fatalf("the engine declares Features.PollGap but Config.TrimTopic is nil")
	}
	b := c.started()
	p := c.poller(b)
	topic := c.topic("trimmed")
	ctx := bus.WithPartitionKey(c.ctx(), "one-key") // one shard or partition
	var want []string
	for i := range 30 {
		want = append(want, fmt.Sprintf("g%02d", i))
		if err := b.Publish(ctx, bus.Event{Topic: topic, Payload: want[i]}); err != nil {
			c.t.Fatalf("publish: %v", err)
		}
	}
	c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 30}, "the 30 events", readAll(want))
	var head []bus.Event
	cursor := ""
	c.eventually("the first events to be polled", func() bool {
		resp := c.pollOnce(p, topic, bus.ConsumeRequest{Limit: 5, Cursor: cursor})
		head = append(head, resp.Events...)
		if resp.Cursor != "" {
			cursor = resp.Cursor
		}
		return len(head) > 0
	})
	c.cfg.TrimTopic(c.tt, b, topic, 10)
	resp := c.pollOnce(p, topic, bus.ConsumeRequest{Limit: 4, Cursor: cursor})
	if !resp.Gap {
		c.t.Errorf("a cursor at %s after trimming all but the newest 10 events: Gap = false, want true", eventPayloads(head)[len(head)-1])
	}
	if resp.Cursor == "" {
		c.t.Fatalf("the poll that reported the gap returned an empty cursor")
	}
	rest, _ := c.pollUntil(p, topic, bus.ConsumeRequest{Limit: 4, Cursor: resp.Cursor}, "the retained events after the gap", readAtLeast(10-len(resp.Events)))
	got := eventPayloads(append(resp.Events, rest...))
	if !slices.Equal(got, want[20:]) {
		c.t.Errorf("after the gap read %v, want the 10 retained events %v", got, want[20:])
	}
}

func checkPollBadRequests(c *checker) {
	c.skipUnlessPoll()
	b := c.started()
	p := c.poller(b)
	topic := c.topic("refused")
	c.publish(b, topic, "x")
	for _, cursor := range []string{"not a cursor", "%%%", "{\"v\":999}", "\x00\xff"} {
		_, err := p.Poll(c.ctx(), topic, bus.ConsumeRequest{Limit: 1, Cursor: cursor})
		if !errors.Is(err, bus.ErrInvalidCursor) {
			c.t.Errorf("Poll with cursor %q: err = %v, want one wrapping bus.ErrInvalidCursor", cursor, err)
		}
	}
	for _, limit := range []int{0, -1} {
		_, err := p.Poll(c.ctx(), topic, bus.ConsumeRequest{Limit: limit})
		if !errors.Is(err, bus.ErrInvalidConsumeRequest) {
			c.t.Errorf("Poll with Limit %d: err = %v, want one wrapping bus.ErrInvalidConsumeRequest", limit, err)
		}
	}
}

func checkPollUnsupported(c *checker) {
	if c.cfg.Features.Poll {
		c.t.Skipf("the engine declares cursored consumption (Features.Poll): the poll checks cover it")
	}
	b := c.started()
	p, ok := b.(bus.Poller)
	if !ok {
		c.t.Skipf("%T does not implement bus.Poller", b)
	}
	_, err := p.Poll(c.ctx(), c.topic("unpolled"), bus.ConsumeRequest{Limit: 1})
	if !errors.Is(err, bus.ErrPollUnsupported) {
		c.t.Errorf("Poll on an engine that declares no Features.Poll: err = %v, want one wrapping bus.ErrPollUnsupported", err)
	}
}

// failureCounter is an observer that counts MessageFailed calls.
type failureCounter struct {
	mu     sync.Mutex
	failed []error
}

func (f *failureCounter) TopicCreated(string) {}
func (f *failureCounter) TopicDeleted(string) {}
func (f *failureCounter) MessageFailed(_ context.Context, _ bus.Event, _ string, err error) {
	f.mu.Lock()
	f.failed = append(f.failed, err)
	f.mu.Unlock()
}

func checkFilteredHandler(c *checker) {
	b := c.newBus()
	var obs failureCounter
	if o, ok := b.(bus.Observable); ok {
		o.SetObserver(&obs)
	}
	if err := b.Start(c.ctx()); err != nil {
		c.t.Fatalf("Start: %v", err)
	}
	var before bus.EngineStats
	esp, hasStats := b.(bus.EngineStatsProvider)
	if hasStats {
		before = esp.EngineStats()
	}
	topic := c.topic("screened")
	keep := bus.Eq("kind", "keep")
	var syncRec, asyncRec recorder
	c.subscribe(b, false, topic, bus.FilteredHandler(keep, syncRec.handle))
	c.subscribe(b, true, topic, bus.FilteredHandler(keep, asyncRec.handle))
	var want []string
	for i := range 20 {
		kind := []string{"keep", "skip"}[i%2]
		id := fmt.Sprintf("%s-%02d", kind, i)
		if kind == "keep" {
			want = append(want, id)
		}
		if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: map[string]any{"id": id, "kind": kind}}); err != nil {
			c.t.Fatalf("publish: %v", err)
		}
	}
	for name, r := range map[string]*recorder{"sync": &syncRec, "async": &asyncRec} {
		c.eventually(name+" subscription to receive the 10 matching events", func() bool { return r.count() >= len(want) })
	}
	c.flush(b)
	if !hasStats {
		c.t.Logf("%T does not report EngineStats: only delivery was checked", b)
	} else {
		c.eventually("EngineStats.Filtered to count the 20 rejected calls (10 per subscription)", func() bool {
			return esp.EngineStats().Filtered-before.Filtered >= 20
		})
		c.eventually("EngineStats.Delivered to count the 20 matching calls", func() bool {
			return esp.EngineStats().Delivered-before.Delivered >= 20
		})
		after := esp.EngineStats()
		if d := after.Filtered - before.Filtered; d != 20 {
			c.t.Errorf("EngineStats.Filtered grew by %d, want 20 (10 rejected events × 2 subscriptions, never retried)", d)
		}
		if d := after.Delivered - before.Delivered; d != 20 {
			c.t.Errorf("EngineStats.Delivered grew by %d, want 20: filtered events are not deliveries", d)
		}
		if d := after.Failed - before.Failed; d != 0 {
			c.t.Errorf("EngineStats.Failed grew by %d, want 0: filtered events are not failures", d)
		}
		if d := after.DeadLettered - before.DeadLettered; d != 0 {
			c.t.Errorf("EngineStats.DeadLettered grew by %d, want 0: filtered events are not dead-lettered", d)
		}
	}
	obs.mu.Lock()
	if len(obs.failed) > 0 {
		c.t.Errorf("the observer heard %d failures, want none: filtered events are not failures (first: %v)", len(obs.failed), obs.failed[0])
	}
	obs.mu.Unlock()
	for name, r := range map[string]*recorder{"sync": &syncRec, "async": &asyncRec} {
		got := eventPayloads(r.snapshot())
		missing, dups := missingAndDuplicates(want, got)
		if extra := without(got, want); len(missing)+len(dups)+len(extra) > 0 {
			c.t.Errorf("%s subscription: missing %s, received twice %s, received despite the filter %s", name, short(missing), short(dups), short(extra))
		}
	}
}
