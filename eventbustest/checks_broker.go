package eventbustest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// Checks of the broker capabilities an engine declares in Features
// (consumer groups, redelivery after a handler error, broker restart,
// consumer crash). An engine that does not declare one skips its check,
// saying so.

// startedInGroup builds and starts an engine of group; it is stopped at
// cleanup.
func (c *checker) startedInGroup(group string) bus.EventBus {
	c.t.Helper()
	if c.cfg.NewInGroup == nil {
		c.t.Fatalf("the engine declares consumer groups but Config.NewInGroup is nil")
	}
	b := c.cfg.NewInGroup(c.tt, group)
	if b == nil {
		c.t.Fatalf("Config.NewInGroup returned nil")
	}
	c.tt.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout())
		defer cancel()
		_ = b.Stop(ctx)
	})
	if err := b.Start(c.ctx()); err != nil {
		c.t.Fatalf("Start: %v", err)
	}
	return b
}

// flush waits for every delivery of b (bus.Flusher), when it can.
func (c *checker) flush(b bus.EventBus) {
	c.t.Helper()
	if f, ok := b.(bus.Flusher); ok {
		if err := f.Flush(c.ctx()); err != nil {
			c.t.Fatalf("Flush: %v", err)
		}
	}
}

func checkConsumerGroups(c *checker) {
	if !c.cfg.Features.ConsumerGroups {
		c.t.Skipf("the engine declares no consumer groups (Features.ConsumerGroups)")
		return
	}
	group := c.prefix + "-split"
	one, two := c.startedInGroup(group), c.startedInGroup(group)
	topic := c.topic("split")
	var r1, r2 recorder
	c.subscribe(one, false, topic, r1.handle)
	c.subscribe(two, true, topic, r2.handle)
	want := seq(200)
	for _, p := range want {
		c.publish(one, topic, p)
	}
	c.eventually("every event handled by a member of the group", func() bool {
		missing, _ := missingAndDuplicates(want, append(r1.payloads(), r2.payloads()...))
		return len(missing) == 0
	})
	c.flush(one)
	c.flush(two)
	if _, dups := missingAndDuplicates(want, append(r1.payloads(), r2.payloads()...)); len(dups) > 0 {
		c.t.Errorf("%d events handled by both members of the group (or twice by one): %s", len(dups), short(dups))
	}
	c.t.Logf("split between the members: %d / %d", r1.count(), r2.count())
}

func checkRedeliveryAfterHandlerError(c *checker) {
	if !c.cfg.Features.RedeliveryAfterHandlerError {
		c.t.Skipf("the engine declares no redelivery after a handler error (Features.RedeliveryAfterHandlerError)")
		return
	}
	b := c.started()
	topic := c.topic("flaky")
	var mu sync.Mutex
	calls := map[string][]bus.Event{}
	h := func(_ context.Context, e bus.Event) error {
		p := fmt.Sprint(e.Payload)
		mu.Lock()
		calls[p] = append(calls[p], e)
		n := len(calls[p])
		mu.Unlock()
		if p == "flaky" && n < 3 {
			return fmt.Errorf("transient failure %d", n)
		}
		return nil
	}
	c.subscribe(b, false, topic, h)
	for _, p := range []string{"before", "flaky", "after"} {
		if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: p, Metadata: map[string]any{"order": "o-7"}}); err != nil {
			c.t.Fatalf("publish: %v", err)
		}
	}
	c.eventually("the failed event delivered until its handler succeeded", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(calls["flaky"]) >= 3 && len(calls["after"]) >= 1
	})
	c.flush(b)
	mu.Lock()
	defer mu.Unlock()
	if n := len(calls["flaky"]); n != 3 {
		c.t.Errorf("the failing event reached its handler %d times, want 3 (two failures, one success)", n)
	}
	for i, e := range calls["flaky"] {
		if e.Topic != topic || e.Metadata["order"] != "o-7" {
			c.t.Errorf("delivery %d of the failed event changed: topic %q metadata %v", i+1, e.Topic, e.Metadata)
		}
	}
	for _, p := range []string{"before", "after"} {
		if n := len(calls[p]); n != 1 {
			c.t.Errorf("event %q reached its handler %d times, want once (it never failed)", p, n)
		}
	}
}

func checkBrokerRestart(c *checker) {
	if !c.cfg.Features.BrokerRestart {
		c.t.Skipf("the engine declares no broker restart support (Features.BrokerRestart)")
		return
	}
	if c.cfg.RestartBroker == nil {
		c.t.Fatalf("the engine declares broker restarts but Config.RestartBroker is nil")
	}
	b := c.started()
	topic := c.topic("outage")
	var rec recorder
	c.subscribe(b, false, topic, rec.handle)
	var want []string
	for i := 0; i < 20; i++ {
		p := fmt.Sprintf("before-%02d", i)
		c.publish(b, topic, p)
		want = append(want, p)
	}
	c.eventually("delivery before the restart", func() bool { return rec.count() >= 20 })
	c.cfg.RestartBroker(c.tt)
	// Publishes may fail while the engine reconnects: an event counts once
	// Publish accepted it.
	deadline := time.Now().Add(c.timeout())
	for i := 0; i < 20; i++ {
		p := fmt.Sprintf("after-%02d", i)
		for {
			ctx, cancel := context.WithTimeout(c.ctx(), time.Second)
			err := b.Publish(ctx, bus.Event{Topic: topic, Payload: p})
			cancel()
			if err == nil {
				want = append(want, p)
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("publish after the broker restart still fails after %v: %v", c.timeout(), err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c.eventually("every accepted event delivered after the restart", func() bool {
		missing, _ := missingAndDuplicates(want, rec.payloads())
		return len(missing) == 0
	})
	// A lost acknowledgement may redeliver an event around the restart
	// (at-least-once): completeness is what is checked. The subscription
	// keeps working for new events too.
	c.publish(b, topic, "last")
	c.eventually("an event published once the engine recovered", func() bool {
		return slices.Contains(rec.payloads(), "last")
	})
}

func checkConsumerCrash(c *checker) {
	if !c.cfg.Features.ConsumerCrash {
		c.t.Skipf("the engine declares no consumer crash support (Features.ConsumerCrash)")
		return
	}
	if c.cfg.CrashConsumer == nil {
		c.t.Fatalf("the engine declares consumer crashes but Config.CrashConsumer is nil")
	}
	group := c.prefix + "-crash"
	topic := c.topic("crash")
	received, kill := c.cfg.CrashConsumer(c.tt, group, topic)
	pub := c.startedInGroup(group) // publishes only: it reads nothing
	want := seq(20)
	for _, p := range want {
		c.publish(pub, topic, p)
	}
	c.eventually("the doomed consumer to hold events", func() bool { return received() >= 1 })
	kill()
	survivor := c.startedInGroup(group)
	var rec recorder
	c.subscribe(survivor, true, topic, rec.handle)
	c.eventually("every event on the surviving consumer", func() bool {
		missing, _ := missingAndDuplicates(want, rec.payloads())
		return len(missing) == 0
	})
	c.flush(survivor)
	if _, dups := missingAndDuplicates(want, rec.payloads()); len(dups) > 0 {
		c.t.Errorf("%d events handled twice by the survivor: %s", len(dups), short(dups))
	}
}
