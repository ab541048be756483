package kinesis

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// shard is one shard of the stream as ListShards described it.
type shard struct {
	id             string
	parent         string // "" for an original shard
	adjacentParent string // the other parent of a merge
	startHash      *big.Int
	endHash        *big.Int
	closed         bool // has an ending sequence number: split or merged away
}

// parents returns the shard's parents (zero, one, or two after a merge).
func (s *shard) parents() []string {
	var out []string
	if s.parent != "" {
		out = append(out, s.parent)
	}
	if s.adjacentParent != "" {
		out = append(out, s.adjacentParent)
	}
	return out
}

// hasParent reports whether id is one of the shard's parents.
func (s *shard) hasParent(id string) bool {
	return id != "" && (s.parent == id || s.adjacentParent == id)
}

// shardSet is an immutable snapshot of the stream's shards.
type shardSet struct {
	list []*shard // sorted by id (creation order)
	byID map[string]*shard
	at   time.Time
}

func (s *shardSet) get(id string) *shard {
	if s == nil {
		return nil
	}
	return s.byID[id]
}

// open returns the shards that accept writes.
func (s *shardSet) open() []*shard {
	var out []*shard
	for _, sh := range s.list {
		if !sh.closed {
			out = append(out, sh)
		}
	}
	return out
}

// forKey returns the open shard whose hash key range holds the MD5 of
// partition key pk, as Kinesis routes a record, or nil.
func (s *shardSet) forKey(pk string) *shard {
	sum := md5.Sum([]byte(pk))
	h := new(big.Int).SetBytes(sum[:])
	for _, sh := range s.list {
		if !sh.closed && h.Cmp(sh.startHash) >= 0 && h.Cmp(sh.endHash) <= 0 {
			return sh
		}
	}
	return nil
}

// listShards pages through ListShards by stream name (kinesalite does not
// take stream ARNs).
func (b *EventBus) listShards(ctx context.Context) (*shardSet, error) {
	set := &shardSet{byID: map[string]*shard{}, at: time.Now()}
	in := &kinesis.ListShardsInput{StreamName: aws.String(b.cfg.StreamName)}
	for {
		out, err := b.client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("kinesis: list shards of %q: %w", b.cfg.StreamName, err)
		}
		for _, s := range out.Shards {
			sh := &shard{id: aws.ToString(s.ShardId), parent: aws.ToString(s.ParentShardId), adjacentParent: aws.ToString(s.AdjacentParentShardId)}
			if s.SequenceNumberRange != nil && s.SequenceNumberRange.EndingSequenceNumber != nil {
				sh.closed = true
			}
			sh.startHash, sh.endHash = new(big.Int), new(big.Int)
			if s.HashKeyRange != nil {
				sh.startHash.SetString(aws.ToString(s.HashKeyRange.StartingHashKey), 10)
				sh.endHash.SetString(aws.ToString(s.HashKeyRange.EndingHashKey), 10)
			}
			if set.byID[sh.id] == nil {
				set.byID[sh.id] = sh
				set.list = append(set.list, sh)
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	slices.SortFunc(set.list, func(a, b *shard) int {
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return set, nil
}

// refreshShards lists the shards and publishes the snapshot. Concurrent
// callers share one ListShards call: a caller that waited for the lock
// returns the snapshot taken meanwhile.
func (b *EventBus) refreshShards(ctx context.Context) (*shardSet, error) {
	asked := time.Now()
	b.shardMu.Lock()
	defer b.shardMu.Unlock()
	if cur := b.shards.Load(); cur != nil && !cur.at.Before(asked) {
		return cur, nil
	}
	set, err := b.listShards(ctx)
	if err != nil {
		return nil, err
	}
	b.shards.Store(set)
	return set, nil
}

// partitionKey returns the Kinesis partition key of an event key: the key
// itself, or its MD5 in hex when longer than Kinesis accepts (still one
// stable key per event key, so per-key order holds).
func partitionKey(key string) string {
	if len(key) == 0 {
		return "-"
	}
	if len(key) <= MaxPartitionKeyLength {
		return key
	}
	sum := md5.Sum([]byte(key))
	return hex.EncodeToString(sum[:])
}
