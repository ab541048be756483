package eventbustest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
)

// failRecorder is a T that records failures instead of failing the test,
// so the suite can be shown to catch a broken engine.
type failRecorder struct {
	failed bool
	msgs   []string
}

type fatalStop struct{}

func (r *failRecorder) Helper()                  {}
func (r *failRecorder) Logf(string, ...any)      {}
func (r *failRecorder) Skipf(f string, a ...any) { panic(fatalStop{}) }
func (r *failRecorder) Errorf(f string, a ...any) {
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(f, a...))
}
func (r *failRecorder) Fatalf(f string, a ...any) { r.Errorf(f, a...); panic(fatalStop{}) }
func (r *failRecorder) run(fn func(), t *testing.T) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			if _, ok := v.(fatalStop); !ok {
				panic(v)
			}
		}
	}()
	fn()
}

// lossyBus acknowledges every 50th publish without delivering it: the
// bug the suite exists to catch.
type lossyBus struct {
	bus.EventBus
	n atomic.Int64
}

func (l *lossyBus) Publish(ctx context.Context, e bus.Event) error {
	if l.n.Add(1)%50 == 0 {
		return nil
	}
	return l.EventBus.Publish(ctx, e)
}

func TestSuiteCatchesAnEngineThatLosesAcknowledgedEvents(t *testing.T) {
	cfg := Config{
		New: func(t *testing.T) bus.EventBus {
			b, err := memory.NewEventBus(memory.Config{})
			if err != nil {
				t.Fatal(err)
			}
			return &lossyBus{EventBus: b}
		},
		Features: Features{DeliveryTimeout: 300 * time.Millisecond}, // the loss is permanent: no need to wait long
	}
	for _, name := range []string{
		"stop delivers every accepted event",
		"sync subscription sees one publisher's events once and in order",
		"async subscription receives every event once",
		"concurrent publishers and subscribers lose nothing",
	} {
		t.Run(name, func(t *testing.T) {
			var fn func(*checker)
			for _, c := range checks {
				if c.name == name {
					fn = c.fn
				}
			}
			if fn == nil {
				t.Fatalf("no check named %q", name)
			}
			rec := &failRecorder{}
			rec.run(func() { fn(newChecker(rec, t, cfg)) }, t)
			if !rec.failed {
				t.Fatalf("the check passed against an engine that drops every 50th acknowledged event")
			}
			t.Logf("caught: %v", rec.msgs)
		})
	}
}

// runCheck runs the named check against cfg and reports whether it
// failed.
func runCheck(t *testing.T, name string, cfg Config) *failRecorder {
	t.Helper()
	var fn func(*checker)
	for _, c := range checks {
		if c.name == name {
			fn = c.fn
		}
	}
	if fn == nil {
		t.Fatalf("no check named %q", name)
	}
	rec := &failRecorder{}
	rec.run(func() { fn(newChecker(rec, t, cfg)) }, t)
	return rec
}

// The capability checks catch an engine that claims a capability it does
// not have.
func TestSuiteCatchesAnEngineWithoutTheCapabilitiesItDeclares(t *testing.T) {
	newMemory := func(t *testing.T) bus.EventBus {
		b, err := memory.NewEventBus(memory.Config{})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("members of a group that each see every event", func(t *testing.T) {
		groups := map[string]bus.EventBus{}
		cfg := Config{
			New: newMemory,
			// Every member of a group is the same in-process bus: each
			// subscription gets every event, as private groups would.
			NewInGroup: func(t *testing.T, group string) bus.EventBus {
				if b, ok := groups[group]; ok {
					return b
				}
				groups[group] = newMemory(t)
				return groups[group]
			},
			Features: Features{ConsumerGroups: true, DeliveryTimeout: time.Second},
		}
		rec := runCheck(t, "a consumer group splits a topic's events, each handled once", cfg)
		if !rec.failed {
			t.Fatalf("the check passed against a group whose members each handle every event")
		}
		t.Logf("caught: %v", rec.msgs)
	})
	t.Run("an engine that does not redeliver a failed event", func(t *testing.T) {
		cfg := Config{New: newMemory, Features: Features{RedeliveryAfterHandlerError: true, DeliveryTimeout: 300 * time.Millisecond}}
		rec := runCheck(t, "an event whose handler failed is delivered again unchanged", cfg)
		if !rec.failed {
			t.Fatalf("the check passed against an engine that never redelivers")
		}
		t.Logf("caught: %v", rec.msgs)
	})
}
