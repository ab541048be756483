package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// order is the payload the cross-engine test publishes: nested struct,
// slice, map, time, a float, a large integer carried as a string, and a
// pointer field, so that every encoding/json path is exercised.
type order struct {
	ID       string            `json:"id"`
	Customer customer          `json:"customer"`
	Lines    []line            `json:"lines"`
	Tags     map[string]string `json:"tags"`
	Total    float64           `json:"total"`
	Big      int64             `json:"big,string"` // beyond 2^53: must be sent as a string
	Placed   time.Time         `json:"placed"`
	Note     *string           `json:"note"`
}

type customer struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

type line struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

func sampleOrder() order {
	note := "leave at the door"
	return order{
		ID:       "o-1",
		Customer: customer{Name: "ada", Email: "ada@example.com"},
		Lines:    []line{{"sku-1", 2}, {"sku-2", 1}},
		Tags:     map[string]string{"channel": "web"},
		Total:    12.5,
		Big:      1<<62 + 1,
		Placed:   time.Date(2026, 12, 2, 17, 0, 0, 123456789, time.UTC),
		Note:     &note,
	}
}

// received is what the shared handler code saw for one event.
type received struct {
	value      order  // PayloadAs[order]
	pointer    *order // PayloadAs[*order]
	viaHandler order  // PayloadHandler[order]
	err        error  // PayloadAs[order]'s error
}

// engineUnderTest builds a module config with one engine of each type.
type engineUnderTest struct {
	name   string
	config func(t *testing.T) *EventBusConfig
}

func payloadEngines() []engineUnderTest {
	one := func(typ string, cfg map[string]interface{}) *EventBusConfig {
		return &EventBusConfig{Engines: []EngineConfig{{Name: typ, Type: typ, Config: cfg}}}
	}
	return []engineUnderTest{
		{"sharded", func(*testing.T) *EventBusConfig { return one("sharded", nil) }},
		{"memory", func(*testing.T) *EventBusConfig { return one("memory", nil) }},
		{"redis", func(t *testing.T) *EventBusConfig {
			r := testinfra.StartRedis(t)
			return one("redis", map[string]interface{}{"url": r.URL()})
		}},
		{"kafka", func(t *testing.T) *EventBusConfig {
			k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
			return one("kafka", map[string]interface{}{
				"brokers": k.Addrs(), "autoCreateTopics": true, "topicPartitions": 1,
				"topicRefreshInterval": "200ms",
			})
		}},
		{"kinesis", func(t *testing.T) *EventBusConfig {
			k := testinfra.StartKinesalite(t, testinfra.KinesaliteOptions{})
			return one("kinesis", map[string]interface{}{
				"region": "us-east-1", "streamName": "payloads", "endpoint": k.Endpoint(),
				"createStream": true, "shardCount": 1, "accessKeyId": "local", "secretAccessKey": "local",
				"pollInterval": "20ms", "flushInterval": "1ms",
			})
		}},
	}
}

// The same handler code gets the same typed value on every engine: the
// in-process engines hand over the published value, the broker engines
// its decoded JSON, and PayloadAs turns both into an order.
func TestPayloadAsGivesTheSameValueOnEveryEngine(t *testing.T) {
	want := sampleOrder()
	published := []struct {
		name    string
		payload any
	}{
		{"a struct value", want},
		{"a pointer to the struct", &want},
		{"a map with the same JSON", mustJSONMap(t, want)},
		{"the JSON bytes", json.RawMessage(mustJSON(t, want))},
	}
	for _, e := range payloadEngines() {
		t.Run(e.name, func(t *testing.T) {
			got := runPayloads(t, e.config(t), func(yield func(any)) {
				for _, p := range published {
					yield(p.payload)
				}
				yield("not an order")
			})
			for i, p := range published {
				r := got[i]
				if r.err != nil {
					t.Errorf("%s: PayloadAs: %v", p.name, r.err)
					continue
				}
				if !reflect.DeepEqual(r.value, want) {
					t.Errorf("%s: PayloadAs[order] = %+v, want %+v", p.name, r.value, want)
				}
				if r.pointer == nil || !reflect.DeepEqual(*r.pointer, want) {
					t.Errorf("%s: PayloadAs[*order] = %+v, want &%+v", p.name, r.pointer, want)
				}
				if !reflect.DeepEqual(r.viaHandler, want) {
					t.Errorf("%s: PayloadHandler got %+v, want %+v", p.name, r.viaHandler, want)
				}
			}
			bad := got[len(published)]
			var typeErr *json.UnmarshalTypeError
			if !errors.Is(bad.err, ErrPayloadDecode) || !errors.As(bad.err, &typeErr) {
				t.Errorf("a string payload: err = %v, want one wrapping ErrPayloadDecode and a *json.UnmarshalTypeError", bad.err)
			}
		})
	}
}

// runPayloads starts a module on cfg, subscribes the shared handler code
// to one topic, publishes each payload in order (one partition key, so
// every engine keeps the order) and returns what the handler saw, in
// publish order.
func runPayloads(t *testing.T, cfg *EventBusConfig, payloads func(yield func(any))) []received {
	t.Helper()
	m := newTestModule(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := m.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer func() {
		if err := m.Stop(context.Background()); err != nil {
			t.Errorf("Stop: %v", err)
		}
	}()

	var (
		mu  sync.Mutex
		got []received
	)
	typed := PayloadHandler(func(_ context.Context, _ Event, o order) error {
		mu.Lock()
		got[len(got)-1].viaHandler = o
		mu.Unlock()
		return nil
	})
	// The handler code a user writes once, whatever engine the topic is
	// routed to.
	handler := func(ctx context.Context, e Event) error {
		var r received
		r.value, r.err = PayloadAs[order](e)
		r.pointer, _ = PayloadAs[*order](e)
		mu.Lock()
		got = append(got, r)
		mu.Unlock()
		if r.err != nil {
			return nil // nothing to retry: the test checks the error
		}
		return typed(ctx, e)
	}
	if _, err := m.Subscribe(ctx, "order.placed", handler); err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	n := 0
	payloads(func(p any) {
		if err := m.Publish(ctx, "order.placed", p); err != nil {
			t.Fatalf("Publish %T: %v", p, err)
		}
		n++
	})
	testutil.Eventually(t, 30*time.Second, "every event handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= n
	})
	mu.Lock()
	defer mu.Unlock()
	return append([]received(nil), got...)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustJSONMap(t *testing.T, v any) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(mustJSON(t, v), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// The in-process fast path: a payload that already is a T is returned
// without allocating.
func TestPayloadAsReturnsAValueOfTheRightTypeWithoutAllocating(t *testing.T) {
	e := Event{Topic: "t", Payload: sampleOrder()}
	var sink order
	if n := testing.AllocsPerRun(100, func() { sink, _ = PayloadAs[order](e) }); n != 0 {
		t.Errorf("PayloadAs of a matching payload allocates %.0f times, want 0", n)
	}
	_ = sink
}

// Conversions PayloadAs makes on its own, engine or not.
func TestPayloadAsConversions(t *testing.T) {
	o := sampleOrder()
	var nilOrder *order
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"a nil pointer gives the zero value, as JSON null does", func(t *testing.T) {
			v, err := PayloadAs[order](Event{Payload: nilOrder})
			if err != nil || !reflect.DeepEqual(v, order{}) {
				t.Errorf("got %+v, %v", v, err)
			}
		}},
		{"asking for a pointer to a value gives a pointer to a copy", func(t *testing.T) {
			p, err := PayloadAs[*order](Event{Payload: o})
			if err != nil || p == nil || !reflect.DeepEqual(*p, o) {
				t.Fatalf("got %+v, %v", p, err)
			}
			p.ID = "changed"
			if o.ID != "o-1" {
				t.Errorf("the copy aliases the payload")
			}
		}},
		{"raw bytes stay raw bytes when asked for as []byte", func(t *testing.T) {
			b, err := PayloadAs[[]byte](Event{Payload: []byte("abc")})
			if err != nil || string(b) != "abc" {
				t.Errorf("got %q, %v", b, err)
			}
		}},
		{"a nil handler function gives a nil handler", func(t *testing.T) {
			if h := PayloadHandler[order](nil); h != nil {
				t.Errorf("got a non-nil handler")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.check)
	}
}
