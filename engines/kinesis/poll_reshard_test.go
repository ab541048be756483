package kinesis

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestPollAcrossResharding polls a topic while its stream is split and
// merged under a publisher of 8 keys: every event comes once, each key's
// in order, because a child shard is read only after the cursor has read
// its parents to their end. One poller runs throughout in pages of 37;
// another starts once everything is published, with pages of 200 and
// GetRecords calls of 50 records, so that a page could hold a child's
// records while its parent still has unread ones (merging by time alone
// would then put them out of order).
func TestPollAcrossResharding(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.ShardCount = 1
	cfg.MaxRecordsPerRead = 50
	// The engine's periodic shard sync does not come during the test:
	// polls find the children themselves (they list the shards when the
	// engine's list is over a second old, or when they read a parent to
	// its end).
	cfg.ShardSyncInterval = bus.Duration(time.Hour)
	b := started(t, cfg)
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"}
	waitActive := func() {
		t.Helper()
		testutil.Eventually(t, 10*time.Second, "the stream to be ACTIVE", func() bool {
			out, err := b.client.DescribeStreamSummary(testCtx(t), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(cfg.StreamName)})
			return err == nil && out.StreamDescriptionSummary.StreamStatus == types.StreamStatusActive
		})
	}

	// The poller runs throughout, so it meets parents half read.
	var (
		mu     sync.Mutex
		got    []bus.Event
		cursor string
	)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
			}
			res, err := b.Poll(context.Background(), "moves", bus.ConsumeRequest{Limit: 37, Cursor: cursor})
			if err != nil {
				t.Errorf("Poll: %v", err)
				return
			}
			if res.Gap {
				t.Errorf("Poll reported a gap")
			}
			mu.Lock()
			got = append(got, res.Events...)
			mu.Unlock()
			cursor = res.Cursor
			time.Sleep(5 * time.Millisecond)
		}
	}()
	stopPoller := func() {
		select {
		case <-quit:
		default:
			close(quit)
		}
		<-done
	}
	t.Cleanup(stopPoller)

	var sent []string
	n := 240 // the first 240 are published during the split
	phase := func() {
		sent = append(sent, publishKeyed(t, b, "moves", keys, n, 240)...)
		n += 240
	}
	var wg sync.WaitGroup
	wg.Add(1)
	var during []string
	go func() {
		defer wg.Done()
		during = publishKeyed(t, b, "moves", keys, 0, 240)
	}()
	half := new(big.Int).Lsh(big.NewInt(1), 127)
	if _, err := b.client.SplitShard(testCtx(t), &kinesis.SplitShardInput{
		StreamName: aws.String(cfg.StreamName), ShardToSplit: aws.String("shardId-000000000000"), NewStartingHashKey: aws.String(half.String()),
	}); err != nil {
		t.Fatalf("SplitShard: %v", err)
	}
	wg.Wait()
	sent = append(sent, during...)
	waitActive()
	phase()
	if _, err := b.client.MergeShards(testCtx(t), &kinesis.MergeShardsInput{
		StreamName: aws.String(cfg.StreamName), ShardToMerge: aws.String("shardId-000000000001"), AdjacentShardToMerge: aws.String("shardId-000000000002"),
	}); err != nil {
		t.Fatalf("MergeShards: %v", err)
	}
	waitActive()
	phase()

	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("%d events polled", len(sent)), func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= len(sent)
	})
	stopPoller()
	set, err := b.listShards(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.list) != 4 {
		t.Fatalf("stream has %d shards, want 4 (parent, two children, merged)", len(set.list))
	}
	checkOnceInOrder(t, got, sent)
	lagging, _ := pollUntil(t, b, "moves", "", bus.ConsumeRequest{Limit: 200}, len(sent), 20*time.Second)
	checkOnceInOrder(t, lagging, sent)

	// The cursor has read the parents to their end: only the merged
	// shard is still named.
	c, err := decodeCursor(cursor, cfg.StreamName, "moves")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Pos["shardId-000000000003"]; len(c.Pos) != 1 || !ok {
		t.Errorf("cursor positions %v: want only shardId-000000000003's", c.Pos)
	}
}

// Kinesalite never trims records (its retention is at least 24 hours), so
// the gap is made the other way a position stops being retained: the
// stream is deleted and created again under the same name. Kinesis then
// refuses the old sequence numbers of shardId-000000000000
// (InvalidArgumentException), and the old stream's other shards are no
// longer listed.
func TestPollGap(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.ShardCount = 3
	keys := []string{"a", "b", "c", "d", "e", "f"}

	t.Run("positions no longer retained report a gap and continue at the oldest retained record", func(t *testing.T) {
		b1 := started(t, cfg)
		made := time.Now()
		old := publishKeyed(t, b1, "gap.t", keys, 0, 30)
		got, cursor := pollUntil(t, b1, "gap.t", "", bus.ConsumeRequest{Limit: 100}, len(old), 10*time.Second)
		checkOnceInOrder(t, got, old)
		c, err := decodeCursor(cursor, cfg.StreamName, "gap.t")
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Pos) != 3 {
			t.Fatalf("cursor positions %v: want one per shard", c.Pos)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := b1.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		// Kinesalite tells a stream's sequence numbers from another's by
		// the creation time in whole seconds: the new stream must be
		// created in a later second than the old one (created before
		// made), or it would take the old positions as its own (Kinesis
		// never would).
		time.Sleep(time.Until(made.Truncate(time.Second).Add(1100 * time.Millisecond)))
		if _, err := b1.client.DeleteStream(testCtx(t), &kinesis.DeleteStreamInput{StreamName: aws.String(cfg.StreamName)}); err != nil {
			t.Fatalf("DeleteStream: %v", err)
		}
		testutil.Eventually(t, 10*time.Second, "the stream to be deleted", func() bool {
			_, err := b1.client.DescribeStreamSummary(testCtx(t), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(cfg.StreamName)})
			var nf *types.ResourceNotFoundException
			return errors.As(err, &nf)
		})

		again := cfg
		again.ShardCount = 1
		b2 := started(t, again)
		fresh := publishKeyed(t, b2, "gap.t", keys, 100, 20)
		res, err := b2.Poll(testCtx(t), "gap.t", bus.ConsumeRequest{Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatalf("Poll with the old cursor: %v", err)
		}
		if !res.Gap {
			t.Fatalf("Poll with positions of a deleted stream: no gap reported (%d events)", len(res.Events))
		}
		rest, _ := pollUntil(t, b2, "gap.t", res.Cursor, bus.ConsumeRequest{Limit: 100}, len(fresh)-len(res.Events), 10*time.Second)
		checkOnceInOrder(t, append(res.Events, rest...), fresh)
	})
}
