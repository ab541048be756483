package eventbustest

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// T is the part of testing.TB the checks use. *testing.T satisfies it;
// the suite's own tests pass a recorder to prove a check can fail.
type T interface {
	Helper()
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Logf(format string, args ...any)
	Skipf(format string, args ...any)
}

// checker holds what one check needs: where to report (t), the real test
// (for engine construction and cleanup) and the engine's declared
// features.
type checker struct {
	t      T
	tt     *testing.T
	cfg    Config
	prefix string
}

func newChecker(t T, tt *testing.T, cfg Config) *checker {
	return &checker{t: t, tt: tt, cfg: cfg, prefix: "ct" + enginekit.NewID()[:10]}
}

func (c *checker) timeout() time.Duration { return c.cfg.Features.timeout() }

// ctx returns a context bounded by the delivery timeout, cancelled at the
// end of the test.
func (c *checker) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout())
	c.tt.Cleanup(cancel)
	return ctx
}

// topic returns a topic name unique to this check.
func (c *checker) topic(name string) string { return c.prefix + "." + name }

// newBus builds an engine without starting it; it is stopped at cleanup.
func (c *checker) newBus() bus.EventBus {
	c.t.Helper()
	b := c.cfg.New(c.tt)
	if b == nil {
		c.t.Fatalf("Config.New returned nil")
	}
	c.tt.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.timeout())
		defer cancel()
		_ = b.Stop(ctx)
	})
	return b
}

// started builds and starts an engine.
func (c *checker) started() bus.EventBus {
	c.t.Helper()
	b := c.newBus()
	if err := b.Start(c.ctx()); err != nil {
		c.t.Fatalf("Start: %v", err)
	}
	return b
}

func (c *checker) subscribe(b bus.EventBus, async bool, topic string, h bus.EventHandler) bus.Subscription {
	c.t.Helper()
	var (
		s   bus.Subscription
		err error
	)
	if async {
		s, err = b.SubscribeAsync(c.ctx(), topic, h)
	} else {
		s, err = b.Subscribe(c.ctx(), topic, h)
	}
	if err != nil {
		c.t.Fatalf("subscribe %q (async=%v): %v", topic, async, err)
	}
	if s == nil {
		c.t.Fatalf("subscribe %q returned a nil subscription", topic)
	}
	return s
}

func (c *checker) publish(b bus.EventBus, topic string, payload any) {
	c.t.Helper()
	if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: payload}); err != nil {
		c.t.Fatalf("publish %q: %v", topic, err)
	}
}

// eventually polls cond until it holds or the delivery timeout passes.
func (c *checker) eventually(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(c.timeout())
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out after %v waiting for %s", c.timeout(), what)
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recorder is a handler that records what it receives.
type recorder struct {
	mu     sync.Mutex
	events []bus.Event
}

func (r *recorder) handle(_ context.Context, e bus.Event) error {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

func (r *recorder) snapshot() []bus.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Event(nil), r.events...)
}

// payloads returns the received payloads formatted with %v.
func (r *recorder) payloads() []string {
	evs := r.snapshot()
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = fmt.Sprint(e.Payload)
	}
	return out
}

// topics returns the received topics that start with prefix.
func (r *recorder) topics(prefix string) []string {
	var out []string
	for _, e := range r.snapshot() {
		if strings.HasPrefix(e.Topic, prefix) {
			out = append(out, e.Topic)
		}
	}
	sort.Strings(out)
	return out
}

func seq(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("e%04d", i)
	}
	return out
}

// missingAndDuplicates compares got against want as multisets.
func missingAndDuplicates(want, got []string) (missing, dups []string) {
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		switch n := seen[w]; {
		case n == 0:
			missing = append(missing, w)
		case n > 1:
			dups = append(dups, w)
		}
	}
	return missing, dups
}

func short(list []string) string {
	if len(list) > 8 {
		return fmt.Sprintf("%v … (%d in all)", list[:8], len(list))
	}
	return fmt.Sprint(list)
}
