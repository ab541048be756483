package kafka

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
)

// pollMaxWait bounds how long the broker may hold a poll's fetch request
// when none of the polled partitions has a record after its position
// (Kafka's fetch max.wait.ms; MinBytes is 1, so a fetch that finds records
// returns at once). It is what keeps Poll from waiting for events.
const pollMaxWait = 5 * time.Millisecond

// Per-partition fetch size of a poll: twice a partition's share of Limit
// records of the average size seen so far, at least pollMinFetch and at
// most the consumer's fetchDefault (Kafka's max.partition.fetch.bytes).
// The broker returns a whole first record batch even when it is larger.
const (
	pollMinFetch      = 16 << 10
	pollInitialRecord = 512 // bytes per record assumed before the first fetch
)

// pollClient is a run's group-less reader: one sarama client, created by
// the first Poll of the run and closed by Stop, shared by every Poll. It
// sends Fetch and ListOffsets requests to the partition leaders itself,
// without sarama's consumer, so that a poll starts no goroutine that
// outlives it and returns as soon as each leader answered once.
type pollClient struct {
	b *EventBus
	c sarama.Client

	fetchVersion int16
	isolation    sarama.IsolationLevel
	maxFetch     int32 // per partition (fetchDefault)

	// refreshed is when the topic list was last re-read (UnixNano), so
	// that a wildcard poll finds topics created since within
	// topicRefreshInterval; topicRefreshed holds the same per topic
	// polled by name (topic -> time.Time), for partitions added since.
	refreshed      atomic.Int64
	topicRefreshed sync.Map
	// avgRecord is a moving average of the record sizes fetched (bytes).
	avgRecord atomic.Int64
}

// poller returns the run's poll client, connecting it on first use.
func (r *runState) poller() (*pollClient, error) {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	if r.poll != nil {
		return r.poll, nil
	}
	cfg := r.b.set.newClientConfig()
	// No retries with backoff inside sarama's metadata requests (3 by
	// 250 ms by default, taken for every poll of a topic that does not
	// exist): Poll retries failed partitions itself, without sleeping.
	cfg.Metadata.Retry.Max = 0
	c, err := sarama.NewClient(r.b.set.cfg.Brokers, cfg)
	if err != nil {
		return nil, fmt.Errorf("kafka engine: poll: connect: %w", err)
	}
	pc := &pollClient{b: r.b, c: c, fetchVersion: fetchVersion(cfg.Version), isolation: cfg.Consumer.IsolationLevel, maxFetch: cfg.Consumer.Fetch.Default}
	pc.refreshed.Store(time.Now().UnixNano())
	pc.avgRecord.Store(pollInitialRecord)
	r.poll = pc
	return pc, nil
}

// closePoller closes the poll client, if a Poll created one. Stop calls it
// once no Poll is in flight.
func (r *runState) closePoller() {
	r.pollMu.Lock()
	defer r.pollMu.Unlock()
	if r.poll != nil {
		_ = r.poll.c.Close()
		r.poll = nil
	}
}

// fetchVersion is the Fetch request version used for Kafka version v
// (at least 0.11, which Config.Validate requires): 4 adds the isolation
// level and record batches, 5 the log start offset, 10 zstd.
func fetchVersion(v sarama.KafkaVersion) int16 {
	switch {
	case v.IsAtLeast(sarama.V2_1_0_0):
		return 10
	case v.IsAtLeast(sarama.V1_0_0_0):
		return 5
	}
	return 4
}

// pollPart is one partition of one poll: where it starts, what its
// leader returned, and how far the merge consumed it.
type pollPart struct {
	topic string
	id    int32
	start int64       // the offset fetched from
	next  int64       // the cursor: the offset after the last record consumed
	recs  []pollEntry // records at or after start, in offset order
	head  int         // the next record the merge looks at
	err   error       // the leader's error for this partition, if any
	// end is the partition's readable end reported by the last fetch:
	// the high-water mark, or the last stable offset under
	// read_committed.
	end int64
	// alone asks for a fetch request of its own (see fetch).
	alone bool
}

// pollEntry is one fetched record. Records are decoded lazily, by the
// merge, when they reach the head of their partition: a poll decodes the
// records it returns or skips, and at most one more per partition.
type pollEntry struct {
	msg     sarama.ConsumerMessage
	control bool // a control record or an aborted transaction's record: never returned
	decoded bool
	skip    bool      // set by decoding: undecodable, oversized or rejected by the filter
	at      time.Time // set by decoding: the merge key, the event's creation time
	ev      bus.Event
}

// retriable reports whether a partition's fetch error is cured by
// re-reading the metadata (leadership moved, topic just created).
func retriable(err error) bool {
	for _, target := range []error{sarama.ErrNotLeaderForPartition, sarama.ErrUnknownTopicOrPartition, sarama.ErrLeaderNotAvailable,
		sarama.ErrFencedLeaderEpoch, sarama.ErrUnknownLeaderEpoch, sarama.ErrReplicaNotAvailable, sarama.ErrNotEnoughReplicas, sarama.ErrOffsetNotAvailable} {
		if errors.Is(err, target) {
			return true
		}
	}
	var kerr sarama.KError
	return !errors.As(err, &kerr) // a network error: the client reconnects
}

// fetch reads every part from its start position (one Fetch request per
// leader, concurrently) and decodes what came back. A part whose start
// is out of the partition's range (records deleted by retention or
// DeleteRecords, or a topic recreated) is moved to the oldest retained
// offset and read again; fetch then reports a gap. Leadership errors are
// retried after a metadata refresh; what still fails after that is
// returned, naming the topic and partition.
func (pc *pollClient) fetch(ctx context.Context, pattern string, parts []*pollPart, limit int) (gap bool, err error) {
	todo := parts
	for round := 0; len(todo) > 0; round++ {
		if err := ctx.Err(); err != nil {
			return gap, fmt.Errorf("kafka engine: poll %q: %w", pattern, err)
		}
		pc.fetchRound(todo, limit)
		var again, stale []*pollPart
		var refresh []string
		for _, p := range todo {
			switch {
			case p.err == nil && len(p.recs) == 0 && p.start < p.end && !p.alone:
				// Records are there but none came back: the next
				// batch is larger than this partition's share of the
				// response, and the broker returns an oversized batch
				// only for the first partition of a request. Ask
				// again, in a request of its own.
				p.alone = true
				again = append(again, p)
			case p.err == nil:
			case errors.Is(p.err, sarama.ErrOffsetOutOfRange):
				stale = append(stale, p)
			case retriable(p.err) && round < 2:
				again = append(again, p)
				if !slices.Contains(refresh, p.topic) {
					refresh = append(refresh, p.topic)
				}
			default:
				return gap, fmt.Errorf("kafka engine: poll %q: fetch %s/%d at offset %d: %w", pattern, p.topic, p.id, p.start, p.err)
			}
		}
		if len(refresh) > 0 {
			_ = pc.c.RefreshMetadata(refresh...) // the retry reports what still fails
		}
		if len(stale) > 0 {
			if round >= 2 {
				p := stale[0]
				return gap, fmt.Errorf("kafka engine: poll %q: fetch %s/%d at offset %d: %w", pattern, p.topic, p.id, p.start, p.err)
			}
			oldest, err := pc.offsets(stale, sarama.OffsetOldest)
			if err != nil {
				return gap, fmt.Errorf("kafka engine: poll %q: %w", pattern, err)
			}
			for i, p := range stale {
				// Out of range from below (deleted) or above (the
				// topic was recreated): either way the records
				// between the cursor and the oldest retained one are
				// not there any more.
				if p.start != oldest[i] {
					gap = true
				}
				p.start, p.next = oldest[i], oldest[i]
				again = append(again, p)
			}
		}
		todo = again
	}
	return gap, nil
}

// fetchRound sends one Fetch request per leader for parts and fills each
// part's recs or err.
func (pc *pollClient) fetchRound(parts []*pollPart, limit int) {
	// The merge takes about limit/len(parts) records of each partition
	// when they are equally busy; twice that covers moderate skew, and a
	// busier partition simply contributes fewer records to this page.
	size := min(max(2*int64(limit)*pc.avgRecord.Load()/int64(len(parts))+4096, pollMinFetch), int64(pc.maxFetch))
	type request struct {
		leader *sarama.Broker
		parts  []*pollPart
	}
	var reqs []*request
	shared := map[*sarama.Broker]*request{}
	for _, p := range parts {
		p.err, p.recs, p.head = nil, nil, 0
		leader, err := pc.c.Leader(p.topic, p.id)
		if err != nil {
			p.err = err
			continue
		}
		if p.alone {
			reqs = append(reqs, &request{leader: leader, parts: []*pollPart{p}})
			continue
		}
		if shared[leader] == nil {
			shared[leader] = &request{leader: leader}
			reqs = append(reqs, shared[leader])
		}
		shared[leader].parts = append(shared[leader].parts, p)
	}
	var wg sync.WaitGroup
	for _, rq := range reqs {
		leader, ps := rq.leader, rq.parts
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &sarama.FetchRequest{Version: pc.fetchVersion, MaxWaitTime: int32(pollMaxWait / time.Millisecond), MinBytes: 1,
				MaxBytes: pc.b.set.base.Consumer.Fetch.MaxBytes, Isolation: pc.isolation, SessionEpoch: -1}
			for _, p := range ps {
				sz := int32(size)
				if p.alone {
					// The broker returns the first batch whatever
					// its size; the partition's full fetch size also
					// brings the batches after it.
					sz = pc.maxFetch
				}
				req.AddBlock(p.topic, p.id, p.start, sz, -1)
			}
			resp, err := leader.Fetch(req)
			if err != nil {
				// A broken connection stays broken: close it, so that
				// the retry's Leader lookup opens a new one.
				_ = leader.Close()
			}
			for _, p := range ps {
				switch {
				case err != nil:
					p.err = err
				case resp.GetBlock(p.topic, p.id) == nil:
					p.err = fmt.Errorf("no answer for the partition: %w", sarama.ErrIncompleteResponse)
				default:
					pc.readBlock(p, resp.GetBlock(p.topic, p.id))
				}
			}
		}()
	}
	wg.Wait()
}

// readBlock turns one partition's fetched records into p.recs (those at
// or after p.start, in offset order).
func (pc *pollClient) readBlock(p *pollPart, blk *sarama.FetchResponseBlock) {
	if !errors.Is(blk.Err, sarama.ErrNoError) {
		p.err = blk.Err
		return
	}
	p.end = blk.HighWaterMarkOffset
	if pc.isolation == sarama.ReadCommitted && blk.LastStableOffset >= 0 && pc.fetchVersion >= 4 {
		p.end = blk.LastStableOffset
	}
	// Aborted transactions (read_committed only): the producers whose
	// records are skipped from the transaction's first offset until its
	// abort marker.
	aborted := slices.SortedFunc(slices.Values(blk.AbortedTransactions), func(a, b *sarama.AbortedTransaction) int {
		return cmp.Compare(a.FirstOffset, b.FirstOffset)
	})
	abortedBy := map[int64]bool{}
	var bytes, count int64
	add := func(m sarama.ConsumerMessage, control bool) {
		if m.Offset < p.start {
			return
		}
		if !control {
			bytes += int64(len(m.Key) + len(m.Value) + 64)
			count++
		}
		p.recs = append(p.recs, pollEntry{msg: m, control: control})
	}
	for _, rs := range blk.RecordsSet {
		switch {
		case rs.RecordBatch != nil:
			rb := rs.RecordBatch
			for len(aborted) > 0 && aborted[0].FirstOffset <= rb.FirstOffset+int64(rb.LastOffsetDelta) {
				abortedBy[aborted[0].ProducerID] = true
				aborted = aborted[1:]
			}
			skipAll := rb.Control || pc.isolation == sarama.ReadCommitted && rb.IsTransactional && abortedBy[rb.ProducerID]
			for _, rec := range rb.Records {
				if rb.Control && isAbortMarker(rec.Key) {
					delete(abortedBy, rb.ProducerID)
				}
				ts := rb.FirstTimestamp.Add(rec.TimestampDelta)
				if rb.LogAppendTime {
					ts = rb.MaxTimestamp
				}
				add(sarama.ConsumerMessage{Topic: p.topic, Partition: p.id, Offset: rb.FirstOffset + rec.OffsetDelta,
					Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Timestamp: ts}, skipAll)
			}
		case rs.MsgSet != nil:
			// Message format v0/v1 (a topic written by an old
			// producer): a compressed wrapper holds inner messages
			// whose offsets, from v1 on, count back from the wrapper's
			// offset (the last inner one has it).
			for _, mb := range rs.MsgSet.Messages {
				inner := mb.Messages()
				for _, im := range inner {
					off := im.Offset
					if mb.Msg.Set != nil && mb.Msg.Version >= 1 {
						off = mb.Offset - inner[len(inner)-1].Offset + im.Offset
					}
					add(sarama.ConsumerMessage{Topic: p.topic, Partition: p.id, Offset: off, Key: im.Msg.Key, Value: im.Msg.Value, Timestamp: im.Msg.Timestamp}, false)
				}
			}
		}
	}
	if count > 0 {
		sample := bytes / count
		pc.avgRecord.Store((3*pc.avgRecord.Load() + sample) / 4)
	}
}

// isAbortMarker reports whether a control record's key is a transaction
// abort marker (key: int16 version, int16 type; type 0 = abort).
func isAbortMarker(key []byte) bool {
	return len(key) >= 4 && binary.BigEndian.Uint16(key[2:4]) == 0
}

// decode decodes e as subscribers get it (once) and reports whether a
// poll skips it: a control record, a record that is undecodable or over
// maxPayloadBytes (reported under ScopeDecode, as for subscribers, but
// never dead-lettered by a poll), or one f rejects.
func (pc *pollClient) decode(pattern string, e *pollEntry, f *bus.Filter) bool {
	if e.decoded {
		return e.skip
	}
	e.decoded = true
	if e.control {
		e.skip = true
		return true
	}
	b := pc.b
	m := &e.msg
	env, err := b.decodeRecord(m)
	if err == nil {
		err = b.opts.CheckPayload(m.Topic, len(m.Value))
	}
	if err != nil {
		b.errs.Report(broker.ScopeDecode, fmt.Errorf("kafka engine: poll %q: record %s skipped: %w", pattern, entryID(m), err))
		e.skip = true
		return true
	}
	if f != nil && !f.Match(env.Event) {
		e.skip = true
		return true
	}
	e.ev, e.at = env.Event, env.Event.CreatedAt
	if e.at.IsZero() {
		e.at = m.Timestamp
	}
	return false
}

// offsets returns the oldest (sarama.OffsetOldest) or next-to-be-written
// (sarama.OffsetNewest; the last stable offset under read_committed)
// offset of each part, with one ListOffsets request per leader, retried
// once after a metadata refresh.
func (pc *pollClient) offsets(parts []*pollPart, which int64) ([]int64, error) {
	out := make([]int64, len(parts))
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if err = pc.listOffsets(parts, which, out); err == nil || !retriable(err) {
			break
		}
		topics := make([]string, 0, len(parts))
		for _, p := range parts {
			topics = append(topics, p.topic)
		}
		_ = pc.c.RefreshMetadata(topics...)
	}
	return out, err
}

func (pc *pollClient) listOffsets(parts []*pollPart, which int64, out []int64) error {
	byLeader := map[*sarama.Broker][]int{}
	for i, p := range parts {
		leader, err := pc.c.Leader(p.topic, p.id)
		if err != nil {
			return fmt.Errorf("list offsets of %s/%d: %w", p.topic, p.id, err)
		}
		byLeader[leader] = append(byLeader[leader], i)
	}
	for leader, idx := range byLeader {
		req := sarama.NewOffsetRequest(pc.c.Config().Version)
		if req.Version >= 2 {
			req.IsolationLevel = pc.isolation
		}
		for _, i := range idx {
			req.AddBlock(parts[i].topic, parts[i].id, which, 1)
		}
		resp, err := leader.GetAvailableOffsets(req)
		if err != nil {
			_ = leader.Close() // reopened by the retry's Leader lookup
			return fmt.Errorf("list offsets: %w", err)
		}
		for _, i := range idx {
			p := parts[i]
			blk := resp.GetBlock(p.topic, p.id)
			switch {
			case blk == nil:
				return fmt.Errorf("list offsets of %s/%d: %w", p.topic, p.id, sarama.ErrIncompleteResponse)
			case !errors.Is(blk.Err, sarama.ErrNoError):
				return fmt.Errorf("list offsets of %s/%d: %w", p.topic, p.id, blk.Err)
			case req.Version == 0 && len(blk.Offsets) > 0:
				out[i] = blk.Offsets[0]
			default:
				out[i] = blk.Offset
			}
		}
	}
	return nil
}
