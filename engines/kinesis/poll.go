package kinesis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

var _ bus.Poller = (*EventBus)(nil)

// Bounds of one Poll.
const (
	// minPollFetch is the smallest GetRecords Limit a poll asks for, so
	// that a small Limit with a selective filter, or many records of
	// other topics, still moves the cursor well ahead per call.
	minPollFetch = 100
	// maxEmptyHops is how many GetRecords calls a poll makes in one shard
	// while they return no record although the shard holds newer ones
	// (MillisBehindLatest > 0): Kinesis may return an empty page for a
	// stretch of the shard with no record, and only its iterator, which a
	// cursor cannot hold, moves past it. 5 is one second of the shard's
	// read budget.
	maxEmptyHops = 5
	// pollParallel is how many shards one poll reads at once.
	pollParallel = 8
	// pollListMaxAge is how old the engine's shard list may be when a
	// poll starts before the poll lists the shards again, so that polls
	// see a split or merge within that time without waiting for the
	// engine's shardSyncInterval.
	pollListMaxAge = time.Second
	// maxPollRounds bounds the rounds of one poll. A round reads every
	// readable shard once; another round follows only when the first
	// returned no event but consumed records that did not match (other
	// topics, the filter) and a shard may hold more, or a shard ended so
	// that its children became readable. Each further round asks
	// GetRecords for 4 times as many records (up to maxRecordsPerRead).
	// An empty page therefore means, in practice, that the poll caught
	// up.
	maxPollRounds = 4
)

// Poll reads the events of topic (a pattern, as for Subscribe) retained
// in the stream after req.Cursor, without a consumer group, checkpoint or
// lease: several pollers with their own cursors each read every event,
// and subscriptions are not affected.
//
// It never waits for events: it reads each readable shard once (one
// GetShardIterator and one GetRecords call, a few more only while Kinesis
// returns empty pages of a shard that holds newer records) and returns
// what matched, possibly nothing, with the cursor to continue from. When
// that round found no matching event but skipped records and a shard may
// hold more, up to 3 more rounds follow with larger GetRecords pages (see
// maxPollRounds), so an empty page means the poll caught up, in practice.
// In rate-limited mode each GetRecords call takes its turn in the
// engine's budget of 5 calls per second per shard, shared with the
// subscriptions' readers, so a poll may wait up to 200ms per call for it.
//
// Events are decoded as subscribers receive them; records of other
// topics, records the filter rejects, start markers and records that are
// not CloudEvents are skipped (the cursor moves past them). One shard's
// events come in sequence order, so one partition key's events in publish
// order; the events of several shards are merged by creation time. A
// child shard (split or merge) is read only once the cursor has read its
// parents to their end, when they are still listed and polled. At most
// req.Limit events are returned; the first round asks GetRecords for
// req.Limit divided by the shards read, at least 100 and at most
// maxRecordsPerRead, so a page may hold fewer than req.Limit events when
// the keys are spread unevenly.
//
// req.Cursor "" starts at the oldest retained record of every shard;
// bus.CursorLatest writes one start marker record per open shard (as
// Subscribe does) and returns no event and a cursor after them. req.Shards
// selects shards by index in the stream's shard list (ListShards order,
// which is by shard id: closed shards included, until Kinesis deletes
// them); keep the same Shards for one cursor.
//
// When a position in the cursor is no longer retained (Kinesis refuses
// the sequence number, or the shard is no longer listed), the poll reads
// that shard from its oldest retained record and sets Gap.
//
// Errors: those of enginekit.ValidateConsumeRequest; an error wrapping
// bus.ErrInvalidConsumeRequest for an invalid filter or a shard index
// the stream does not have; bus.ErrInvalidCursor for a cursor this engine
// did not produce for this stream and topic; bus.ErrEventBusNotStarted
// before Start and after Stop; the SDK's error (wrapped, shard named)
// when a Kinesis call fails, throttling included: nothing is consumed
// then, so calling again later with the same cursor loses nothing. A nil
// ctx is context.Background(); ctx bounds every call. Safe for concurrent
// use.
func (b *EventBus) Poll(ctx context.Context, topic string, req bus.ConsumeRequest) (bus.ConsumeResponse, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := enginekit.ValidateConsumeRequest(topic, req); err != nil {
		return bus.ConsumeResponse{}, err
	}
	if req.Filter != nil {
		if err := req.Filter.Err(); err != nil {
			return bus.ConsumeResponse{}, fmt.Errorf("kinesis: poll %q: %w: filter: %w", topic, bus.ErrInvalidConsumeRequest, err)
		}
	}
	b.mu.Lock()
	started := b.started
	b.mu.Unlock()
	if !started {
		return bus.ConsumeResponse{}, bus.ErrEventBusNotStarted
	}
	if req.Cursor == bus.CursorLatest {
		return b.pollLatest(ctx, topic, req)
	}
	cur := &pollCursor{Stream: b.cfg.StreamName, Topic: topic, Pos: map[string]string{}}
	if req.Cursor != "" {
		var err error
		if cur, err = decodeCursor(req.Cursor, b.cfg.StreamName, topic); err != nil {
			return bus.ConsumeResponse{}, err
		}
	}
	set, err := b.pollShards(ctx, cur)
	if err != nil {
		return bus.ConsumeResponse{}, err
	}
	if time.Since(set.at) > pollListMaxAge {
		// The engine's list may predate a split or merge: a poll sees
		// one within pollListMaxAge (at most one ListShards a second per
		// engine). On error the older list serves; the next poll tries
		// again.
		if fresh, err := b.refreshShards(ctx); err == nil {
			set = fresh
		}
	}
	scope, err := shardScope(set, req.Shards, topic)
	if err != nil {
		return bus.ConsumeResponse{}, err
	}
	var res bus.ConsumeResponse
	next := cur.clone()
	for id, p := range cur.Pos {
		if set.get(id) == nil && p != posEnd {
			// Closed shards are deleted from the list once their
			// records expired: what followed the position is gone.
			res.Gap = true
		}
	}
	next.prune(set)
	grow := 1
	for round := 1; ; round++ {
		frontier := readable(set, next, scope)
		fetch := pollFetch(req.Limit, len(frontier), grow, b.cfg.MaxRecordsPerRead)
		batches, err := b.fetchShards(ctx, topic, req.Filter, frontier, next.Pos, fetch)
		if err != nil {
			// Earlier rounds returned no event: nothing is lost by
			// returning the error with no cursor.
			return bus.ConsumeResponse{}, err
		}
		res.Events = mergeBatches(batches, req.Limit)
		more := false
		for _, bt := range batches {
			res.Gap = res.Gap || bt.gap
			before, had := next.Pos[bt.shard]
			bt.advance(next.Pos)
			after, has := next.Pos[bt.shard]
			moved := had != has || before != after
			more = more || (moved && (bt.end || len(bt.recs) >= int(fetch)))
			if bt.end && !hasChild(set, bt.shard) {
				// Its children are newer than the engine's shard
				// list (refreshed every shardSyncInterval): list
				// them now rather than stall until then.
				if fresh, err := b.refreshShards(ctx); err == nil {
					set = fresh
				}
			}
		}
		next.prune(set)
		if len(res.Events) > 0 || !more || round == maxPollRounds {
			break
		}
		grow *= 4
	}
	res.Cursor = next.encode()
	return res, nil
}

// hasChild reports whether set lists a child of shard id.
func hasChild(set *shardSet, id string) bool {
	for _, sh := range set.list {
		if sh.hasParent(id) {
			return true
		}
	}
	return false
}

// pollFetch returns the GetRecords Limit of a round over shards shards:
// the request's Limit shared between them (records read beyond what a page
// returns are read again by the next poll), at least minPollFetch, grown
// by grow in later rounds, at most maxRead.
func pollFetch(limit, shards, grow int, maxRead int32) int32 {
	per := max((limit+max(shards, 1)-1)/max(shards, 1), minPollFetch)
	return int32(min(int64(per)*int64(grow), int64(maxRead)))
}

// pollLatest answers bus.CursorLatest: a cursor after a start marker in
// every open shard (closed shards at their end), and no event.
func (b *EventBus) pollLatest(ctx context.Context, topic string, req bus.ConsumeRequest) (bus.ConsumeResponse, error) {
	set, err := b.pollShards(ctx, nil)
	if err != nil {
		return bus.ConsumeResponse{}, err
	}
	if _, err := shardScope(set, req.Shards, topic); err != nil {
		return bus.ConsumeResponse{}, err
	}
	pos, err := b.startPositions(ctx)
	if err != nil {
		return bus.ConsumeResponse{}, fmt.Errorf("kinesis: poll %q from the latest record: %w", topic, err)
	}
	cur := &pollCursor{Stream: b.cfg.StreamName, Topic: topic, Pos: map[string]string{}}
	for id, p := range pos {
		if p == checkpoint.ShardEnd {
			p = posEnd
		}
		cur.Pos[id] = p
	}
	if set, err = b.pollShards(ctx, cur); err != nil {
		return bus.ConsumeResponse{}, err
	}
	cur.prune(set)
	return bus.ConsumeResponse{Cursor: cur.encode()}, nil
}

// pollShards returns the shard list: the engine's snapshot, listed again
// when it is missing, when cur names a shard it does not hold, or when cur
// read a shard to its end and the snapshot lists no child of it (the
// snapshot may predate the cursor's resharding; a closed shard always has
// children, and without them in the list no later poll would read on).
func (b *EventBus) pollShards(ctx context.Context, cur *pollCursor) (*shardSet, error) {
	set := b.shards.Load()
	stale := set == nil
	if cur != nil && !stale {
		for id, p := range cur.Pos {
			if set.get(id) == nil || (p == posEnd && !hasChild(set, id)) {
				stale = true
				break
			}
		}
	}
	if !stale {
		return set, nil
	}
	return b.refreshShards(ctx)
}

// shardScope maps the requested shard indexes to shard ids; nil means
// every shard. An index the list does not have is an error wrapping
// bus.ErrInvalidConsumeRequest.
func shardScope(set *shardSet, idx []int, topic string) (map[string]bool, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	scope := make(map[string]bool, len(idx))
	for _, i := range idx {
		if i < 0 || i >= len(set.list) {
			return nil, fmt.Errorf("kinesis: poll %q: %w: shard index %d: the stream lists %d shards (indexes 0 to %d)",
				topic, bus.ErrInvalidConsumeRequest, i, len(set.list), len(set.list)-1)
		}
		scope[set.list[i].id] = true
	}
	return scope, nil
}

// readable returns the shards of scope (nil: all) that the poll reads:
// not finished, and whose parents are finished, or not listed, or outside
// the scope.
func readable(set *shardSet, cur *pollCursor, scope map[string]bool) []*shard {
	done := cur.finished(set)
	var out []*shard
	for _, sh := range set.list {
		if (scope != nil && !scope[sh.id]) || done[sh.id] {
			continue
		}
		ready := true
		for _, p := range sh.parents() {
			if set.get(p) != nil && (scope == nil || scope[p]) && !done[p] {
				ready = false
			}
		}
		if ready {
			out = append(out, sh)
		}
	}
	return out
}

// polled is one record a poll read.
type polled struct {
	seq   string
	match bool      // returned unless the limit is reached
	event bus.Event // when match
}

// shardBatch is what a poll read from one shard.
type shardBatch struct {
	shard string
	order int    // the shard's place in the list: ties of the merge
	from  string // the position read after ("" = TRIM_HORIZON)
	recs  []polled
	taken int  // matching records returned (a prefix of the matches)
	end   bool // the shard is closed and recs reach its end
	gap   bool // the cursor's position was no longer retained
}

// advance sets the shard's position after what the merge took: past
// every record up to the first match not returned (skipped records
// included), or "end" when everything to the shard's end was consumed.
func (bt *shardBatch) advance(pos map[string]string) {
	matched, stop := 0, len(bt.recs)
	for i, r := range bt.recs {
		if r.match {
			if matched == bt.taken {
				stop = i
				break
			}
			matched++
		}
	}
	switch {
	case stop == len(bt.recs) && bt.end:
		pos[bt.shard] = posEnd
	case stop > 0:
		pos[bt.shard] = bt.recs[stop-1].seq
	case bt.from == "":
		// Nothing consumed from TRIM_HORIZON (a gap's restart
		// included): the next poll starts there again.
		delete(pos, bt.shard)
	default:
		pos[bt.shard] = bt.from
	}
}

// fetchShards reads the frontier shards, pollParallel at a time, each
// after its position in pos, asking GetRecords for limit records. The
// failures are returned (joined).
func (b *EventBus) fetchShards(ctx context.Context, topic string, f *bus.Filter, frontier []*shard, pos map[string]string, limit int32) ([]*shardBatch, error) {
	out := make([]*shardBatch, len(frontier))
	errs := make([]error, len(frontier))
	sem := make(chan struct{}, pollParallel)
	var wg sync.WaitGroup
	for i, sh := range frontier {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			// Owned by this call: joined below before it returns.
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = b.fetchShard(ctx, topic, f, sh.id, sh.closed, pos[sh.id], limit)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	order := map[string]int{}
	for i, sh := range frontier {
		order[sh.id] = i
	}
	for _, bt := range out {
		bt.order = order[bt.shard]
	}
	return out, nil
}

// fetchShard reads one shard after position from (TRIM_HORIZON when "").
// closed says the shard list shows the shard closed (split or merged
// away).
func (b *EventBus) fetchShard(ctx context.Context, topic string, f *bus.Filter, id string, closed bool, from string, limit int32) (*shardBatch, error) {
	bt := &shardBatch{shard: id, from: from}
	it, err := b.pollIterator(ctx, id, from)
	var invalid *types.InvalidArgumentException
	var gone *types.ResourceNotFoundException
	switch {
	case err == nil:
	case from != "" && errors.As(err, &invalid):
		// Kinesis refuses a sequence number it no longer retains
		// (trimmed after the retention period) or that is not of this
		// stream any more (deleted and created again): read what is
		// retained.
		bt.gap, bt.from = true, ""
		if it, err = b.pollIterator(ctx, id, ""); err != nil {
			return nil, b.pollErr(topic, id, "get shard iterator", err)
		}
	case errors.As(err, &gone):
		// Deleted since it was listed (its records expired).
		bt.gap, bt.end = from != "", true
		return bt, nil
	default:
		return nil, b.pollErr(topic, id, "get shard iterator", err)
	}
	for hop := 0; hop < maxEmptyHops; hop++ {
		if b.cfg.RateLimited && !b.reads.wait(id, ctx.Done()) {
			return nil, b.pollErr(topic, id, "wait for the read budget", ctx.Err())
		}
		b.readCalls.Add(1)
		out, err := b.client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: it, Limit: aws.Int32(limit)}, noRetry)
		if err != nil {
			return nil, b.pollErr(topic, id, "get records", err)
		}
		for _, rec := range out.Records {
			bt.recs = append(bt.recs, b.decodePolled(topic, f, id, rec))
		}
		if out.NextShardIterator == nil {
			bt.end = true
			break
		}
		if len(out.Records) > 0 {
			break
		}
		if aws.ToInt64(out.MillisBehindLatest) == 0 {
			if closed {
				// Nothing after the position and caught up, in a shard
				// that receives no more records: its end, even where
				// the service still hands out a next iterator (as
				// kinesalite does for a closed shard with no record).
				bt.end = true
			}
			break
		}
		it = out.NextShardIterator
	}
	return bt, nil
}

// pollIterator returns an iterator after seq, or at TRIM_HORIZON.
func (b *EventBus) pollIterator(ctx context.Context, id, seq string) (*string, error) {
	in := &kinesis.GetShardIteratorInput{StreamName: aws.String(b.cfg.StreamName), ShardId: aws.String(id)}
	if seq == "" {
		in.ShardIteratorType = types.ShardIteratorTypeTrimHorizon
	} else {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(seq)
	}
	out, err := b.client.GetShardIterator(ctx, in)
	if err != nil {
		return nil, err
	}
	return out.ShardIterator, nil
}

func (b *EventBus) pollErr(topic, shard, what string, err error) error {
	return fmt.Errorf("kinesis: poll %q: stream %q shard %s: %s: %w", topic, b.cfg.StreamName, shard, what, err)
}

// decodePolled decodes a record as a reader does for a subscription of
// topic, and says whether the poll returns it.
func (b *EventBus) decodePolled(topic string, f *bus.Filter, shard string, rec types.Record) polled {
	p := polled{seq: aws.ToString(rec.SequenceNumber)}
	if isMarker(rec.Data) {
		return p
	}
	env, err := brokerkit.DecodeStructured(rec.Data)
	if err != nil {
		b.errs.Report(broker.ScopeDecode, fmt.Errorf("kinesis: poll %q: stream %q shard %s record %s: %w", topic, b.cfg.StreamName, shard, p.seq, err))
		return p
	}
	if !b.cfg.SubscriptionMatches(topic, env.Event.Topic) || (f != nil && !f.Match(env.Event)) {
		return p
	}
	p.match, p.event = true, env.Event
	return p
}

// mergeBatches returns at most limit matching records of the batches,
// merged by creation time (each shard's in sequence order; ties by shard
// order), and records in each batch how many of its matches were taken.
func mergeBatches(batches []*shardBatch, limit int) []bus.Event {
	next := make([]int, len(batches)) // per batch: index of its next match
	head := func(i int) int {
		bt := batches[i]
		for next[i] < len(bt.recs) && !bt.recs[next[i]].match {
			next[i]++
		}
		return next[i]
	}
	var events []bus.Event
	for len(events) < limit {
		best := -1
		for i, bt := range batches {
			if head(i) >= len(bt.recs) {
				continue
			}
			if best < 0 || earlier(bt, batches[best], next[i], next[best]) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		bt := batches[best]
		events = append(events, bt.recs[next[best]].event)
		bt.taken++
		next[best]++
	}
	return events
}

// earlier reports whether record i of a comes before record j of b in the
// merge: by creation time, then by shard order.
func earlier(a, b *shardBatch, i, j int) bool {
	ta, tb := a.recs[i].event.CreatedAt, b.recs[j].event.CreatedAt
	if c := ta.Compare(tb); c != 0 {
		return c < 0
	}
	return cmp.Less(a.order, b.order)
}
