package kinesis

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// With asyncPublish, Publish returns while the record may still sit in the
// producer's batch. Flush must still be a barrier for it: every event
// whose Publish returned before Flush was called is handled when Flush
// returns nil.
func TestFlushWaitsForAsyncRecordsStillInTheProducer(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.AsyncPublish = true
	cfg.FlushInterval = bus.Duration(300 * time.Millisecond) // records linger in the batch
	b := started(t, cfg)
	ctx := testCtx(t)
	var handled atomic.Int64
	if _, err := b.Subscribe(ctx, "async.flush", func(context.Context, bus.Event) error { handled.Add(1); return nil }); err != nil {
		t.Fatal(err)
	}
	const n = 50
	for i := 0; i < n; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "async.flush", Payload: i, Metadata: map[string]any{"partitionKey": "k"}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := handled.Load(); got != n {
		t.Fatalf("Flush returned with %d of %d async events handled", got, n)
	}
}
