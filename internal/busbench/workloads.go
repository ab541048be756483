package busbench

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

// Topic is the topic every workload publishes to.
const Topic = "bench.orders"

// payload is shared by every event (a pointer: no boxing allocation).
var payload = &struct{ ID, Qty int64 }{ID: 42, Qty: 7}

// NewEvent returns the prebuilt event the workloads publish: a topic and
// a pointer payload, CreatedAt left for the engine to stamp (the sharded
// engine stamps once per batch; the channel baseline does not stamp).
func NewEvent() bus.Event {
	return bus.Event{Topic: Topic, Payload: payload}
}

// Workload describes one throughput measurement.
type Workload struct {
	Producers int  // publishing goroutines
	Subs      int  // sync subscriptions on Topic
	Batch     int  // events per PublishBatch call; 0 or 1 = Publish
	Keyed     bool // each producer uses its own partition key (spreads over shards)
}

// Result is one measurement.
type Result struct {
	Elapsed time.Duration // first publish → last delivery
	Allocs  uint64        // heap allocations in that window, all goroutines
	Bytes   uint64        // heap bytes allocated in that window
}

// Runner publishes n events and measures publish→deliver.
type Runner func(n int) (Result, error)

// counter counts one subscription's deliveries and closes done at n.
// Sync handlers run one call at a time, so a plain int suffices.
type counter struct {
	_    [64]byte
	n    int
	want int
	done chan struct{}
	_    [64]byte
}

func (c *counter) handle(context.Context, bus.Event) error {
	c.n++
	if c.n == c.want {
		close(c.done)
	}
	return nil
}

// split divides n events among p producers.
func split(n, p, i int) int {
	q := n / p
	if i < n%p {
		q++
	}
	return q
}

// publishAll runs w.Producers goroutines publishing n events in total with
// publish or publishBatch, and waits for the counters.
func publishAll(w Workload, n int, counters []*counter, publish func(ctx context.Context, e bus.Event) error, publishBatch func(ctx context.Context, evs []bus.Event) (int, error)) (Result, error) {
	ctx := context.Background()
	var wg sync.WaitGroup
	var failed atomic.Value
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	for p := 0; p < w.Producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := NewEvent()
			if w.Keyed {
				e.Metadata = map[string]any{bus.MetadataKeyPartition: fmt.Sprintf("producer-%d", p)}
			}
			count := split(n, w.Producers, p)
			if w.Batch > 1 && publishBatch != nil {
				batch := make([]bus.Event, w.Batch)
				for i := range batch {
					batch[i] = e
				}
				for count > 0 {
					k := min(count, w.Batch)
					if _, err := publishBatch(ctx, batch[:k]); err != nil {
						failed.Store(err)
						return
					}
					count -= k
				}
				return
			}
			for i := 0; i < count; i++ {
				if err := publish(ctx, e); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		return Result{}, err
	}
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for _, c := range counters {
		select {
		case <-c.done:
		case <-timeout.C:
			return Result{}, fmt.Errorf("timed out: a subscriber did not receive all %d events", c.want)
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	return Result{Elapsed: elapsed, Allocs: after.Mallocs - before.Mallocs, Bytes: after.TotalAlloc - before.TotalAlloc}, nil
}

// Engine runs w against an engine built by newBus (started and stopped
// around the measurement).
func Engine(newBus func() (bus.EventBus, error), w Workload) Runner {
	return func(n int) (Result, error) {
		b, err := newBus()
		if err != nil {
			return Result{}, err
		}
		ctx := context.Background()
		if err := b.Start(ctx); err != nil {
			return Result{}, err
		}
		defer b.Stop(ctx)
		counters := make([]*counter, max(w.Subs, 1))
		for i := range counters {
			counters[i] = &counter{want: n, done: make(chan struct{})}
			if _, err := b.Subscribe(ctx, Topic, counters[i].handle); err != nil {
				return Result{}, err
			}
		}
		var batch func(context.Context, []bus.Event) (int, error)
		if sb, ok := b.(*sharded.EventBus); ok {
			batch = sb.PublishBatch
		}
		if w.Batch > 1 && batch == nil {
			return Result{}, fmt.Errorf("engine %T has no PublishBatch", b)
		}
		return publishAll(w, n, counters, b.Publish, batch)
	}
}

// Sharded runs w against the sharded engine with cfg.
func Sharded(cfg sharded.Config, w Workload) Runner {
	return Engine(func() (bus.EventBus, error) { return sharded.NewEventBus(cfg) }, w)
}

// Memory runs w against the memory engine in block mode with a
// 1024-event subscription buffer ("buf1024").
func Memory(w Workload) Runner {
	return Engine(func() (bus.EventBus, error) {
		return memory.NewEventBus(memory.Config{DeliveryMode: memory.DeliveryBlock, DefaultEventBufferSize: 1024})
	}, w)
}

// Channel runs w.Producers goroutines sending bus.Event values into one
// buffered channel (buffer buf) drained by one consumer goroutine: the
// baseline every ratio is taken against.
func Channel(w Workload, buf int) Runner {
	return func(n int) (Result, error) {
		ch := make(chan bus.Event, buf)
		c := &counter{want: n, done: make(chan struct{})}
		go func() {
			ctx := context.Background()
			for i := 0; i < n; i++ {
				_ = c.handle(ctx, <-ch)
			}
		}()
		send := func(_ context.Context, e bus.Event) error { ch <- e; return nil }
		return publishAll(Workload{Producers: w.Producers}, n, []*counter{c}, send, nil)
	}
}
