package eventbustest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/switchyard-go/eventbus/bus"
)

func checkPublishSubscribe(c *checker) {
	b := c.started()
	topic := c.topic("user.created")
	var rec recorder
	c.subscribe(b, false, topic, rec.handle)

	payload := map[string]any{"id": "42", "name": "Ada"}
	meta := map[string]any{"source": "conformance"}
	if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: payload, Metadata: meta}); err != nil {
		c.t.Fatalf("publish: %v", err)
	}
	c.eventually("one delivery", func() bool { return rec.count() >= 1 })
	got := rec.snapshot()
	if len(got) != 1 {
		c.t.Fatalf("got %d deliveries, want 1", len(got))
	}
	e := got[0]
	if e.Topic != topic {
		c.t.Errorf("topic = %q, want %q", e.Topic, topic)
	}
	if !reflect.DeepEqual(e.Payload, payload) {
		c.t.Errorf("payload = %#v, want %#v", e.Payload, payload)
	}
	if e.Metadata["source"] != "conformance" {
		c.t.Errorf("metadata = %#v, want source=conformance", e.Metadata)
	}
	if e.CreatedAt.IsZero() {
		c.t.Errorf("CreatedAt was not set")
	}
}

func checkWildcards(c *checker) {
	b := c.started()
	var exact, prefix, star recorder
	c.subscribe(b, false, c.topic("order.placed"), exact.handle)
	c.subscribe(b, false, c.topic("order.*"), prefix.handle)
	c.subscribe(b, false, "*", star.handle)

	for _, name := range []string{"order.placed", "order.eu.shipped", "orders.archived"} {
		c.publish(b, c.topic(name), name)
	}
	want := func(names ...string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = c.topic(n)
		}
		slices.Sort(out)
		return out
	}
	c.eventually("star subscription to see all three topics", func() bool { return len(star.topics(c.prefix)) >= 3 })
	c.eventually("prefix subscription to see two topics", func() bool { return len(prefix.topics(c.prefix)) >= 2 })
	c.eventually("exact subscription to see its topic", func() bool { return len(exact.topics(c.prefix)) >= 1 })
	if got, w := star.topics(c.prefix), want("order.placed", "order.eu.shipped", "orders.archived"); !slices.Equal(got, w) {
		c.t.Errorf(`"*" received %v, want %v`, got, w)
	}
	if got, w := prefix.topics(c.prefix), want("order.placed", "order.eu.shipped"); !slices.Equal(got, w) {
		c.t.Errorf(`"order.*" received %v, want %v`, got, w)
	}
	if got, w := exact.topics(c.prefix), want("order.placed"); !slices.Equal(got, w) {
		c.t.Errorf(`exact subscription received %v, want %v`, got, w)
	}
}

func checkSyncOrder(c *checker) {
	b := c.started()
	topic := c.topic("ledger")
	var rec recorder
	c.subscribe(b, false, topic, rec.handle)
	want := seq(200)
	for _, p := range want {
		c.publish(b, topic, p)
	}
	c.eventually("200 deliveries", func() bool { return rec.count() >= len(want) })
	got := rec.payloads()
	missing, dups := missingAndDuplicates(want, got)
	if len(missing) > 0 || len(dups) > 0 || len(got) != len(want) {
		c.t.Fatalf("got %d deliveries; missing %s, duplicated %s", len(got), short(missing), short(dups))
	}
	if c.cfg.Features.UnorderedSync {
		return
	}
	if !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				c.t.Fatalf("out of order at position %d: got %s, want %s", i, got[i], want[i])
			}
		}
	}
}

func checkAsyncDelivery(c *checker) {
	b := c.started()
	topic := c.topic("thumbnails")
	var rec recorder
	s := c.subscribe(b, true, topic, rec.handle)
	if !s.IsAsync() {
		c.t.Errorf("SubscribeAsync returned a subscription with IsAsync() == false")
	}
	want := seq(200)
	for _, p := range want {
		c.publish(b, topic, p)
	}
	c.eventually("200 async deliveries", func() bool { return rec.count() >= len(want) })
	missing, dups := missingAndDuplicates(want, rec.payloads())
	if len(missing) > 0 || len(dups) > 0 {
		c.t.Fatalf("missing %s, duplicated %s", short(missing), short(dups))
	}
}

func checkFanOut(c *checker) {
	b := c.started()
	topic := c.topic("broadcast")
	recs := make([]*recorder, 3)
	for i := range recs {
		recs[i] = &recorder{}
		c.subscribe(b, i == 2, topic, recs[i].handle)
	}
	want := seq(50)
	for _, p := range want {
		c.publish(b, topic, p)
	}
	for i, r := range recs {
		c.eventually(fmt.Sprintf("subscriber %d to get 50 events", i), func() bool { return r.count() >= len(want) })
		if missing, dups := missingAndDuplicates(want, r.payloads()); len(missing)+len(dups) > 0 {
			c.t.Errorf("subscriber %d: missing %s, duplicated %s", i, short(missing), short(dups))
		}
	}
}

func checkHandlerFailures(c *checker) {
	for _, async := range []bool{false, true} {
		b := c.started()
		topic := c.topic(fmt.Sprintf("fragile.async%v", async))
		var rec recorder
		c.subscribe(b, async, topic, func(ctx context.Context, e bus.Event) error {
			switch e.Payload {
			case "panic":
				panic("handler bug")
			case "fail":
				return errors.New("handler failed")
			}
			return rec.handle(ctx, e)
		})
		c.publish(b, topic, "panic")
		c.publish(b, topic, "fail")
		want := seq(5)
		for _, p := range want {
			c.publish(b, topic, p)
		}
		c.eventually(fmt.Sprintf("5 deliveries after a panic and an error (async=%v)", async), func() bool { return rec.count() >= 5 })
		if missing, dups := missingAndDuplicates(want, rec.payloads()); len(missing)+len(dups) > 0 {
			c.t.Errorf("async=%v: missing %s, duplicated %s", async, short(missing), short(dups))
		}
		if sp, ok := b.(bus.EngineStatsProvider); ok {
			c.eventually("failures to be counted", func() bool {
				s := sp.EngineStats()
				return s.Failed >= 2 && s.Panics >= 1
			})
		}
	}
}

func checkConcurrency(c *checker) {
	b := c.started()
	topic := c.topic("busy")
	var stable recorder
	c.subscribe(b, false, topic, stable.handle)

	const publishers, perPublisher = 4, 100
	var wg sync.WaitGroup
	// failed holds the first error as a *failure: atomic.Value panics
	// when values of different concrete types are stored, and engines
	// return errors of several types.
	type failure struct{ err error }
	var failed atomic.Value
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perPublisher; i++ {
				if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: fmt.Sprintf("p%d-%03d", p, i)}); err != nil {
					failed.CompareAndSwap(nil, &failure{fmt.Errorf("publish: %w", err)})
					return
				}
			}
		}()
	}
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				sub, err := b.Subscribe(c.ctx(), topic, func(context.Context, bus.Event) error { return nil })
				if err != nil {
					failed.CompareAndSwap(nil, &failure{fmt.Errorf("subscribe: %w", err)})
					return
				}
				_ = b.SubscriberCount(topic)
				_ = b.Topics()
				if err := b.Unsubscribe(c.ctx(), sub); err != nil {
					failed.CompareAndSwap(nil, &failure{fmt.Errorf("unsubscribe: %w", err)})
					return
				}
			}
		}()
	}
	wg.Wait()
	if f, _ := failed.Load().(*failure); f != nil {
		c.t.Fatalf("concurrent use failed: %v", f.err)
	}
	var want []string
	for p := 0; p < publishers; p++ {
		for i := 0; i < perPublisher; i++ {
			want = append(want, fmt.Sprintf("p%d-%03d", p, i))
		}
	}
	c.eventually("every concurrent publish to arrive", func() bool { return stable.count() >= len(want) })
	if missing, dups := missingAndDuplicates(want, stable.payloads()); len(missing)+len(dups) > 0 {
		c.t.Errorf("missing %s, duplicated %s", short(missing), short(dups))
	}
	if n := b.SubscriberCount(topic); n != 1 {
		c.t.Errorf("SubscriberCount = %d after churn, want 1", n)
	}
}

func checkHandlerContext(c *checker) {
	b := c.started()
	type ctxKey struct{}
	topic := c.topic("tenant")
	type seen struct {
		value any
		err   error
	}
	got := make(chan seen, 4)
	for _, async := range []bool{false, true} {
		c.subscribe(b, async, topic, func(ctx context.Context, e bus.Event) error {
			got <- seen{ctx.Value(ctxKey{}), ctx.Err()}
			return nil
		})
	}
	pubCtx, cancel := context.WithCancel(context.WithValue(c.ctx(), ctxKey{}, "tenant-7"))
	if err := b.Publish(pubCtx, bus.Event{Topic: topic, Payload: "x", Metadata: map[string]any{"tenant": "tenant-7"}}); err != nil {
		c.t.Fatalf("publish: %v", err)
	}
	cancel() // the publisher's cancellation must not reach the handlers
	for i := 0; i < 2; i++ {
		select {
		case s := <-got:
			if s.err != nil {
				c.t.Errorf("handler context was cancelled with the publisher's context: %v", s.err)
			}
			if !c.cfg.Features.ContextValuesViaMetadataOnly && s.value != "tenant-7" {
				c.t.Errorf("handler context value = %v, want the publisher's tenant-7", s.value)
			}
		case <-c.ctx().Done():
			c.t.Fatalf("handler not called")
		}
	}
}

func checkStats(c *checker) {
	b := c.started()
	sp, ok := b.(bus.StatsProvider)
	if !ok {
		c.t.Skipf("engine does not implement Stats()")
		return
	}
	before, _ := sp.Stats()
	topic := c.topic("counted")
	var rec recorder
	c.subscribe(b, false, topic, rec.handle)
	for _, p := range seq(20) {
		c.publish(b, topic, p)
	}
	c.eventually("20 deliveries", func() bool { return rec.count() >= 20 })
	c.eventually("Stats().delivered to grow by 20", func() bool {
		d, _ := sp.Stats()
		return d-before >= 20
	})
	if esp, ok := b.(bus.EngineStatsProvider); ok {
		c.eventually("EngineStats().Published to count 20", func() bool { return esp.EngineStats().Published >= 20 })
	}
}

func withPrefix(list []string, prefix string) []string {
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}
