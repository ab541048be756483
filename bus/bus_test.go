package bus

import (
	"context"
	"testing"
)

func TestMatchTopic(t *testing.T) {
	tests := []struct {
		pattern, topic string
		want           bool
	}{
		{"user.created", "user.created", true},
		{"user.created", "user.deleted", false},
		{"user.*", "user.created", true},
		{"user.*", "user.a.b", true},
		{"user.*", "user.", true},
		{"user.*", "user", false},
		{"user.*", "users.x", false},
		{"user*", "users", true},
		{"user*", "user", true},
		{"*", "anything.at.all", true},
		{"*", "*", true},
		{"user.*.created", "user.a.created", false}, // "*" only at the end is a wildcard
		{"user.*.created", "user.*.created", true},
		{"", "", true},
		{"", "x", false},
	}
	for _, tc := range tests {
		if got := MatchTopic(tc.pattern, tc.topic); got != tc.want {
			t.Errorf("MatchTopic(%q, %q) = %v, want %v", tc.pattern, tc.topic, got, tc.want)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() { matchSink = MatchTopic("order.*", "order.placed") }); allocs != 0 {
		t.Errorf("MatchTopic allocates %.0f times", allocs)
	}
}

func TestEventKeyPrefersMetadataThenContextThenTopic(t *testing.T) {
	ctx := WithPartitionKey(context.Background(), "from-ctx")
	tests := []struct {
		name string
		ctx  context.Context
		e    Event
		want string
	}{
		{"metadata string", ctx, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: "k1"}}, "k1"},
		{"metadata number", nil, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: 42}}, "42"},
		{"empty metadata falls back", ctx, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: ""}}, "from-ctx"},
		{"context", ctx, Event{Topic: "t"}, "from-ctx"},
		{"topic", context.Background(), Event{Topic: "t"}, "t"},
		{"metadata bytes", nil, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: []byte("b1")}}, "b1"},
		{"metadata int64", nil, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: int64(-7)}}, "-7"},
		{"metadata uint8", nil, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: uint8(255)}}, "255"},
		{"metadata stringer", nil, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: stringerKey1{}}}, "stringer"},
		{"a panicking stringer is ignored", ctx, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: panickyStringer{}}}, "from-ctx"},
		{"a map that contains itself is ignored", ctx, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: selfMap()}}, "from-ctx"},
		{"a slice is ignored", nil, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: []any{1}}}, "t"},
		{"a float is ignored", nil, Event{Topic: "t", Metadata: map[string]any{MetadataKeyPartition: 1.5}}, "t"},
	}
	for _, tc := range tests {
		if got := EventKey(tc.ctx, tc.e); got != tc.want {
			t.Errorf("%s: EventKey = %q, want %q", tc.name, got, tc.want)
		}
	}
}

type stringerKey1 struct{}

func (stringerKey1) String() string { return "stringer" }

type panickyStringer struct{}

func (panickyStringer) String() string { panic("no") }

func selfMap() map[string]any {
	m := map[string]any{}
	m["self"] = m
	return m
}

func TestEngineStatsAdd(t *testing.T) {
	a := EngineStats{Published: 1, Delivered: 2, Dropped: 3, InFlight: 1}
	b := EngineStats{Published: 10, Delivered: 20, Dropped: 30, LossyShutdown: true}
	if s := a.Add(b); s.Published != 11 || s.Delivered != 22 || s.Dropped != 33 || s.InFlight != 1 || !s.LossyShutdown {
		t.Fatalf("Add = %+v", s)
	}
}

// matchSink keeps the compiler from dropping the call being measured.
var matchSink bool
