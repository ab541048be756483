package kinesis

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// A dead letter is larger than its event (reason, attempts, ids). When it
// no longer fits in maxRecordBytes it can never be written; the event must
// not hold its shard back forever: after a few attempts it is dropped,
// reported and counted, and the events after it are delivered.
func TestADeadLetterThatCannotBeWrittenDoesNotStallTheShard(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.Options.MaxRetries = -1
	poison := bus.Event{Topic: "stall.in", Payload: strings.Repeat("p", 300), Metadata: map[string]any{bus.MetadataKeyPartition: "k"}}
	doc, err := brokerkit.NewCodec(cfg.Options).EncodeStructured(poison)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxRecordBytes = len(doc) + 40 // the event fits, its dead letter does not
	b := started(t, cfg)
	var dropped atomic.Value
	b.SetErrorObserver(broker.ErrorObserverFunc(func(s broker.Scope, err error) {
		if s == broker.ScopeDeadLetter && errors.Is(err, ErrDeadLetterDropped) {
			dropped.Store(err)
		}
	}))
	var rec recorder
	if _, err := b.Subscribe(testCtx(t), "stall.in", func(ctx context.Context, e bus.Event) error {
		if e.Payload == poison.Payload {
			return errors.New("poison")
		}
		return rec.Handle(ctx, e)
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(testCtx(t), poison); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(testCtx(t), bus.Event{Topic: "stall.in", Payload: "after", Metadata: map[string]any{bus.MetadataKeyPartition: "k"}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 30*time.Second, "the event after the one whose dead letter cannot be written", func() bool { return rec.Count() >= 1 })
	testutil.Eventually(t, 5*time.Second, "the report", func() bool { return dropped.Load() != nil })
	if err := dropped.Load().(error); !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("report = %v, want it to say the record is too large", err)
	}
	if st := b.EngineStats(); st.Dropped != 1 || st.DeadLettered != 0 {
		t.Errorf("stats Dropped %d DeadLettered %d, want 1 and 0", st.Dropped, st.DeadLettered)
	}
}
