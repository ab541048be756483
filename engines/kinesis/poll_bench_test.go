package kinesis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
	"github.com/switchyard-go/eventbus/internal/busbench"
)

// BenchmarkPoll reads the same 5,000 events (2 shards, 10 keys) from the
// oldest record, each round twice, interleaved: with Poll in pages of 256,
// and with a bare loop of GetShardIterator(TRIM_HORIZON) and GetRecords
// (Limit 256) per shard that decodes each record the same way (the
// baseline: what Poll costs beyond the Kinesis calls). It reports the
// median events/s of each and their ratio.
//
//	go test ./engines/kinesis -run '^$' -bench BenchmarkPoll -benchtime 5x
func BenchmarkPoll(b *testing.B) {
	const events, page = 5000, 256
	cfg := testConfig(kinesalite.Endpoint())
	cfg.AsyncPublish = true
	eb := started(b, cfg)
	ctx := context.Background()
	for i := range events {
		k := fmt.Sprintf("k%d", i%10)
		if err := eb.Publish(ctx, bus.Event{Topic: "bench", Payload: map[string]any{"i": i, "key": k}, Metadata: map[string]any{bus.MetadataKeyPartition: k}}); err != nil {
			b.Fatal(err)
		}
	}
	if err := eb.producer.Load().barrier(ctx); err != nil {
		b.Fatal(err)
	}
	set, err := eb.listShards(ctx)
	if err != nil {
		b.Fatal(err)
	}

	poll := func() int {
		n, cursor := 0, ""
		for {
			res, err := eb.Poll(ctx, "bench", bus.ConsumeRequest{Limit: page, Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			n += len(res.Events)
			if len(res.Events) == 0 && res.Cursor == cursor {
				return n
			}
			cursor = res.Cursor
		}
	}
	raw := func() int {
		n := 0
		for _, sh := range set.list {
			it, err := eb.client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(cfg.StreamName), ShardId: aws.String(sh.id), ShardIteratorType: types.ShardIteratorTypeTrimHorizon})
			if err != nil {
				b.Fatal(err)
			}
			next := it.ShardIterator
			for next != nil {
				out, err := eb.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: next, Limit: aws.Int32(page)}, noRetry)
				if err != nil {
					b.Fatal(err)
				}
				for _, r := range out.Records {
					if isMarker(r.Data) {
						continue
					}
					if env, err := brokerkit.DecodeStructured(r.Data); err == nil && env.Event.Topic == "bench" {
						n++
					}
				}
				if len(out.Records) == 0 {
					break
				}
				next = out.NextShardIterator
			}
		}
		return n
	}
	rate := func(read func() int) float64 {
		start := time.Now()
		if n := read(); n != events {
			b.Fatalf("read %d events, want %d", n, events)
		}
		return events / time.Since(start).Seconds()
	}
	var polled, bare []float64
	b.ResetTimer()
	for range b.N {
		polled = append(polled, rate(poll))
		bare = append(bare, rate(raw))
	}
	b.StopTimer()
	mp, mr := busbench.Median(polled), busbench.Median(bare)
	b.ReportMetric(mp, "poll-events/s")
	b.ReportMetric(mr, "getrecords-events/s")
	b.ReportMetric(mp/mr, "ratio")
}
