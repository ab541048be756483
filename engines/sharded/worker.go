package sharded

import (
	"runtime"
	"time"
)

// work is the shard's worker goroutine: it drains the ring in batches and
// hands each batch to the subscriptions, until the ring is sealed and
// empty (or the run is abandoned by an expired Stop). Started by newSet;
// owned by the run's workers WaitGroup.
func (s *shard) work() {
	defer s.exit()
	if rel := s.set.release; rel != nil {
		select {
		case <-rel:
		case <-s.run.abandonCh:
			s.strand(s.head.Load())
			return
		}
	}
	h := s.head.Load()
	for {
		if s.run.abandoned.Load() {
			s.strand(h)
			return
		}
		if s.copyOut {
			h = s.head.Load() // evicting producers move head too
		}
		n := s.ready(h)
		if n == 0 {
			if t, sealed := s.finalTail(); sealed && h >= t {
				return
			}
			s.idle(h)
			continue
		}
		if d := s.eng.cfg.BatchMaxDelay.Std(); d > 0 && n < s.batchMax {
			n = s.fill(h, n, d)
		}
		s.bs.begin(s)
		if s.copyOut {
			h = s.takeCopy()
		} else {
			h = s.takeInPlace(h, n)
		}
		s.done.Store(h)
		s.bs.end(s)
		s.progress.broadcast()
	}
}

// ready counts the consecutive published positions from h, up to
// batchMax.
func (s *shard) ready(h uint64) int {
	n := 0
	for n < s.batchMax && s.slots[(h+uint64(n))&s.mask].seq.Load() == h+uint64(n)+1 {
		n++
	}
	return n
}

// fill waits up to d for the batch starting at h to grow to batchMax.
func (s *shard) fill(h uint64, n int, d time.Duration) int {
	deadline := time.Now().Add(d)
	for i := 0; n < s.batchMax; i++ {
		if s.closing.Load() || (i%16 == 15 && time.Now().After(deadline)) {
			break
		}
		runtime.Gosched()
		n = s.ready(h)
	}
	return n
}

// takeInPlace dispatches the n events at h straight from the ring, then
// frees their slots (head). Producers cannot overwrite a slot before
// head passes it, so handlers read events that stay put.
func (s *shard) takeInPlace(h uint64, n int) uint64 {
	i := int(h & s.mask)
	if end := i + n; end <= len(s.slots) {
		s.dispatch(s.slots[i:end])
	} else {
		s.dispatch(s.slots[i:])
		s.dispatch(s.slots[:end-len(s.slots)])
	}
	h += uint64(n)
	s.head.Store(h)
	return h
}

// takeCopy (drop-oldest) copies the ready events out of the ring under
// readMu, frees their slots, then dispatches the copies: an evicting
// producer never waits for a handler.
func (s *shard) takeCopy() uint64 {
	s.readMu.Lock()
	h := s.head.Load()
	n := s.ready(h)
	for k := 0; k < n; k++ {
		sl := &s.slots[(h+uint64(k))&s.mask]
		s.buf[k].slotPayload = sl.slotPayload
		sl.slotPayload = slotPayload{}
	}
	h += uint64(n)
	s.head.Store(h)
	s.readMu.Unlock()
	s.dispatch(s.buf[:n])
	clear(s.buf[:n])
	return h
}

// idle waits for position h to be published or for the worker to be
// kicked: it polls for SpinWindow (yielding now and then), then parks.
func (s *shard) idle(h uint64) {
	sl := &s.slots[h&s.mask]
	want := h + 1
	if spin := s.eng.cfg.SpinWindow.Std(); spin > 0 {
		start := time.Now()
		for i := 1; ; i++ {
			if sl.seq.Load() == want || s.closing.Load() {
				return
			}
			if i%64 == 0 {
				if time.Since(start) >= spin {
					break
				}
				runtime.Gosched()
			}
		}
	}
	s.sleeping.Store(1)
	if sl.seq.Load() == want || s.closing.Load() {
		s.sleeping.Store(0)
		return
	}
	<-s.wake
	s.sleeping.Store(0)
}

// strand counts everything from h to the final tail as dropped: the run
// was abandoned by an expired Stop. Claimed positions count even if their
// producer has not written them yet.
func (s *shard) strand(h uint64) {
	if s.copyOut {
		s.readMu.Lock()
		h = max(h, s.head.Load())
		s.readMu.Unlock()
	}
	t, _ := s.finalTail()
	if t > h {
		s.stranded.Add(t - h)
	}
	s.done.Store(max(t, h))
}

// exit runs when the worker returns: it folds the shard's counters into
// the engine's totals, releases a successor set waiting for this shard to
// drain, and wakes anyone still waiting on the shard.
func (s *shard) exit() {
	s.eng.fold(s)
	if next := s.succ.Load(); next != nil && next.pending.Add(-1) == 0 {
		close(next.release)
	}
	s.exited.Store(true)
	s.progress.force()
	s.run.workers.Done()
}
