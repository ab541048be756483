package brokertest

import (
	"context"
	"fmt"
	"sync"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// Recorder collects what a handler received and the broker.Delivery it
// saw, for the broker engines' tests. Its Handle is the handler; the
// zero value is ready to use and safe for concurrent handler calls.
type Recorder struct {
	mu     sync.Mutex
	events []bus.Event
	dels   []Delivery
}

// Delivery is what a handler saw of its broker.Delivery.
type Delivery struct {
	ID, EntryID string
	Attempt     int
	Redelivered bool
	// CloudEvent is what broker.EventAttributes returned in the handler.
	CloudEvent broker.Attributes
}

// Handle records e (and its delivery, when the context carries one).
func (r *Recorder) Handle(ctx context.Context, e bus.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	if d, ok := broker.DeliveryFrom(ctx); ok {
		ce, _ := broker.EventAttributes(ctx)
		r.dels = append(r.dels, Delivery{ID: d.ID, EntryID: d.EntryID, Attempt: d.Attempt, Redelivered: d.Redelivered, CloudEvent: ce})
	}
	return nil
}

// Count returns the number of events received.
func (r *Recorder) Count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.events)
}

// Events returns a copy of the events received, in order.
func (r *Recorder) Events() []bus.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bus.Event(nil), r.events...)
}

// Deliveries returns a copy of the deliveries seen, in order.
func (r *Recorder) Deliveries() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.dels...)
}

// Payloads returns the received payloads formatted with fmt.Sprint.
func (r *Recorder) Payloads() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.events))
	for i, e := range r.events {
		out[i] = fmt.Sprint(e.Payload)
	}
	return out
}

// Counts returns how often each payload (fmt.Sprint) was received.
func (r *Recorder) Counts() map[string]int {
	out := map[string]int{}
	for _, p := range r.Payloads() {
		out[p]++
	}
	return out
}
