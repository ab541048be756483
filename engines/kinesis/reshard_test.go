package kinesis

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestResharding splits the stream's only shard, then merges the two
// children back, while events of 8 keys are being published, and checks
// that every key's events arrive complete and in order: a child is read
// only after its parents were read to their end.
func TestResharding(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.ShardCount = 1
	b := started(t, cfg)
	var rec recorder
	if _, err := b.Subscribe(testCtx(t), "moves", rec.Handle); err != nil {
		t.Fatal(err)
	}
	const keys, perPhase = 8, 40
	n := 0
	publish := func() {
		t.Helper()
		for i := 0; i < perPhase; i++ {
			for k := 0; k < keys; k++ {
				e := bus.Event{Topic: "moves", Payload: fmt.Sprintf("k%d:%05d", k, n), Metadata: map[string]any{bus.MetadataKeyPartition: fmt.Sprintf("key-%d", k)}}
				if err := b.Publish(testCtx(t), e); err != nil {
					t.Fatalf("publish: %v", err)
				}
			}
			n++
		}
	}
	waitActive := func() {
		t.Helper()
		testutil.Eventually(t, 10*time.Second, "the stream to be ACTIVE", func() bool {
			out, err := b.client.DescribeStreamSummary(testCtx(t), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(cfg.StreamName)})
			return err == nil && out.StreamDescriptionSummary.StreamStatus == "ACTIVE"
		})
	}

	// Publishing goes on in the background across both reshards.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		publish()
	}()
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	if _, err := b.client.SplitShard(testCtx(t), &kinesis.SplitShardInput{
		StreamName: aws.String(cfg.StreamName), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(half.String()),
	}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	wg.Wait()
	waitActive()
	publish()
	if _, err := b.client.MergeShards(testCtx(t), &kinesis.MergeShardsInput{
		StreamName: aws.String(cfg.StreamName), ShardToMerge: aws.String("shardId-000000000001"), AdjacentShardToMerge: aws.String("shardId-000000000002"),
	}); err != nil {
		t.Fatalf("MergeShards: %v", err)
	}
	waitActive()
	publish()

	total := keys * n
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d events", total), func() bool { return rec.Count() >= total })
	set, err := b.listShards(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.list) != 4 {
		t.Fatalf("stream has %d shards, want 4 (parent, two children, merged)", len(set.list))
	}
	last := map[string]int{}
	counts := map[string]int{}
	for _, p := range rec.Payloads() {
		counts[p]++
		k, num, _ := strings.Cut(p, ":")
		v, _ := strconv.Atoi(num)
		if prev, ok := last[k]; ok && v <= prev {
			t.Errorf("key %s: %05d after %05d: out of order across resharding", k, v, prev)
		}
		last[k] = v
	}
	for p, c := range counts {
		if c != 1 {
			t.Errorf("%s delivered %d times", p, c)
		}
	}
	if rec.Count() != total {
		t.Errorf("delivered %d, want %d", rec.Count(), total)
	}
}
