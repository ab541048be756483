package kinesis

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
)

// Start markers.
//
// A new subscription must receive every event published after Subscribe
// returned. A LATEST iterator obtained when the reader first polls would
// miss the events published in between (upstream's loss window), and
// AT_TIMESTAMP depends on clocks (and hangs kinesalite when no record is
// newer). So Subscribe writes one small marker record into each open
// shard (ExplicitHashKey = the shard's first hash key) and stores, as the
// consumer's start position for that shard, the marker's sequence number:
// the reader starts AFTER_SEQUENCE_NUMBER it. Sequence numbers grow with
// time within a shard, so every record written after Subscribe returned
// comes after the marker. Closed shards hold only older records: their
// start position is ShardEnd. The positions are durable (checkpoint
// store), so a Stop before the first poll loses nothing either.
//
// Markers are valid CloudEvents of type markerType with no subject; every
// Switchyard reader skips them by their fixed prefix, before decoding.

const markerType = "io.switchyard.kinesis.marker"

var markerPrefix = []byte(`{"specversion":"1.0","type":"` + markerType + `"`)

func isMarker(data []byte) bool { return bytes.HasPrefix(data, markerPrefix) }

func markerData(source string) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","type":%q,"id":%q,"source":%q}`, markerType, enginekit.NewID(), source)
}

// startPositions writes the markers and returns shard → start position.
func (b *EventBus) startPositions(ctx context.Context) (map[string]string, error) {
	set := b.shards.Load()
	for attempt := 1; ; attempt++ {
		if set == nil {
			var err error
			if set, err = b.refreshShards(ctx); err != nil {
				return nil, err
			}
		}
		pos, stale, err := b.writeMarkers(ctx, set)
		if err != nil {
			return nil, err
		}
		if !stale {
			return pos, nil
		}
		if attempt >= 10 {
			return nil, fmt.Errorf("kinesis: the shards of %q keep changing; could not place start markers", b.cfg.StreamName)
		}
		set = nil // resharded meanwhile: list again
	}
}

// writeMarkers puts one marker per open shard of set. stale reports that
// a marker landed in another shard than aimed at (the stream was
// resharded since set was listed).
func (b *EventBus) writeMarkers(ctx context.Context, set *shardSet) (pos map[string]string, stale bool, err error) {
	pos = map[string]string{}
	var open []*shard
	for _, sh := range set.list {
		if sh.closed {
			pos[sh.id] = checkpoint.ShardEnd
		} else {
			open = append(open, sh)
		}
	}
	pending := open
	backoff := b.cfg.PublishBackoff.Std()
	for len(pending) > 0 {
		entries := make([]types.PutRecordsRequestEntry, len(pending))
		for i, sh := range pending {
			entries[i] = types.PutRecordsRequestEntry{
				Data:            markerData(b.cfg.Source),
				PartitionKey:    aws.String("switchyard-marker"),
				ExplicitHashKey: aws.String(sh.startHash.String()),
			}
		}
		out, err := b.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(b.cfg.StreamName), Records: entries})
		if err != nil {
			return nil, false, fmt.Errorf("write start markers: %w", err)
		}
		var again []*shard
		for i, rr := range out.Records {
			switch {
			case rr.ErrorCode != nil && *rr.ErrorCode != "":
				again = append(again, pending[i])
			case aws.ToString(rr.ShardId) != pending[i].id:
				stale = true
			default:
				pos[pending[i].id] = aws.ToString(rr.SequenceNumber)
			}
		}
		if stale {
			return nil, true, nil
		}
		pending = again
		if len(pending) > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, false, ctx.Err()
			case <-t.C:
			}
			backoff = min(2*backoff, b.cfg.PublishBackoffMax.Std())
		}
	}
	return pos, false, nil
}
