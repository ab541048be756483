package sharded

import (
	"context"
	"runtime"
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

// ring is the multi-producer, single-consumer ring of a shard: the
// protocol above, in one type. The shard embeds it as its first field.
//
// Layout: the fields are grouped by the goroutines that write them, each
// group on its own cache lines. The read-only fields come first, in the
// 128 bytes that keep tail off the line of whatever precedes the shard in
// memory; then the producers' line (tail, headCache); then, after
// padding, head and done, which begin the group the consumer writes once
// per batch (the shard continues that group with its counters, so the
// ring has no padding at its end). TestShardLayout checks the offsets.
type ring struct {
	// Read-only after init (exts is set once, on first use).
	slots []slot
	exts  atomic.Pointer[[]slotExt] // parallel to slots, allocated on first use; see extBit
	mask  uint64
	size  uint64
	_     [128 - unsafe.Sizeof([]slot(nil)) - 3*8]byte

	// Written by producers on every publish.
	tail      atomic.Uint64 // next position to claim | sealedBit
	headCache atomic.Uint64 // producers' last view of head
	_         padding

	// Written by the consumer once per batch (and, in drop-oldest mode,
	// by an evicting producer holding the consumer's copy lock).
	head atomic.Uint64 // positions < head are free for producers
	done atomic.Uint64 // positions < done are dispatched or dropped
}

// init gives the ring size (a power of two) slots.
func (s *ring) init(size uint64) {
	s.slots = make([]slot, size)
	s.mask = size - 1
	s.size = size
}

// tryClaim claims up to want (>= 1) consecutive positions for which there
// is room. got == 0 means the ring is full (sealed == false) or sealed.
//
// Room is tail - head < size. head is the worker's line, so producers
// first try headCache, an older head value: headCache <= head, so room
// computed from it is never more than the real room. headCache only moves
// forward (CAS), and no subtraction is made unless its operands are in
// order, since a producer's tail may be stale.
func (s *ring) tryClaim(want uint64) (pos, got uint64, sealed bool) {
	for {
		t := s.tail.Load()
		if t&sealedBit != 0 {
			return 0, 0, true
		}
		hc := s.headCache.Load()
		var free uint64
		if hc <= t && t-hc+want <= s.size {
			free = s.size - (t - hc)
		} else {
			h := s.head.Load()
			if h > t {
				continue // t is stale
			}
			if h > hc {
				s.headCache.CompareAndSwap(hc, h)
			}
			if t-h >= s.size {
				// Full when head was read: tail only grows.
				return 0, 0, false
			}
			free = s.size - (t - h)
		}
		got = min(want, free)
		if s.tail.CompareAndSwap(t, t+got) {
			return t, got, false
		}
	}
}

// hasRoom reports whether the ring has a free slot or is sealed; used by
// waiters after registering. head is read before tail so that t >= h.
func (s *ring) hasRoom() bool {
	h := s.head.Load()
	t := s.tail.Load()
	return t&sealedBit != 0 || t-h < s.size
}

// write fills the claimed position pos and publishes it.
func (s *ring) write(pos uint64, ctx context.Context, e *bus.Event) {
	i := pos & s.mask
	sl := &s.slots[i]
	sl.topic, sl.payload, sl.metadata, sl.ctx = e.Topic, e.Payload, e.Metadata, ctx
	seq := pos + 1
	if hasExt(e) {
		x := &s.ext()[i]
		x.createdAt, x.started, x.completed = e.CreatedAt, e.ProcessingStarted, e.ProcessingCompleted
		seq |= extBit
	}
	sl.seq.Store(seq)
}

// writeRun fills n claimed positions from pos with events at(0..n-1) and
// publishes them. The payloads are written first and the sequences after:
// a sequence store is a full barrier that waits for the slot's cache line,
// so storing each one right after its payload would serialize the line
// transfers; this way they overlap and the barriers find their lines
// already owned.
func (s *ring) writeRun(pos uint64, n int, ctx context.Context, at func(int) *bus.Event, now time.Time) {
	for k := 0; k < n; k++ {
		e := at(k)
		i := (pos + uint64(k)) & s.mask
		sl := &s.slots[i]
		sl.topic, sl.payload, sl.metadata, sl.ctx = e.Topic, e.Payload, e.Metadata, ctx
		if hasExt(e) || !now.IsZero() {
			x := &s.ext()[i]
			x.createdAt, x.started, x.completed = e.CreatedAt, e.ProcessingStarted, e.ProcessingCompleted
			if x.createdAt.IsZero() {
				x.createdAt = now
			}
		}
	}
	for k := 0; k < n; k++ {
		seq := pos + uint64(k) + 1
		if e := at(k); hasExt(e) || !now.IsZero() {
			seq |= extBit
		}
		s.slots[(pos+uint64(k))&s.mask].seq.Store(seq)
	}
}

// ext returns the ext array, allocating it on first use (by a producer:
// the worker only reads it for slots with extBit, published after it).
func (s *ring) ext() []slotExt {
	if p := s.exts.Load(); p != nil {
		return *p
	}
	x := make([]slotExt, s.size)
	if !s.exts.CompareAndSwap(nil, &x) {
		return *s.exts.Load()
	}
	return x
}

// seal refuses further claims: a sealed ring's tryClaim reports sealed,
// and the positions claimed before the seal are still published and
// read. It returns the final tail.
func (s *ring) seal() uint64 {
	return s.tail.Or(sealedBit) &^ sealedBit
}

// finalTail returns the tail and whether the ring is sealed.
func (s *ring) finalTail() (uint64, bool) {
	t := s.tail.Load()
	return t &^ sealedBit, t&sealedBit != 0
}

// published reports whether position p was published: its producer
// stored the slot's sequence after filling it.
func (s *ring) published(p uint64) bool {
	return s.slots[p&s.mask].seq.Load()&^extBit == p+1
}

// ready counts the consecutive published positions from h, up to max.
func (s *ring) ready(h uint64, max int) int {
	n := 0
	for n < max && s.slots[(h+uint64(n))&s.mask].seq.Load()&^extBit == h+uint64(n)+1 {
		n++
	}
	return n
}

// take copies the n published events at h out of the ring into bs's
// buffers, then frees their slots (head) at once, before any handler
// runs: the one read of each producer-written line happens here, and
// producers get the slots back while the batch is being delivered. With
// clear (drop-oldest mode, where the caller holds the copy lock that
// evict takes) it also clears the slots, so the ring holds no reference
// to a delivered event. It returns the new head.
func (s *ring) take(h uint64, n int, bs *batchState, clear bool) uint64 {
	for k := 0; k < n; k++ {
		i := (h + uint64(k)) & s.mask
		sl := &s.slots[i]
		e := &bs.evs[k]
		e.Topic, e.Payload, e.Metadata = sl.topic, sl.payload, sl.metadata
		if sl.seq.Load()&extBit == 0 {
			if bs.now.IsZero() {
				bs.now = time.Now()
			}
			e.CreatedAt, e.ProcessingStarted, e.ProcessingCompleted = bs.now, nil, nil
		} else {
			x := &(*s.exts.Load())[i]
			e.CreatedAt, e.ProcessingStarted, e.ProcessingCompleted = x.createdAt, x.started, x.completed
			if e.CreatedAt.IsZero() {
				e.CreatedAt = bs.clock()
			}
			if clear {
				*x = slotExt{}
			}
		}
		if c := sl.ctx; trivialCtx(c) {
			bs.ctxs[k] = nil
		} else {
			bs.ctxs[k] = c
		}
		if clear {
			sl.set(slotData{})
		}
	}
	h += uint64(n)
	s.head.Store(h)
	return h
}

// evict (drop-oldest) drops the oldest event if the ring is still full,
// waiting for its producer to finish writing it, and frees its slot. The
// caller holds the consumer's copy lock, so take is not reading that
// slot. It returns the dropped event's topic and whether one was dropped.
func (s *ring) evict() (topic string, ok bool) {
	h := s.head.Load()
	if t, _ := s.finalTail(); t-h < s.size {
		return "", false
	}
	sl := &s.slots[h&s.mask]
	for !s.published(h) {
		runtime.Gosched() // its producer claimed it and is still writing it
	}
	topic = sl.topic
	sl.set(slotData{})
	if x := s.exts.Load(); x != nil {
		(*x)[h&s.mask] = slotExt{}
	}
	s.head.Store(h + 1)
	return topic, true
}

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
