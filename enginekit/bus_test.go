package enginekit

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

func TestValidation(t *testing.T) {
	if err := ValidatePublishTopic(""); !errors.Is(err, bus.ErrEmptyTopic) {
		t.Errorf("empty topic: %v", err)
	}
	if err := ValidatePublishTopic("a.*"); !errors.Is(err, bus.ErrWildcardPublish) {
		t.Errorf("wildcard topic: %v", err)
	}
	if err := ValidatePublishTopic("a.b"); err != nil {
		t.Errorf("valid topic: %v", err)
	}
	if err := ValidateSubscription("a", nil); !errors.Is(err, bus.ErrEventHandlerNil) {
		t.Errorf("nil handler: %v", err)
	}
}

func TestHandlerContextKeepsValuesDropsCancellation(t *testing.T) {
	type key struct{}
	life, stop := context.WithCancel(context.Background())
	pub, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	hc := HandlerContext(pub, life)
	cancel()
	if hc.Err() != nil || hc.Value(key{}) != "v" {
		t.Fatalf("after the publisher cancelled: Err=%v Value=%v", hc.Err(), hc.Value(key{}))
	}
	stop()
	if !errors.Is(hc.Err(), context.Canceled) {
		t.Fatalf("after the engine lifetime ended: Err=%v", hc.Err())
	}
	if HandlerContext(context.Background(), life) != life {
		t.Fatalf("an empty publisher context should not allocate a wrapper")
	}
}

func TestCallHandlerRecoversPanics(t *testing.T) {
	err := CallHandler(context.Background(), func(context.Context, bus.Event) error { panic("boom") }, bus.Event{})
	var pe *bus.PanicError
	if !errors.As(err, &pe) || !errors.Is(err, bus.ErrHandlerPanic) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("CallHandler = %v", err)
	}
}

func TestCallHandlerTurnsGoexitIntoAFailedCall(t *testing.T) {
	err := CallHandler(context.Background(), func(context.Context, bus.Event) error { runtime.Goexit(); return nil }, bus.Event{})
	var pe *bus.PanicError
	if !errors.As(err, &pe) || !errors.Is(err, bus.ErrHandlerGoexit) || !errors.Is(err, bus.ErrHandlerPanic) || len(pe.Stack) == 0 {
		t.Fatalf("CallHandler of a handler calling runtime.Goexit = %v, want a *PanicError matching ErrHandlerGoexit and ErrHandlerPanic", err)
	}
	if err := CallHandler(context.Background(), func(context.Context, bus.Event) error { panic("x") }, bus.Event{}); errors.Is(err, bus.ErrHandlerGoexit) {
		t.Fatalf("a plain panic matches ErrHandlerGoexit: %v", err)
	}
}

func TestDecodeConfig(t *testing.T) {
	type cfg struct {
		Size    int          `json:"size"`
		Wait    bus.Duration `json:"wait"`
		Name    string       `json:"name"`
		Enabled bool         `json:"enabled"`
	}
	var c cfg
	err := DecodeConfig(map[string]any{"size": float64(3), "wait": "250ms", "name": "x", "enabled": true, "workerCount": 9}, &c)
	if err != nil || c.Size != 3 || c.Wait.Std() != 250*time.Millisecond || c.Name != "x" || !c.Enabled {
		t.Fatalf("DecodeConfig = %v, %+v", err, c)
	}
	if err := DecodeConfig(map[string]any{"wait": 2 * time.Second}, &c); err != nil || c.Wait.Std() != 2*time.Second {
		t.Fatalf("time.Duration value: %v, %v", err, c.Wait.Std())
	}
	if err := DecodeConfig(map[string]any{"sise": 3}, &c); err == nil || !strings.Contains(err.Error(), "sise") || !errors.Is(err, ErrUnknownConfigKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := DecodeConfig(map[string]any{"size": "three"}, &c); err == nil || !strings.Contains(err.Error(), "size") {
		t.Fatalf("wrong type: %v", err)
	}
	if err := DecodeConfig(map[string]any{"wait": "soon"}, &c); err == nil || !strings.Contains(err.Error(), "soon") {
		t.Fatalf("bad duration: %v", err)
	}
}

func TestDecodeConfigRefusesValuesWithoutAUnitOrAFractionNamingTheKey(t *testing.T) {
	type cfg struct {
		Size     int          `json:"size"`
		Wait     bus.Duration `json:"wait"`
		Password string       `json:"password"`
		Nested   struct {
			Port int `json:"port"`
		} `json:"nested"`
	}
	tests := []struct {
		name     string
		raw      map[string]any
		mentions []string
		absent   string
	}{
		{"a bare int duration", map[string]any{"wait": 30}, []string{"wait", "30", "unit"}, ""},
		{"a bare float duration", map[string]any{"wait": float64(250)}, []string{"wait", "250", "unit"}, ""},
		{"a bare int64 duration", map[string]any{"wait": int64(time.Second)}, []string{"wait", "unit"}, ""},
		{"a fraction for an integer", map[string]any{"size": 2.5}, []string{"size", "2.5", "integer"}, ""},
		{"an integer beyond int64", map[string]any{"size": 1e19}, []string{"size", "integer"}, ""},
		{"a string for an integer", map[string]any{"size": "9"}, []string{"size", `"9"`}, ""},
		{"an unknown key inside a nested struct", map[string]any{"nested": map[string]any{"prot": 1}}, []string{"nested", "prot"}, ""},
		{"a secret of the wrong type", map[string]any{"password": 123456789}, []string{"password", "redacted"}, "123456789"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c cfg
			err := DecodeConfig(tc.raw, &c)
			if err == nil {
				t.Fatalf("DecodeConfig(%v) = nil, decoded %+v", tc.raw, c)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %q", err, m)
				}
			}
			if tc.absent != "" && strings.Contains(err.Error(), tc.absent) {
				t.Errorf("error %q shows the secret value", err)
			}
		})
	}
}

func TestUnknownKeyErrorNamesEveryKeyAndMatchesTheSentinel(t *testing.T) {
	var c struct {
		A int `json:"a"`
	}
	err := DecodeConfig(map[string]any{"zz": 1, "bb": 2, "a": 1, "workerCount": 3}, &c)
	var uk *UnknownKeyError
	if !errors.As(err, &uk) || !errors.Is(err, ErrUnknownConfigKey) {
		t.Fatalf("DecodeConfig = %v, want an *UnknownKeyError", err)
	}
	if strings.Join(uk.Keys, ",") != "bb,zz" || strings.Join(uk.Known, ",") != "a" {
		t.Fatalf("UnknownKeyError = %+v", uk)
	}
}

func TestTopicRegistry(t *testing.T) {
	var r TopicRegistry
	if !r.Add("b") || r.Add("b") || !r.Add("a") {
		t.Fatal("Add should report only the first subscription of a pattern")
	}
	if got := r.Topics(); len(got) != 2 || got[0] != "a" || got[1] != "b" || r.Count("b") != 2 {
		t.Fatalf("Topics = %v, Count(b) = %d", got, r.Count("b"))
	}
	if r.Remove("b") || !r.Remove("b") || r.Remove("b") || r.Remove("never") {
		t.Fatal("Remove should report only the last subscription of a pattern")
	}
	if r.Count("b") != 0 || len(r.Topics()) != 1 {
		t.Fatalf("after removal: Count(b) = %d, Topics = %v", r.Count("b"), r.Topics())
	}
}

type countingObserver struct{ created, deleted int }

func (o *countingObserver) TopicCreated(string) { o.created++ }

func (o *countingObserver) TopicDeleted(string) { o.deleted++ }

func (o *countingObserver) MessageFailed(context.Context, bus.Event, string, error) {}

func (o *countingObserver) MessageReceived(context.Context, bus.Event, string) {}

func TestObserverSlotResolvesMessageObserverOnce(t *testing.T) {
	var s ObserverSlot
	s.TopicCreated("x") // no observer: nothing happens
	o := &countingObserver{}
	s.Set(o)
	if got := s.Load(); got == nil || got.Message == nil {
		t.Fatal("a MessageObserver should be resolved as such")
	}
	s.TopicCreated("x")
	s.TopicDeleted("x")
	if o.created != 1 || o.deleted != 1 {
		t.Fatalf("created %d deleted %d", o.created, o.deleted)
	}
	s.Set(nil)
	if s.Load() != nil {
		t.Fatal("Set(nil) should remove the observer")
	}
}

func TestLatencyHistogramObserveNCountsEveryCallAtTheMean(t *testing.T) {
	var h LatencyHistogram
	h.ObserveN(40*time.Microsecond, 4) // four calls of 10µs each
	h.ObserveN(time.Second, 0)         // nothing
	s := h.Snapshot()
	if s.Count != 4 || s.Sum != 40*time.Microsecond || s.Mean() != 10*time.Microsecond {
		t.Fatalf("snapshot = count %d sum %v mean %v", s.Count, s.Sum, s.Mean())
	}
	bounds := bus.LatencyBounds()
	for i, c := range s.Buckets {
		if c != 0 && (i >= len(bounds) || bounds[i] != 10*time.Microsecond) {
			t.Fatalf("counts landed in bucket %d, want the 10µs bucket", i)
		}
	}
}

// BenchmarkCallHandler measures what running each handler call on a
// goroutine of its own (so that runtime.Goexit cannot end the caller)
// costs the broker engines per call, next to a direct call.
func BenchmarkCallHandler(b *testing.B) {
	h := func(context.Context, bus.Event) error { return nil }
	ctx := context.Background()
	b.Run("CallHandler", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = CallHandler(ctx, h, bus.Event{})
		}
	})
	b.Run("direct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = h(ctx, bus.Event{})
		}
	})
}
