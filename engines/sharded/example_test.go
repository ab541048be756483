package sharded_test

import (
	"context"
	"fmt"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

// A keyed publish, a batch, and Flush as a delivery barrier.
func Example() {
	ctx := context.Background()
	b, err := sharded.NewEventBus(sharded.Config{Shards: 2})
	if err != nil {
		panic(err)
	}
	if err := b.Start(ctx); err != nil {
		panic(err)
	}
	defer b.Stop(ctx)

	total := 0
	_, _ = b.Subscribe(ctx, "order.*", func(_ context.Context, e bus.Event) error {
		total += e.Payload.(int) // sync handlers run one call at a time
		return nil
	})

	// Events with the same partition key are delivered in publish order.
	key := map[string]any{bus.MetadataKeyPartition: "customer-42"}
	_ = b.Publish(ctx, bus.Event{Topic: "order.placed", Payload: 1, Metadata: key})
	_, _ = b.PublishBatch(ctx, []bus.Event{
		{Topic: "order.paid", Payload: 10, Metadata: key},
		{Topic: "order.shipped", Payload: 100, Metadata: key},
	})

	_ = b.Flush(ctx) // every event published above has been handled
	m := b.Metrics()
	fmt.Println(total, m.Accepted, m.EventsDispatched+m.Dropped == m.Ingested)
	// Output: 111 3 true
}

// The factory the module's registry calls, with a config map as YAML
// would produce it.
func ExampleNew() {
	eb, err := sharded.New(map[string]any{"shards": 1, "backpressure": "drop-newest", "ringSize": 1024})
	if err != nil {
		panic(err)
	}
	fmt.Println(eb.(*sharded.EventBus).Config().Backpressure)

	_, err = sharded.New(map[string]any{"backpressure": "sometimes"})
	fmt.Println(err)
	// Output:
	// drop-newest
	// sharded engine: invalid config: backpressure: "sometimes": must be one of block, timeout, drop-newest, drop-oldest
}
