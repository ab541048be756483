package core

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/GoCodeAlone/modular"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/google/uuid"

	"github.com/switchyard-go/eventbus/internal/jsonstr"
)

// TestMessageEventsReachAnObserverByDefaultWithUpstreamPayloads pins what
// an observer receives for one Subscribe and one Publish with
// messageEvents unset: upstream's message.published {topic, duration_ms}
// and message.received {topic, subscription_id}, plus the engine; the
// CloudEvent attributes modular.NewCloudEvent sets (UUIDv7 id, source,
// specversion 1.0, time, application/json data); and data bytes equal to
// what encoding/json writes for the same map, topic escaping included.
func TestMessageEventsReachAnObserverByDefaultWithUpstreamPayloads(t *testing.T) {
	const topic = "order.\"placed\"<b>&é\u2028\x01"
	m := newTestModule(t, &EventBusConfig{Engine: "memory"})
	app := modular.NewObservableApplication(modular.NewStdConfigProvider(&struct{}{}), modular.NewSlogAdapter(slog.New(slog.NewTextHandler(io.Discard, nil))))
	var mu sync.Mutex
	var seen []cloudevents.Event
	if err := app.RegisterObserver(modular.NewFunctionalObserver("pin", func(_ context.Context, e cloudevents.Event) error {
		mu.Lock()
		seen = append(seen, e)
		mu.Unlock()
		return nil
	}), EventTypeMessagePublished, EventTypeMessageReceived); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterObservers(app); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer m.Stop(ctx)
	sub, err := m.Subscribe(ctx, topic, func(context.Context, Event) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now()
	if err := m.Publish(ctx, topic, "payload"); err != nil {
		t.Fatal(err)
	}
	if err := m.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	after := time.Now()

	mu.Lock()
	defer mu.Unlock()
	byType := map[string]cloudevents.Event{}
	for _, e := range seen {
		if _, dup := byType[e.Type()]; dup {
			t.Errorf("%s seen twice", e.Type())
		}
		byType[e.Type()] = e
	}
	want := map[string]map[string]any{
		EventTypeMessagePublished: {"topic": topic, "engine": DefaultEngineName, "duration_ms": float64(0)},
		EventTypeMessageReceived:  {"topic": topic, "engine": DefaultEngineName, "subscription_id": sub.ID()},
	}
	for typ, wantData := range want {
		e, ok := byType[typ]
		if !ok {
			t.Errorf("no %s event (saw %d events)", typ, len(seen))
			continue
		}
		if err := e.Validate(); err != nil {
			t.Errorf("%s does not validate: %v", typ, err)
		}
		if e.Source() != EventSource || e.SpecVersion() != "1.0" || e.Subject() != topic || e.DataContentType() != "application/json" {
			t.Errorf("%s: source %q specversion %q subject %q datacontenttype %q", typ, e.Source(), e.SpecVersion(), e.Subject(), e.DataContentType())
		}
		if id, err := uuid.Parse(e.ID()); err != nil || id.Version() != 7 || id.Variant() != uuid.RFC4122 || id.String() != e.ID() {
			t.Errorf("%s: id %q is not a canonical UUIDv7 (%v)", typ, e.ID(), err)
		}
		if tm := e.Time(); tm.Before(before.Add(-time.Millisecond)) || tm.After(after.Add(time.Millisecond)) {
			t.Errorf("%s: time %v outside the publish window [%v, %v]", typ, tm, before, after)
		}
		if len(e.Extensions()) != 0 {
			t.Errorf("%s: extensions %v, want none", typ, e.Extensions())
		}
		var got map[string]any
		if err := e.DataAs(&got); err != nil {
			t.Errorf("%s: DataAs: %v", typ, err)
			continue
		}
		if reencoded, _ := json.Marshal(got); !bytes.Equal(e.Data(), reencoded) {
			t.Errorf("%s data bytes\n%s\nwant what encoding/json writes\n%s", typ, e.Data(), reencoded)
		}
		if d, ok := got["duration_ms"].(float64); ok && d >= 0 && d < 1000 {
			got["duration_ms"] = float64(0) // the call's duration: a small count of milliseconds
		}
		if !equalJSONMaps(got, wantData) {
			t.Errorf("%s data = %v, want %v", typ, got, wantData)
		}
	}
}

func equalJSONMaps(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestJSONStringsAreWrittenAsEncodingJSONWritesThem judges the per-message
// events' hand-written JSON against encoding/json.
func TestJSONStringsAreWrittenAsEncodingJSONWritesThem(t *testing.T) {
	for _, s := range []string{
		"", "plain.topic", `quote" backslash\ slash/`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "é ü 日本 🎉", "\u2028\u2029", "bad utf8 \xff\xfe end", "\xe2\x82", "\ufffd",
	} {
		want, _ := json.Marshal(s)
		if got := jsonstr.Append(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	}
}
