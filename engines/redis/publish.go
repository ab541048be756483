package redis

import (
	"context"
	"fmt"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

// Publish encodes event as a CloudEvent and appends it (XADD) to the
// topic's stream. Publishes from many goroutines are pipelined together:
// up to PublishPipelines pipelines of up to PublishBatch XADDs are in
// flight at once, and a pipeline is sent as soon as it is free.
//
// By default Publish returns only after Redis accepted the entry: nil
// means stored in Redis (durable as far as the server's persistence
// settings go). With PublishAsync it returns once the event is queued.
//
// Errors: bus.ErrEventBusNotStarted before Start and after Stop;
// bus.ErrEmptyTopic / bus.ErrWildcardPublish; an error wrapping
// bus.ErrPayloadTooLarge above MaxPayloadBytes; ctx's error when ctx ends
// first (the event may then still be stored); the Redis error otherwise
// (not stored, or not known to be). Safe for concurrent use.
func (b *EventBus) Publish(ctx context.Context, event bus.Event) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := enginekit.ValidatePublishTopic(event.Topic); err != nil {
		return err
	}
	msg, err := b.codec.EncodeBinaryContext(ctx, event)
	if err != nil {
		return fmt.Errorf("redis engine: publish: %w", err)
	}
	var req *pubReq
	tc := b.counters.Topic(event.Topic)
	if b.cfg.PublishAsync {
		req = &pubReq{topic: tc} // a failed XADD is counted as dropped on it
	} else {
		req = reqPool.Get().(*pubReq)
	}
	req.stream, req.args = b.streamKey(event.Topic), b.xaddCmd(b.streamKey(event.Topic), msg)

	b.gate.RLock()
	rs := b.run.Load()
	if rs == nil {
		b.gate.RUnlock()
		return errNotRunning("publish")
	}
	select {
	case rs.pub.queue <- req:
	case <-ctx.Done():
		b.gate.RUnlock()
		return fmt.Errorf("redis engine: publish %q: %w", event.Topic, ctx.Err())
	}
	b.gate.RUnlock()
	if _, seen := b.known.Load(event.Topic); !seen {
		b.known.Store(event.Topic, struct{}{})
		defer rs.disc.wake() // after the XADD, so the scan finds the stream
	}
	if req.done == nil {
		b.counters.PublishedOn(tc)
		return nil
	}
	select {
	case err := <-req.done:
		// The pipeline is done with req: it can be reused. (Not on the
		// ctx path below, where the pipeline may still answer.)
		req.stream, req.args = "", nil
		reqPool.Put(req)
		if err != nil {
			return fmt.Errorf("redis engine: publish %q: %w", event.Topic, err)
		}
		b.counters.PublishedOn(tc)
		return nil
	case <-ctx.Done():
		return fmt.Errorf("redis engine: publish %q: %w (the event may still be stored)", event.Topic, ctx.Err())
	}
}

// reqPool recycles the requests (and their done channels) of synchronous
// publishes.
var reqPool = sync.Pool{New: func() any { return &pubReq{done: make(chan error, 1)} }}

// pubReq is one event waiting for a pipeline.
type pubReq struct {
	stream string
	args   []any      // the XADD command
	done   chan error // nil for async publishes; buffered (1) otherwise
	// topic is the event's topic counters, for async publishes only
	// (a failed one counts as dropped there).
	topic *enginekit.TopicCounters
}

// publisher owns the pipeline goroutines of one run. They all drain one
// queue: in sync mode every publisher waits for its own XADD, so its
// events stay in order whichever pipeline carries them. In async mode
// events of one publisher could overtake each other across pipelines, so
// one pipeline is used.
type publisher struct {
	b     *EventBus
	rs    *runState
	queue chan *pubReq
	quit  chan struct{}
	wg    sync.WaitGroup
	n     int
}

func newPublisher(b *EventBus, rs *runState) *publisher {
	n := b.cfg.PublishPipelines
	if b.cfg.PublishAsync {
		n = 1
	}
	return &publisher{b: b, rs: rs, queue: make(chan *pubReq, b.cfg.PublishQueue), quit: make(chan struct{}), n: n}
}

func (p *publisher) start() {
	for i := 0; i < p.n; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.loop()
		}()
	}
}

// stop flushes every queued event and waits for the pipelines to exit.
// Stop calls it after the publish gate closed, so the queue only shrinks.
func (p *publisher) stop() {
	close(p.quit)
	p.wg.Wait()
}

func (p *publisher) loop() {
	max := p.b.cfg.PublishBatch
	linger := p.b.cfg.PublishLinger.Std()
	batch := make([]*pubReq, 0, max)
	for {
		select {
		case r := <-p.queue:
			batch = append(batch, r)
		case <-p.quit:
			// Flush what is left; the gate guarantees no new arrivals.
			for {
				batch = p.fill(batch[:0], max)
				if len(batch) == 0 {
					return
				}
				p.flush(batch)
			}
		}
		batch = p.fill(batch, max)
		if linger > 0 && len(batch) < max {
			batch = p.linger(batch, max, linger)
		}
		p.flush(batch)
		clear(batch)
		batch = batch[:0]
	}
}

// fill takes queued requests without waiting, up to max.
func (p *publisher) fill(batch []*pubReq, max int) []*pubReq {
	for len(batch) < max {
		select {
		case r := <-p.queue:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func (p *publisher) linger(batch []*pubReq, max int, d time.Duration) []*pubReq {
	t := time.NewTimer(d)
	defer t.Stop()
	for len(batch) < max {
		select {
		case r := <-p.queue:
			batch = append(batch, r)
		case <-t.C:
			return batch
		case <-p.quit:
			return batch
		}
	}
	return batch
}

// flush sends one pipeline of XADDs and reports each result.
func (p *publisher) flush(batch []*pubReq) {
	if len(batch) == 0 {
		return
	}
	ctx := p.rs.life
	pipe := p.rs.client.Pipeline()
	cmds := make([]*goredis.StringCmd, len(batch))
	for i, r := range batch {
		if r.stream == "" {
			continue // a Flush barrier: answered after the XADDs before it
		}
		cmd := goredis.NewStringCmd(ctx, r.args...)
		_ = pipe.Process(ctx, cmd) // queued; the result comes with Exec
		cmds[i] = cmd
	}
	if pipe.Len() > 0 {
		_, _ = pipe.Exec(ctx) // per-command errors are read below
	}
	var firstErr error
	for i, r := range batch {
		if cmds[i] == nil {
			r.done <- nil
			continue
		}
		err := cmds[i].Err()
		if r.done != nil {
			r.done <- err
			continue
		}
		if err != nil {
			p.b.counters.DroppedOn(r.topic)
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if firstErr != nil {
		p.b.errs.Report(broker.ScopePublish, fmt.Errorf("async publish: %w", firstErr))
	}
}

// publishDeadLetter appends a dead letter to its stream directly (not
// through the pipelines, which may be flushing for Stop).
func (b *EventBus) publishDeadLetter(rs *runState, dl brokerkit.DeadLetter) error {
	msg, err := b.dlqCodec.EncodeBinaryContext(dl.Context(rs.life), dl.Event)
	if err != nil {
		return err
	}
	key := b.streamKey(dl.Topic)
	cmd := goredis.NewStringCmd(rs.life, b.xaddCmd(key, msg)...)
	_ = rs.client.Process(rs.life, cmd)
	return cmd.Err()
}
