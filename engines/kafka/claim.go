package kafka

import (
	"sync"
	"sync/atomic"

	"github.com/IBM/sarama"
)

// claimState tracks the records of one claimed partition between the
// moment they are taken for handling and the moment they are settled
// (handled, dead-lettered or dropped), and marks the commit watermark.
//
// Commit watermark: records are taken in offset order and appended to
// pending. Settling a record flags its entry; the entries at the front of
// pending that are settled are then removed, and the offset after the
// last removed one is marked on the session (sarama commits marked
// offsets every commitInterval, at every session end, and when a claim
// ends). So a committed offset never passes a record that is still being
// handled or was left unsettled, even when an async subscription finishes
// records out of order: after a crash or a rebalance, the new owner
// resumes at the first unsettled record (records settled after it are
// handled again: at-least-once).
//
// Every pending entry holds one slot of the consumer's limiter
// (maxInFlight), released exactly once: when the entry is settled, or
// when the claim ends with it still unsettled (close). A settle that
// arrives after close (a late manual Ack) finds no entry and does nothing.
type claimState struct {
	cr    *consumerRun
	sess  sarama.ConsumerGroupSession
	claim sarama.ConsumerGroupClaim

	// next is the offset marked so far (the next record to commit).
	next atomic.Int64
	// progress is the subscription's progress cell for this partition
	// (shared by the claims of successive sessions): raised to next.
	progress *atomic.Int64

	// inflight counts the records handed to the async worker pool whose
	// handling has not returned yet.
	inflight sync.WaitGroup

	// before is what earlier claims of the partition took (redelivery.go);
	// read-only after newClaimState.
	before offsetRange
	// first and end are the offsets of the first record this claim took
	// and the one after its last (guarded by mu; end 0: none taken).
	first, end int64

	mu      sync.Mutex
	pending []pendingEntry
	closed  bool
}

type pendingEntry struct {
	offset    int64
	settled   bool
	abandoned bool // left unsettled on purpose; its slot is released
}

func newClaimState(cr *consumerRun, sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) *claimState {
	cs := &claimState{cr: cr, sess: sess, claim: claim, progress: cr.s.progressOf(claim.Topic(), claim.Partition())}
	cs.before = cr.s.takenBefore(topicPartition{claim.Topic(), claim.Partition()})
	cs.next.Store(claim.InitialOffset())
	raise(cs.progress, claim.InitialOffset())
	return cs
}

// take registers offset as being handled, waiting for a limiter slot. It
// returns false, registering nothing, when done is closed first.
func (cs *claimState) take(offset int64, done <-chan struct{}) bool {
	if !cs.cr.limiter.Acquire(done) {
		return false
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		cs.cr.limiter.Release()
		return false
	}
	cs.pending = append(cs.pending, pendingEntry{offset: offset})
	if cs.end == 0 {
		cs.first = offset
	}
	cs.end = offset + 1
	return true
}

// redelivered reports whether an earlier claim of this process took
// offset (see redelivery.go).
func (cs *claimState) redelivered(offset int64) bool { return cs.before.contains(offset) }

// settle flags offset as done and advances the watermark. It reports
// false when the record is no longer tracked (the claim ended, or the
// record was abandoned): it will be redelivered.
func (cs *claimState) settle(offset int64) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	i := cs.find(offset)
	if i < 0 || cs.pending[i].abandoned {
		return false
	}
	if cs.pending[i].settled {
		return true
	}
	cs.pending[i].settled = true
	cs.cr.limiter.Release()
	n := 0
	for n < len(cs.pending) && cs.pending[n].settled {
		n++
	}
	if n == 0 {
		return true
	}
	mark := cs.pending[n-1].offset + 1
	cs.pending = append(cs.pending[:0], cs.pending[n:]...)
	cs.next.Store(mark)
	cs.sess.MarkOffset(cs.claim.Topic(), cs.claim.Partition(), mark, "")
	raise(cs.progress, mark)
	return true
}

// raise sets p to v if v is larger.
func raise(p *atomic.Int64, v int64) {
	for {
		cur := p.Load()
		if v <= cur || p.CompareAndSwap(cur, v) {
			return
		}
	}
}

// abandon gives up on offset without settling it: its limiter slot is
// released, but the watermark stays before it, so it (and every record
// after it) is redelivered to whoever consumes the partition next.
func (cs *claimState) abandon(offset int64) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return
	}
	if i := cs.find(offset); i >= 0 && !cs.pending[i].settled && !cs.pending[i].abandoned {
		cs.pending[i].abandoned = true
		cs.cr.limiter.Release()
	}
}

// close releases the slots of every unsettled record; later settles are
// ignored. Called when the claim ends, after its handler calls returned.
func (cs *claimState) close() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return
	}
	cs.closed = true
	for _, e := range cs.pending {
		if !e.settled && !e.abandoned {
			cs.cr.limiter.Release()
		}
	}
	cs.pending = nil
}

// recordTaken adds the offsets this claim took to the subscription's
// taken ranges, for the next claim of the partition (redelivery.go).
// Called when the claim ends, after close.
func (cs *claimState) recordTaken() {
	cs.mu.Lock()
	r := offsetRange{lo: cs.first, hi: cs.end}
	cs.mu.Unlock()
	cs.cr.s.addTaken(topicPartition{cs.claim.Topic(), cs.claim.Partition()}, r)
}

// outstanding returns the number of records taken and not yet settled.
func (cs *claimState) outstanding() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	n := 0
	for _, e := range cs.pending {
		if !e.settled && !e.abandoned {
			n++
		}
	}
	return n
}

// find returns the index of offset in pending, or -1. Entries are in
// offset order; the window is at most maxInFlight long.
func (cs *claimState) find(offset int64) int {
	for i, e := range cs.pending {
		if e.offset == offset {
			return i
		}
	}
	return -1
}
