package sharded_test

import (
	"context"
	"fmt"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

// Feeding SuggestScaling through a policy of your own: here, grow one
// shard at a time and never shrink (say, during business hours), then
// apply what is left with ApplyScaling.
func ExampleEventBus_SuggestScaling() {
	ctx := context.Background()
	b, err := sharded.NewEventBus(sharded.Config{Shards: 1, Scaling: sharded.ScalingConfig{MaxShards: 4}})
	if err != nil {
		panic(err)
	}
	if err := b.Start(ctx); err != nil {
		panic(err)
	}
	defer b.Stop(ctx)
	_, _ = b.Subscribe(ctx, "report.*", func(context.Context, bus.Event) error {
		time.Sleep(time.Millisecond) // a handler that waits, e.g. for a database
		return nil
	})
	for i := range 200 {
		key := map[string]any{bus.MetadataKeyPartition: fmt.Sprint("customer-", i%10)}
		_ = b.Publish(ctx, bus.Event{Topic: "report.daily", Payload: i, Metadata: key})
	}

	time.Sleep(50 * time.Millisecond) // let an interval pass under load
	for _, m := range b.ShardMetrics() {
		fmt.Printf("shard busy: %v\n", m.Utilization > 0.8)
	}

	d := b.SuggestScaling() // pure: changes nothing
	d.Add = min(d.Add, 1)   // our policy: one shard at a time,
	d.Remove = nil          // and never shrink
	if _, err := b.ApplyScaling(ctx, d); err != nil {
		panic(err)
	}
	fmt.Println("shards:", b.ShardCount())
	// Output:
	// shard busy: true
	// shards: 2
}
