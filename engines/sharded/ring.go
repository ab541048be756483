package sharded

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/switchyard-go/eventbus/bus"
)

// The ring protocol
//
// Each shard owns a bounded multi-producer, single-consumer ring of
// power-of-two size. Why a ring and not a channel: a channel send takes a
// lock and may park and wake a goroutine per event; on a 2-vCPU VM that is
// ~60 ns per event, while the floor for moving an event between cores is
// one cache-line transfer. The ring costs one CAS, one slot write and one
// atomic store per event on the producer side, and the consumer amortizes
// its own synchronization over a whole batch.
//
// Positions are uint64 sequence numbers that never wrap in practice;
// position p lives in slot p & mask.
//
//   - tail: the next position to claim. Producers claim with a CAS that
//     first checks there is room (tail - head < size), so a claimed
//     position is always free and is filled promptly: no producer ever
//     holds a claim while waiting for the consumer, and a cancelled
//     Publish never leaves a hole. The top bit of tail (sealedBit) seals
//     the ring: a sealed ring refuses claims; the positions claimed before
//     the seal are still published and delivered.
//   - slot.seq: a producer fills the slot of position p, then stores
//     seq = p+1 (publish). The consumer reads slot p only after loading
//     seq == p+1, which orders the slot write before the read.
//   - head: positions below head are free for producers. The worker
//     copies a batch of published events out of the ring into its own
//     buffer, then stores head once for the whole batch, before any
//     handler runs: producers get the slots back while the batch is being
//     delivered. In drop-oldest mode producers may advance head too, to
//     evict the oldest event; in that mode the worker copies (and clears)
//     under readMu, which evicting producers only TryLock, so eviction
//     never races with the copy and never queues the worker behind them.
//   - done: positions below done were dispatched or dropped. Flush waits
//     for done to pass the tail it saw.
//   - headCache: an older value of head, so that a producer reads the
//     worker's line only when the ring looks full. It only moves forward
//     (CAS), and room is computed from it only when tail >= headCache
//     (see tryClaim): a stale, backwards value once let two producers
//     claim the same slot.
//
// Parking: an idle consumer spins for SpinWindow, then stores sleeping=1,
// re-checks its next slot and parks on wake. A producer stores seq, then
// loads sleeping; both are sequentially consistent atomics, so either the
// consumer sees the event in its re-check or the producer sees sleeping=1
// and sends the wake token (Dekker). Producers waiting for room, and Flush,
// use the same pattern with progress (waiters counter, then re-check; the
// consumer stores head/done, then loads the counter).

// sealedBit marks a sealed ring in tail.
const sealedBit = uint64(1) << 63

// extBit, in slot.seq, says that the slot's ext entry holds the event's
// CreatedAt and Processing* fields; otherwise they are zero.
const extBit = uint64(1) << 62

// padding separates fields written by different goroutines. 128 bytes
// rather than 64 because x86 prefetches cache lines in pairs.
type padding [128]byte

// Slot layout. Moving a cache line between cores, not executing
// instructions, is what an event costs (docs/performance.md), so a slot
// is exactly one 64-byte line: the sequence plus the fields every event
// uses. A bus.Event is 80 bytes, so the fields publishers rarely set
// (CreatedAt — the worker stamps a zero one once per batch — and the
// Processing* pointers) live in a parallel ext array that is written, and
// read, only when one of them is set (extBit).
type slot struct {
	seq      atomic.Uint64   // position+1 once published, | extBit
	topic    string          // bus.Event.Topic
	payload  any             // bus.Event.Payload
	metadata map[string]any  // bus.Event.Metadata
	ctx      context.Context // the publisher's context (values reach handlers)
}

// slotExt holds the rarely set bus.Event fields of a slot.
type slotExt struct {
	createdAt time.Time
	started   *time.Time
	completed *time.Time
	_         [64 - (unsafe.Sizeof(time.Time{})+2*unsafe.Sizeof(uintptr(0)))%64]byte
}

// slotData is a slot's content without its sequence (for copying).
type slotData struct {
	topic    string
	payload  any
	metadata map[string]any
	ctx      context.Context
}

func (sl *slot) set(d slotData) {
	sl.topic, sl.payload, sl.metadata, sl.ctx = d.topic, d.payload, d.metadata, d.ctx
}

// hasExt reports whether the event's rarely set fields are not all zero.
func hasExt(e *bus.Event) bool {
	return !e.CreatedAt.IsZero() || e.ProcessingStarted != nil || e.ProcessingCompleted != nil
}

var _ [64 - unsafe.Sizeof(slot{})]byte // a slot must fit one cache line
var _ [unsafe.Sizeof(slot{}) - 64]byte

// notifier lets goroutines wait for a condition another goroutine makes
// true, without a lock or a channel operation on the signalling side
// while nobody waits. A waiter registers (waiters.Add), re-checks its
// condition, then waits on the channel returned by channel(); the
// signaller makes the condition true, then calls broadcast, which only
// takes the lock when waiters > 0.
type notifier struct {
	waiters atomic.Int32
	mu      sync.Mutex
	ch      chan struct{}
}

func (n *notifier) channel() <-chan struct{} {
	n.mu.Lock()
	if n.ch == nil {
		n.ch = make(chan struct{})
	}
	c := n.ch
	n.mu.Unlock()
	return c
}

// broadcast wakes every registered waiter.
func (n *notifier) broadcast() {
	if n.waiters.Load() == 0 {
		return
	}
	n.force()
}

// force wakes every waiter that has fetched a channel, registered or not.
func (n *notifier) force() {
	n.mu.Lock()
	if n.ch != nil {
		close(n.ch)
		n.ch = nil
	}
	n.mu.Unlock()
}
