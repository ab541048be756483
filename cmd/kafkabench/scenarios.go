package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kafka"
)

type bench struct {
	addrs      []string
	events     int
	partitions int32
	producer   map[string]string

	// backlog is the topic of this round that holds events published by
	// the engine, read by the backlog scenarios.
	backlog string
}

type scenario struct {
	name string
	run  func(round int) (result, error)
}

// order is the payload: ~100 bytes once JSON-encoded.
type order struct {
	ID     string `json:"id"`
	Amount int    `json:"amount"`
	Note   string `json:"note"`
}

var (
	thePayload = order{ID: "ord-0000000001", Amount: 4200, Note: strings.Repeat("x", 54)}
	rawPayload = func() json.RawMessage { b, _ := json.Marshal(thePayload); return b }()
)

func (b *bench) scenarios(counts []int) []scenario {
	var out []scenario
	for _, n := range counts {
		out = append(out,
			scenario{fmt.Sprintf("raw sarama SyncProducer, %d publishers", n), func(r int) (result, error) { return b.rawSync(r, n, false) }},
			scenario{fmt.Sprintf("raw sarama SyncProducer + CloudEvents headers, %d publishers", n), func(r int) (result, error) { return b.rawSync(r, n, true) }},
			scenario{fmt.Sprintf("engine publish, %d publishers", n), func(r int) (result, error) { return b.enginePublish(r, n, thePayload, false) }},
			scenario{fmt.Sprintf("engine publish json.RawMessage, %d publishers", n), func(r int) (result, error) { return b.enginePublish(r, n, rawPayload, false) }},
			scenario{fmt.Sprintf("engine publish async mode, %d publishers", n), func(r int) (result, error) { return b.enginePublish(r, n, thePayload, true) }},
		)
	}
	out = append(out,
		scenario{"raw sarama AsyncProducer pipelined (ceiling)", b.rawAsync},
		scenario{"raw sarama consumer group (backlog)", b.rawConsume},
		scenario{"raw sarama end-to-end (AsyncProducer + consumer group)", b.rawEndToEnd},
		scenario{"engine Subscribe (backlog)", func(r int) (result, error) { return b.engineConsume(r, false) }},
		scenario{"engine SubscribeAsync (backlog)", func(r int) (result, error) { return b.engineConsume(r, true) }},
		// Again after the engine, so that neither side always reads the
		// backlog first; the ratios use the better of the two.
		scenario{"raw sarama consumer group (backlog, again)", b.rawConsume},
	)
	for _, n := range counts {
		out = append(out,
			scenario{fmt.Sprintf("engine end-to-end, %d publishers", n), func(r int) (result, error) { return b.endToEnd(r, n, false) }},
			scenario{fmt.Sprintf("engine end-to-end async publish, %d publishers", n), func(r int) (result, error) { return b.endToEnd(r, n, true) }},
		)
	}
	return out
}

func (b *bench) engineConfig(extra map[string]any) kafka.Config {
	cfg := kafka.Config{
		Brokers:          b.addrs,
		AutoCreateTopics: true,
		TopicPartitions:  b.partitions,
		ProducerConfig:   map[string]string{},
		ConsumerConfig:   map[string]string{"initialOffset": "oldest"},
	}
	for k, v := range b.producer {
		cfg.ProducerConfig[k] = v
	}
	if async, ok := extra["async"]; ok && async.(bool) {
		cfg.ProducerConfig["async"] = "true"
	}
	return cfg
}

func (b *bench) newEngine(extra map[string]any) (*kafka.EventBus, error) {
	e, err := kafka.NewEventBus(b.engineConfig(extra))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e, e.Start(ctx)
}

func stop(e *kafka.EventBus) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_ = e.Stop(ctx)
}

func (b *bench) createTopic(name string) error {
	_, cfg, err := b.engineConfig(nil).Sarama()
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(b.addrs, cfg)
	if err != nil {
		return err
	}
	defer admin.Close()
	err = admin.CreateTopic(name, &sarama.TopicDetail{NumPartitions: b.partitions, ReplicationFactor: 1}, false)
	if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return err
	}
	return nil
}

// parallel runs n goroutines that together call fn events times.
func parallel(n, events int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var first atomic.Value
	for g := 0; g < n; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= events {
					return
				}
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}

func keyOf(i int) string { return fmt.Sprintf("k%03d", i%256) }

// ceHeaders are headers of the size and shape the engine writes (the
// CloudEvents binary-mode attributes), for the raw baseline that carries
// the same bytes per record as the engine.
var ceHeaders = []sarama.RecordHeader{
	{Key: []byte("ce_specversion"), Value: []byte("1.0")},
	{Key: []byte("ce_id"), Value: []byte("0123456789abcdef0123456789abcdef")},
	{Key: []byte("ce_source"), Value: []byte("switchyard")},
	{Key: []byte("ce_type"), Value: []byte("raw-sync-0-16")},
	{Key: []byte("ce_subject"), Value: []byte("raw-sync-0-16")},
	{Key: []byte("ce_time"), Value: []byte("2026-11-24T08:49:12.123456789Z")},
	{Key: []byte("ce_partitionkey"), Value: []byte("k001")},
	{Key: []byte("content-type"), Value: []byte("application/json")},
}

// rawSync: sarama's SyncProducer with the engine's producer settings,
// one SendMessage per event from n goroutines; with headers, each record
// also carries CloudEvents headers like the engine's.
func (b *bench) rawSync(round, n int, headers bool) (result, error) {
	topic := fmt.Sprintf("raw-sync-%d-%d-%v", round, n, headers)
	var hs []sarama.RecordHeader
	if headers {
		hs = ceHeaders
	}
	if err := b.createTopic(topic); err != nil {
		return result{}, err
	}
	pcfg, _, err := b.engineConfig(nil).Sarama()
	if err != nil {
		return result{}, err
	}
	p, err := sarama.NewSyncProducer(b.addrs, pcfg)
	if err != nil {
		return result{}, err
	}
	defer p.Close()
	keys := make([]sarama.StringEncoder, 256)
	for i := range keys {
		keys[i] = sarama.StringEncoder(keyOf(i))
	}
	value := sarama.ByteEncoder(rawPayload)
	return measure(b.events, func() error {
		return parallel(n, b.events, func(i int) error {
			_, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: keys[i%256], Value: value, Headers: hs})
			return err
		})
	})
}

// rawAsync: sarama's AsyncProducer fed as fast as it accepts, the ceiling
// of this client and broker.
func (b *bench) rawAsync(round int) (result, error) {
	topic := fmt.Sprintf("raw-async-%d", round)
	if err := b.createTopic(topic); err != nil {
		return result{}, err
	}
	pcfg, _, err := b.engineConfig(nil).Sarama()
	if err != nil {
		return result{}, err
	}
	p, err := sarama.NewAsyncProducer(b.addrs, pcfg)
	if err != nil {
		return result{}, err
	}
	keys := make([]sarama.StringEncoder, 256)
	for i := range keys {
		keys[i] = sarama.StringEncoder(keyOf(i))
	}
	value := sarama.ByteEncoder(rawPayload)
	res, err := measure(b.events, func() error {
		done := make(chan error, 1)
		go func() {
			var n int
			var firstErr error
			for n < b.events {
				select {
				case <-p.Successes():
				case e := <-p.Errors():
					if firstErr == nil {
						firstErr = e
					}
				}
				n++
			}
			done <- firstErr
		}()
		for i := 0; i < b.events; i++ {
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: keys[i%256], Value: value}
		}
		return <-done
	})
	p.AsyncClose()
	for range p.Successes() {
	}
	return res, err
}

// enginePublish: Publish from n goroutines.
func (b *bench) enginePublish(round, n int, payload any, async bool) (result, error) {
	kind := "obj"
	if _, ok := payload.(json.RawMessage); ok {
		kind = "raw"
	}
	topic := fmt.Sprintf("engine-pub-%s-%v-%d-%d", kind, async, round, n)
	if err := b.createTopic(topic); err != nil {
		return result{}, err
	}
	e, err := b.newEngine(map[string]any{"async": async})
	if err != nil {
		return result{}, err
	}
	// Warm the topic cache (the first Publish to a topic checks that it
	// exists) outside the measurement.
	if err := e.Publish(context.Background(), bus.Event{Topic: topic, Payload: payload}); err != nil {
		stop(e)
		return result{}, err
	}
	if b.backlog == "" || (kind == "obj" && !async) {
		b.backlog = topic
	}
	ctx := context.Background()
	keys := make([]map[string]any, 256)
	for i := range keys {
		keys[i] = map[string]any{bus.MetadataKeyPartition: keyOf(i)}
	}
	res, err := measure(b.events, func() error {
		err := parallel(n, b.events-1, func(i int) error {
			return e.Publish(ctx, bus.Event{Topic: topic, Payload: payload, Metadata: keys[i%256]})
		})
		if async {
			stop(e) // the async figure includes the final flush
		}
		return err
	})
	stop(e)
	return res, err
}

// rawConsume: a sarama consumer group reading the round's backlog topic
// from the oldest record, marking each.
func (b *bench) rawConsume(round int) (result, error) {
	if b.backlog == "" {
		return result{}, errors.New("no backlog topic: run the engine publish scenario first")
	}
	_, ccfg, err := b.engineConfig(nil).Sarama()
	if err != nil {
		return result{}, err
	}
	ccfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	var count atomic.Int64
	target := int64(b.events)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var g sarama.ConsumerGroup
	res, err := measure(b.events, func() error {
		var err error
		g, err = sarama.NewConsumerGroup(b.addrs, "raw-consume-"+enginekit.NewID(), ccfg)
		if err != nil {
			return err
		}
		h := &countingHandler{count: &count, target: target, done: cancel}
		errc := make(chan error, 1)
		go func() {
			for ctx.Err() == nil {
				if err := g.Consume(ctx, []string{b.backlog}, h); err != nil && ctx.Err() == nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		return <-errc
	})
	if g != nil {
		_ = g.Close()
	}
	return res, err
}

type countingHandler struct {
	count  *atomic.Int64
	target int64
	done   func()
	ready  chan struct{} // closed at the first Setup (nil: not needed)
	once   sync.Once
}

func (h *countingHandler) Setup(sarama.ConsumerGroupSession) error {
	if h.ready != nil {
		h.once.Do(func() { close(h.ready) })
	}
	return nil
}
func (h *countingHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h *countingHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for m := range c.Messages() {
		s.MarkMessage(m, "")
		if h.count.Add(1) == h.target {
			h.done()
		}
	}
	return nil
}

// engineConsume: an engine subscription reading the round's backlog topic
// from the oldest record (consumer initialOffset oldest).
func (b *bench) engineConsume(round int, async bool) (result, error) {
	if b.backlog == "" {
		return result{}, errors.New("no backlog topic: run the engine publish scenario first")
	}
	e, err := b.newEngine(nil)
	if err != nil {
		return result{}, err
	}
	defer stop(e)
	var count atomic.Int64
	done := make(chan struct{})
	target := int64(b.events)
	h := func(context.Context, bus.Event) error {
		if count.Add(1) == target {
			close(done)
		}
		return nil
	}
	return measure(b.events, func() error {
		var err error
		if async {
			_, err = e.SubscribeAsync(context.Background(), b.backlog, h)
		} else {
			_, err = e.Subscribe(context.Background(), b.backlog, h)
		}
		if err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-time.After(5 * time.Minute):
			return fmt.Errorf("only %d of %d events consumed", count.Load(), target)
		}
	})
}

// endToEnd: n publishers and one subscription on a fresh topic; from the
// first publish to the last handler call. With async, Publish returns once
// the record is queued in the producer.
func (b *bench) endToEnd(round, n int, async bool) (result, error) {
	topic := fmt.Sprintf("e2e-%d-%d-%v", round, n, async)
	if err := b.createTopic(topic); err != nil {
		return result{}, err
	}
	e, err := b.newEngine(map[string]any{"async": async})
	if err != nil {
		return result{}, err
	}
	defer stop(e)
	var count atomic.Int64
	done := make(chan struct{})
	target := int64(b.events)
	if _, err := e.Subscribe(context.Background(), topic, func(context.Context, bus.Event) error {
		if count.Add(1) == target {
			close(done)
		}
		return nil
	}); err != nil {
		return result{}, err
	}
	ctx := context.Background()
	keys := make([]map[string]any, 256)
	for i := range keys {
		keys[i] = map[string]any{bus.MetadataKeyPartition: keyOf(i)}
	}
	return measure(b.events, func() error {
		if err := parallel(n, b.events, func(i int) error {
			return e.Publish(ctx, bus.Event{Topic: topic, Payload: thePayload, Metadata: keys[i%256]})
		}); err != nil {
			return err
		}
		select {
		case <-done:
			return nil
		case <-time.After(5 * time.Minute):
			return fmt.Errorf("only %d of %d events handled", count.Load(), target)
		}
	})
}

// rawEndToEnd: a sarama consumer group on a fresh topic (joined first),
// then an AsyncProducer fed as fast as it accepts; from the first send to
// the last record consumed. The raw counterpart of the engine's
// end-to-end with async publish.
func (b *bench) rawEndToEnd(round int) (result, error) {
	topic := fmt.Sprintf("raw-e2e-%d", round)
	if err := b.createTopic(topic); err != nil {
		return result{}, err
	}
	pcfg, ccfg, err := b.engineConfig(nil).Sarama()
	if err != nil {
		return result{}, err
	}
	ccfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	g, err := sarama.NewConsumerGroup(b.addrs, fmt.Sprintf("raw-e2e-%d", round), ccfg)
	if err != nil {
		return result{}, err
	}
	defer g.Close()
	p, err := sarama.NewAsyncProducer(b.addrs, pcfg)
	if err != nil {
		return result{}, err
	}
	defer func() {
		p.AsyncClose()
		for range p.Successes() {
		}
	}()
	go func() {
		for range p.Errors() {
		}
	}()
	var count atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan struct{})
	h := &countingHandler{count: &count, target: int64(b.events), done: cancel, ready: ready}
	errc := make(chan error, 1)
	go func() {
		for ctx.Err() == nil {
			if err := g.Consume(ctx, []string{topic}, h); err != nil && ctx.Err() == nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	select {
	case <-ready:
	case err := <-errc:
		return result{}, fmt.Errorf("consumer group: %v", err)
	}
	keys := make([]sarama.StringEncoder, 256)
	for i := range keys {
		keys[i] = sarama.StringEncoder(keyOf(i))
	}
	value := sarama.ByteEncoder(rawPayload)
	return measure(b.events, func() error {
		go func() {
			for range p.Successes() {
			}
		}()
		for i := 0; i < b.events; i++ {
			p.Input() <- &sarama.ProducerMessage{Topic: topic, Key: keys[i%256], Value: value, Headers: ceHeaders}
		}
		return <-errc
	})
}
