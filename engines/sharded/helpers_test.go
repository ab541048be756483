package sharded

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// start builds and starts an engine with cfg; it is stopped at cleanup.
func start(t *testing.T, cfg Config) *EventBus {
	t.Helper()
	b, err := NewEventBus(cfg)
	if err != nil {
		t.Fatalf("NewEventBus: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Stop(ctx)
	})
	return b
}

// testCtx returns a context that ends with the test (or after 20s).
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// gate is a handler that blocks every call until opened, and reports
// when a call is waiting.
type gate struct {
	entered chan struct{} // receives once per call that reached the gate
	open    chan struct{}
	once    sync.Once
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 1<<16), open: make(chan struct{})}
}

func (g *gate) handler(next bus.EventHandler) bus.EventHandler {
	return func(ctx context.Context, e bus.Event) error {
		g.entered <- struct{}{}
		select {
		case <-g.open:
		case <-ctx.Done():
			return ctx.Err()
		}
		if next != nil {
			return next(ctx, e)
		}
		return nil
	}
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

// log records payloads per key, in arrival order.
type log struct {
	mu   sync.Mutex
	seen map[string][]int
	n    int
}

func newLog() *log { return &log{seen: map[string][]int{}} }

func (l *log) handle(_ context.Context, e bus.Event) error {
	p := e.Payload.(keyed)
	l.mu.Lock()
	l.seen[p.key] = append(l.seen[p.key], p.seq)
	l.n++
	l.mu.Unlock()
	return nil
}

func (l *log) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.n
}

// keyed is a payload carrying its partition key and a per-key sequence.
type keyed struct {
	key string
	seq int
}

func keyedEvent(topic, key string, seq int) bus.Event {
	return bus.Event{Topic: topic, Payload: keyed{key, seq}, Metadata: map[string]any{bus.MetadataKeyPartition: key}}
}

// checkOrdered fails unless every key in want was received exactly as
// 0..want[key]-1, in order.
func (l *log) checkOrdered(t *testing.T, want map[string]int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, n := range want {
		got := l.seen[key]
		if len(got) != n {
			t.Errorf("key %s: received %d events, want %d", key, len(got), n)
			continue
		}
		for i, s := range got {
			if s != i {
				t.Errorf("key %s: position %d holds seq %d (out of order or duplicated)", key, i, s)
				break
			}
		}
	}
}

// invariant fails unless the metrics balance: every ingested event was
// dispatched or dropped.
func invariant(t *testing.T, b *EventBus) Metrics {
	t.Helper()
	m := b.Metrics()
	if m.EventsDispatched+m.Dropped != m.Ingested {
		t.Errorf("dispatched %d + dropped %d != ingested %d (%+v)", m.EventsDispatched, m.Dropped, m.Ingested, m)
	}
	return m
}

// checkIncreasing fails unless every key's received sequence numbers are
// strictly increasing and below want[key] (a lossy mode may skip some).
func (l *log) checkIncreasing(t *testing.T, want map[string]int) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for key, n := range want {
		prev := -1
		for _, s := range l.seen[key] {
			if s <= prev || s >= n {
				t.Errorf("key %s: seq %d after %d (want increasing, < %d)", key, s, prev, n)
				break
			}
			prev = s
		}
	}
}
