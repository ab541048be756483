package kinesis

import "sync"

// tracker computes a shard's checkpoint: the sequence number of the last
// record such that it and every record before it in the shard are
// settled (handled and acked, dead-lettered, or skipped because no
// pattern matched). Records are added in shard order; they may be
// settled in any order (async subscriptions, manual acks). The
// watermark only moves forward, over a contiguous settled prefix, so a
// checkpoint never skips a record still being handled: at-least-once.
//
// Safe for concurrent use.
type tracker struct {
	mu        sync.Mutex
	base      uint64 // ticket of entries[0]
	next      uint64 // ticket of the next add
	entries   []trackEntry
	watermark string // last contiguous settled sequence number
	idle      chan struct{}
}

type trackEntry struct {
	seq  string
	done bool
}

func newTracker(start string) *tracker { return &tracker{watermark: start} }

// add registers the next record of the shard and returns its ticket.
func (t *tracker) add(seq string) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := t.next
	t.next++
	t.entries = append(t.entries, trackEntry{seq: seq})
	return id
}

// skip registers a record that needs no handling: it is settled at once.
func (t *tracker) skip(seq string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) == 0 {
		t.next++
		t.base = t.next
		t.watermark = seq
		return
	}
	t.next++
	t.entries = append(t.entries, trackEntry{seq: seq, done: true})
}

// settle marks ticket id settled and advances the watermark. Settling a
// ticket twice is harmless.
func (t *tracker) settle(id uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id < t.base || id >= t.next {
		return
	}
	t.entries[id-t.base].done = true
	n := 0
	for n < len(t.entries) && t.entries[n].done {
		t.watermark = t.entries[n].seq
		n++
	}
	if n > 0 {
		t.base += uint64(n)
		if n == len(t.entries) {
			t.entries = t.entries[:0]
		} else {
			t.entries = append(t.entries[:0], t.entries[n:]...)
		}
	}
	if len(t.entries) == 0 && t.idle != nil {
		close(t.idle)
		t.idle = nil
	}
}

// position returns the watermark and the number of unsettled records.
func (t *tracker) position() (string, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pending := 0
	for _, e := range t.entries {
		if !e.done {
			pending++
		}
	}
	return t.watermark, pending
}

// drained returns a channel closed once every added record is settled.
func (t *tracker) drained() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.entries) == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	return t.idle
}
