package features

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// subscriber is a named handler of a scenario. It records every call,
// and can be told to fail or panic on given payloads, to take a while, or
// to hold every call until it is released.
type subscriber struct {
	name  string
	topic string
	sub   eventbus.Subscription

	mu      sync.Mutex
	calls   []call
	failOn  map[string]string // payload -> error message
	failAll string            // non-empty: every call fails with it
	panicOn map[string]bool
	delay   time.Duration
	gate    chan struct{} // non-nil: calls wait until it is closed

	inFlight, maxInFlight atomic.Int64
}

// call is one handler call.
type call struct {
	event       eventbus.Event
	payload     string
	failed      bool
	redelivered bool // a broker engine delivered the event again
	attempt     int
}

func newSubscriber(name string) *subscriber {
	return &subscriber{name: name, failOn: map[string]string{}, panicOn: map[string]bool{}}
}

// hold makes every call wait until release is called.
func (s *subscriber) hold() {
	s.mu.Lock()
	s.gate = make(chan struct{})
	s.mu.Unlock()
}

// release lets held calls (and later ones) return.
func (s *subscriber) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gate != nil {
		select {
		case <-s.gate:
		default:
			close(s.gate)
		}
	}
}

func (s *subscriber) handle(ctx context.Context, e eventbus.Event) error {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxInFlight.Load()
		if n <= m || s.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	payload := fmt.Sprint(e.Payload)
	c := call{event: e, payload: payload}
	if d, ok := broker.DeliveryFrom(ctx); ok {
		c.redelivered, c.attempt = d.Redelivered, d.Attempt
	}
	s.mu.Lock()
	gate, delay := s.gate, s.delay
	failMsg, fail := s.failOn[payload]
	if !fail && s.failAll != "" {
		failMsg, fail = s.failAll, true
	}
	panics := s.panicOn[payload]
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	c.failed = fail || panics
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	if panics {
		panic("subscriber " + s.name + " panics on " + payload)
	}
	if fail {
		return errors.New(failMsg)
	}
	return nil
}

// count returns the number of calls that returned.
func (s *subscriber) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.calls)
}

// snapshot returns the calls so far.
func (s *subscriber) snapshot() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// payloads returns the payloads of the calls so far, in call order.
func (s *subscriber) payloads() []string {
	var out []string
	for _, c := range s.snapshot() {
		out = append(out, c.payload)
	}
	return out
}

// waitFor waits until the subscriber's handler returned n times.
func (s *subscriber) waitFor(n int) error {
	return testutil.Poll(waitTimeout, fmt.Sprintf("%q to handle %d events (handled %d)", s.name, n, s.count()), func() bool {
		return s.count() >= n
	})
}

// missingAndDuplicates compares got against want as multisets.
func missingAndDuplicates(want, got []string) (missing, dups []string) {
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		switch seen[w] {
		case 0:
			missing = append(missing, w)
		case 1:
		default:
			dups = append(dups, w)
		}
	}
	return missing, dups
}

// shortList prints at most 8 items of a list.
func shortList(list []string) string {
	if len(list) > 8 {
		return fmt.Sprintf("%v … (%d in all)", list[:8], len(list))
	}
	return fmt.Sprint(list)
}
