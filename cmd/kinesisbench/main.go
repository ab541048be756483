// Command kinesisbench measures the Kinesis engine: publish and
// end-to-end events per second with concurrent publishers, the records per
// PutRecords call and the share of records sent in full 500-record
// batches, and, in rate-limited mode, the per-shard write and read rates
// against the service limits (1,000 records/s and 1 MiB/s written, 5
// GetRecords/s per shard).
//
// Without -endpoint it starts a private kinesalite (test/kinesis, installed
// by ./scripts/test-deps.sh) on a free 127.0.0.1 port:
//
//	go run ./cmd/kinesisbench -events 50000 -publishers 8 -shards 4
//	go run ./cmd/kinesisbench -rate-limited -events 8000 -shards 2
//
// kinesalite is not the service: the figures show the engine's shape
// (batching, pipelining, limits respected), not AWS throughput.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kinesis"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func main() {
	var (
		endpoint    = flag.String("endpoint", "", "Kinesis endpoint (default: start a private kinesalite)")
		events      = flag.Int("events", 50000, "events to publish")
		publishers  = flag.Int("publishers", 8, "concurrent publisher goroutines")
		shards      = flag.Int("shards", 4, "shards of the benchmark stream")
		payload     = flag.Int("payload", 100, "payload size in bytes")
		async       = flag.Bool("async", true, "asyncPublish: Publish returns once queued (false: once Kinesis accepted the record)")
		rateLimited = flag.Bool("rate-limited", false, "hold the engine to the service's per-shard limits")
		flush       = flag.Duration("flush", 5*time.Millisecond, "flushInterval")
		inflight    = flag.Int("inflight", 1, "maxInFlightBatches")
		subscribe   = flag.Bool("subscribe", true, "measure end-to-end delivery with one subscription")
	)
	flag.Parse()
	if err := run(*endpoint, *events, *publishers, *shards, *payload, *async, *rateLimited, *flush, *inflight, *subscribe); err != nil {
		fmt.Fprintln(os.Stderr, "kinesisbench:", err)
		os.Exit(1)
	}
}

func run(endpoint string, events, publishers, shards, payloadSize int, async, rateLimited bool, flush time.Duration, inflight int, subscribe bool) error {
	if endpoint == "" {
		k, err := testinfra.NewKinesalite(testinfra.KinesaliteOptions{})
		if err != nil {
			return err
		}
		defer k.Close()
		endpoint = k.Endpoint()
	}
	cfg := kinesis.Config{
		Region:             "us-east-1",
		StreamName:         "bench" + enginekit.NewID()[:8],
		AccessKeyID:        "AKIDBENCH",
		SecretAccessKey:    "secret",
		Endpoint:           endpoint,
		CreateStream:       true,
		ShardCount:         int32(shards),
		AsyncPublish:       async,
		RateLimited:        rateLimited,
		FlushInterval:      bus.Duration(flush),
		MaxInFlightBatches: inflight,
		PublishBufferSize:  max(10000, 2*events),
		PollInterval:       bus.Duration(20 * time.Millisecond),
	}
	if rateLimited {
		cfg.PollInterval = bus.Duration(200 * time.Millisecond)
	}
	b, err := kinesis.NewEventBus(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		_ = b.Close(sctx)
	}()

	var received atomic.Int64
	var lastAt atomic.Int64
	if subscribe {
		_, err := b.Subscribe(ctx, "bench.*", func(context.Context, bus.Event) error {
			received.Add(1)
			lastAt.Store(time.Now().UnixNano())
			return nil
		})
		if err != nil {
			return err
		}
	}
	body := strings.Repeat("x", payloadSize)
	before := b.ProducerStats()
	readsBefore := b.GetRecordsCalls()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	per := events / publishers
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				e := bus.Event{Topic: "bench.load", Payload: body, Metadata: map[string]any{bus.MetadataKeyPartition: fmt.Sprintf("p%d-%d", p, i%64)}}
				if err := b.Publish(ctx, e); err != nil {
					failed.CompareAndSwap(nil, fmt.Sprint(err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f != nil {
		return fmt.Errorf("publish: %v", f)
	}
	total := per * publishers
	// Asynchronous publishes are done once every record was sent.
	for b.ProducerStats().Records-before.Records-(b.ProducerStats().RetriedRecords-before.RetriedRecords) < uint64(total) {
		time.Sleep(time.Millisecond)
	}
	pubElapsed := time.Since(start)
	if subscribe {
		for received.Load() < int64(total) {
			if time.Since(start) > 20*time.Minute {
				return fmt.Errorf("only %d of %d events delivered", received.Load(), total)
			}
			time.Sleep(time.Millisecond)
		}
	}
	e2eElapsed := time.Duration(lastAt.Load() - start.UnixNano())
	ps := b.ProducerStats()
	calls := ps.Calls - before.Calls
	records := ps.Records - before.Records
	full := ps.FullBatchRecords - before.FullBatchRecords
	reads := b.GetRecordsCalls() - readsBefore

	mode := "sync"
	if async {
		mode = "async"
	}
	fmt.Printf("kinesisbench: %d events of %d B, %d publishers (%s publish), %d shards, rateLimited=%v, flushInterval=%v, maxInFlightBatches=%d\n",
		total, payloadSize, publishers, mode, shards, rateLimited, flush, inflight)
	fmt.Printf("publish:     %8.0f events/s (%v)\n", float64(total)/pubElapsed.Seconds(), pubElapsed.Round(time.Millisecond))
	if subscribe {
		fmt.Printf("end-to-end:  %8.0f events/s (%v, last delivery)\n", float64(total)/e2eElapsed.Seconds(), e2eElapsed.Round(time.Millisecond))
	}
	fmt.Printf("PutRecords:  %d calls, %.1f records/call, %.1f%% of records in full 500-record batches, %d retried, %d throttled calls\n",
		calls, float64(records)/float64(max(calls, 1)), 100*float64(full)/float64(max(records, 1)), ps.RetriedRecords-before.RetriedRecords, ps.ThrottledCalls-before.ThrottledCalls)
	perShardWrite := float64(total) / pubElapsed.Seconds() / float64(shards)
	perShardRead := float64(reads) / e2eElapsed.Seconds() / float64(shards)
	fmt.Printf("per shard:   %.0f records/s written (limit 1000), %.1f GetRecords/s (limit 5)\n", perShardWrite, perShardRead)
	return nil
}
