package eventbustest

import (
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
)

// W3C Trace Context (https://www.w3.org/TR/trace-context/) and W3C
// Baggage metadata keys. Tracing hooks (OpenTelemetry's
// propagation.TraceContext, for one) inject and extract exactly these
// names, so an engine that keeps them intact lets a trace continue from
// the publisher to every handler, in-process or across a broker.
const (
	MetadataTraceParent = "traceparent"
	MetadataTraceState  = "tracestate"
	MetadataBaggage     = "baggage"
)

// checkTraceContext publishes events whose Metadata carries a W3C
// traceparent, tracestate and baggage, and checks that sync and async
// handlers receive each event's own values unchanged, as strings (a
// broker's wire format must not turn them into another type, drop them,
// or mix them up between events).
func checkTraceContext(c *checker) {
	b := c.started()
	topic := c.topic("traced")
	var syncRec, asyncRec recorder
	c.subscribe(b, false, topic, syncRec.handle)
	c.subscribe(b, true, topic, asyncRec.handle)

	want := map[string]map[string]any{ // by payload
		"sampled": {
			MetadataTraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
			MetadataTraceState:  "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7",
			MetadataBaggage:     "userId=alice,serverNode=DF%2028",
			"source":            "checkout",
		},
		"not-sampled": {
			MetadataTraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
			MetadataTraceState:  "rojo=b7ad6b7169203331",
			MetadataBaggage:     "userId=bob",
			"source":            "checkout",
		},
	}
	for _, payload := range []string{"sampled", "not-sampled"} {
		meta := make(map[string]any, len(want[payload]))
		for k, v := range want[payload] {
			meta[k] = v
		}
		if err := b.Publish(c.ctx(), bus.Event{Topic: topic, Payload: payload, Metadata: meta}); err != nil {
			c.t.Fatalf("publish %s: %v", payload, err)
		}
	}
	for _, r := range []struct {
		kind string
		rec  *recorder
	}{{"sync", &syncRec}, {"async", &asyncRec}} {
		c.eventually(r.kind+" handler to receive both traced events", func() bool { return r.rec.count() >= 2 })
		for _, e := range r.rec.snapshot() {
			payload := fmt.Sprint(e.Payload)
			exp, ok := want[payload]
			if !ok {
				c.t.Errorf("%s handler received unexpected payload %q", r.kind, payload)
				continue
			}
			for k, v := range exp {
				got, present := e.Metadata[k]
				switch {
				case !present:
					c.t.Errorf("%s handler: event %q lost Metadata[%q] (got %v)", r.kind, payload, k, e.Metadata)
				case got != v:
					c.t.Errorf("%s handler: event %q Metadata[%q] = %#v (%T), want the string %q", r.kind, payload, k, got, got, v)
				}
			}
		}
	}
}
