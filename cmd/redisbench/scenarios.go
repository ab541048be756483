package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
)

// scenario measures one figure in events per second.
type scenario struct {
	name string
	run  func(ctx context.Context) (float64, error)
}

type bench struct {
	addr     string
	payload  map[string]any
	rawValue string // the same payload as JSON, for the raw go-redis runs
	duration time.Duration
	events   int
	seq      atomic.Int64
	tune     func(*redis.Config) // engine settings from the command line
}

func (b *bench) topic(kind string) string {
	return fmt.Sprintf("bench.%s.%d", kind, b.seq.Add(1))
}

func (b *bench) client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: b.addr, PoolSize: 64})
}

// cleanup deletes the streams a measurement created, so that memory use
// stays flat across rounds.
func (b *bench) cleanup(ctx context.Context, keys ...string) {
	c := b.client()
	defer c.Close()
	_ = c.Del(ctx, keys...).Err()
}

// rawPublish is the ceiling: one goroutine sending pipelines of batch
// XADDs with plain go-redis, nothing else.
func (b *bench) rawPublish(batch int) scenario {
	return scenario{fmt.Sprintf("raw go-redis pipelined XADD (batch %d)", batch), func(ctx context.Context) (float64, error) {
		c := b.client()
		defer c.Close()
		key := "raw:" + b.topic("rawpub")
		defer b.cleanup(ctx, key)
		n := 0
		start := time.Now()
		for time.Since(start) < b.duration {
			pipe := c.Pipeline()
			for i := 0; i < batch; i++ {
				pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: []any{"data", b.rawValue}})
			}
			if _, err := pipe.Exec(ctx); err != nil {
				return 0, err
			}
			n += batch
		}
		return float64(n) / time.Since(start).Seconds(), nil
	}}
}

// rawEndToEnd is the end-to-end ceiling: pipelined XADD (batch 100) in
// one goroutine, XREADGROUP COUNT 500 + pipelined XACK in another.
func (b *bench) rawEndToEnd() scenario {
	return scenario{"raw go-redis end to end (XADD p100 → XREADGROUP c500 → XACK)", func(ctx context.Context) (float64, error) {
		c := b.client()
		defer c.Close()
		key := "raw:" + b.topic("rawe2e")
		defer b.cleanup(ctx, key)
		if err := c.XGroupCreateMkStream(ctx, key, "g", "$").Err(); err != nil {
			return 0, err
		}
		n := b.events
		start := time.Now()
		errc := make(chan error, 2)
		go func() {
			for sent := 0; sent < n; {
				pipe := c.Pipeline()
				k := min(100, n-sent)
				for i := 0; i < k; i++ {
					pipe.XAdd(ctx, &goredis.XAddArgs{Stream: key, Values: []any{"data", b.rawValue}})
				}
				if _, err := pipe.Exec(ctx); err != nil {
					errc <- err
					return
				}
				sent += k
			}
			errc <- nil
		}()
		go func() {
			for got := 0; got < n; {
				res, err := c.XReadGroup(ctx, &goredis.XReadGroupArgs{Group: "g", Consumer: "c", Streams: []string{key, ">"}, Count: 500, Block: 100 * time.Millisecond}).Result()
				if err != nil && err != goredis.Nil {
					errc <- err
					return
				}
				for _, st := range res {
					ids := make([]string, len(st.Messages))
					for i, m := range st.Messages {
						ids[i] = m.ID
					}
					if len(ids) > 0 {
						if err := c.XAck(ctx, key, "g", ids...).Err(); err != nil {
							errc <- err
							return
						}
					}
					got += len(ids)
				}
			}
			errc <- nil
		}()
		for i := 0; i < 2; i++ {
			if err := <-errc; err != nil {
				return 0, err
			}
		}
		return float64(n) / time.Since(start).Seconds(), nil
	}}
}

func (b *bench) engine(mut func(*redis.Config)) (*redis.EventBus, error) {
	cfg := redis.Config{URL: "redis://" + b.addr, KeyPrefix: "bench:"}
	if b.tune != nil {
		b.tune(&cfg)
	}
	if mut != nil {
		mut(&cfg)
	}
	e, err := redis.NewEventBus(cfg)
	if err != nil {
		return nil, err
	}
	return e, e.Start(context.Background())
}

// enginePublish measures Publish (returns after XADD was acknowledged by
// Redis) from publishers goroutines.
func (b *bench) enginePublish(publishers int, async bool) scenario {
	name := fmt.Sprintf("engine Publish, %d publishers", publishers)
	if async {
		name += ", publishAsync (until Flush)"
	}
	return scenario{name, func(ctx context.Context) (float64, error) {
		e, err := b.engine(func(c *redis.Config) { c.PublishAsync = async })
		if err != nil {
			return 0, err
		}
		topic := b.topic("pub")
		defer b.cleanup(ctx, "bench:"+topic)
		defer e.Stop(context.Background())
		var n atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		deadline := start.Add(b.duration)
		for p := 0; p < publishers; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Now().Before(deadline) {
					if err := e.Publish(ctx, bus.Event{Topic: topic, Payload: b.payload}); err != nil {
						firstErr.Store(err)
						return
					}
					n.Add(1)
				}
			}()
		}
		wg.Wait()
		if err := e.Flush(ctx); err != nil { // async: until stored
			return 0, err
		}
		if err, _ := firstErr.Load().(error); err != nil {
			return 0, err
		}
		return float64(n.Load()) / time.Since(start).Seconds(), nil
	}}
}

// engineEndToEnd measures publish → handler → ack: publishers goroutines
// publish b.events events to a topic with one subscription; the clock
// stops when the handler saw them all and Flush confirmed them handled
// (their acks are then at most one AckFlushInterval away).
func (b *bench) engineEndToEnd(publishers int, async, pubAsync bool) scenario {
	kind := "sync Subscribe"
	if async {
		kind = "SubscribeAsync"
	}
	if pubAsync {
		kind += ", publishAsync"
	}
	return scenario{fmt.Sprintf("engine end to end, %d publishers, %s", publishers, kind), func(ctx context.Context) (float64, error) {
		e, err := b.engine(func(c *redis.Config) { c.PublishAsync = pubAsync })
		if err != nil {
			return 0, err
		}
		topic := b.topic("e2e")
		defer b.cleanup(ctx, "bench:"+topic)
		defer e.Stop(context.Background())
		n := int64(b.events)
		var got atomic.Int64
		done := make(chan struct{})
		h := func(context.Context, bus.Event) error {
			if got.Add(1) == n {
				close(done)
			}
			return nil
		}
		if async {
			_, err = e.SubscribeAsync(ctx, topic, h)
		} else {
			_, err = e.Subscribe(ctx, topic, h)
		}
		if err != nil {
			return 0, err
		}
		var next atomic.Int64
		var firstErr atomic.Value
		start := time.Now()
		for p := 0; p < publishers; p++ {
			go func() {
				for next.Add(1) <= n {
					if err := e.Publish(ctx, bus.Event{Topic: topic, Payload: b.payload}); err != nil {
						firstErr.Store(err)
						return
					}
				}
			}()
		}
		select {
		case <-done:
		case <-ctx.Done():
			return 0, fmt.Errorf("timed out with %d of %d handled", got.Load(), n)
		}
		if err := e.Flush(ctx); err != nil {
			return 0, err
		}
		elapsed := time.Since(start)
		if err, _ := firstErr.Load().(error); err != nil {
			return 0, err
		}
		if s := e.EngineStats(); s.Failed != 0 {
			return 0, fmt.Errorf("handler failures: %+v", s)
		}
		return float64(n) / elapsed.Seconds(), nil
	}}
}

func payloadOf(size int) map[string]any {
	return map[string]any{"id": "evt-0000000001", "body": strings.Repeat("x", max(size-30, 1))}
}
