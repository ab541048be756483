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
	defer s.workerExit()
	if rel := s.set.release; rel != nil {
		select {
		case <-rel:
		case <-s.run.abandonCh:
			s.strand(s.head.Load())
			return
		}
	}
	s.loop(s.head.Load())
}

// resume is a replacement worker goroutine: a sync handler ended the
// previous one with runtime.Goexit (t.FailNow, require.*). It finishes the
// interrupted batch from where the handler stopped (bs's cursor), then
// carries on as work does, owning the same WaitGroup count.
func (s *shard) resume() {
	defer s.workerExit()
	s.finishBatch()
	s.loop(s.bs.next)
}

// workerExit runs as a worker goroutine returns. If a handler's
// runtime.Goexit is what ends it, the shard is not done: a replacement
// worker takes over (the Goexit was counted as a failed call by
// callRange). Otherwise the shard exits.
func (s *shard) workerExit() {
	if s.goexited {
		s.goexited = false
		go s.resume()
		return
	}
	s.exit()
}

// loop is the worker's main loop from head h.
func (s *shard) loop(h uint64) {
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
			if !s.headMoved(h) {
				s.idle(h)
			}
			continue
		}
		if d := s.eng.cfg.BatchMaxDelay.Std(); d > 0 && n < s.batchMax {
			n = s.fill(h, n, d)
		}
		s.bs.begin(s)
		h = s.take(h, n)
		if s.retain != nil { // Config.RetainEvents: log the batch for Poll (retain.go)
			s.retain.append(s.bs.evs[:s.bs.events], s.bs.base)
		}
		s.finishBatch()
	}
}

// finishBatch dispatches the taken batch (from bs's cursor: the start,
// or where a Goexit interrupted it), publishes its counters, then marks
// its positions done.
func (s *shard) finishBatch() {
	s.dispatch()
	s.bs.end(s) // counters first: whoever sees done sees them too
	s.done.Store(s.bs.next)
	s.progress.broadcast()
}

// ready counts the consecutive published positions from h, up to
// batchMax.
func (s *shard) ready(h uint64) int { return s.ring.ready(h, s.batchMax) }

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

// take copies the n events at h out of the ring into the batch buffers
// and frees their slots (ring.take). In drop-oldest mode it holds readMu
// (evicting producers move head too) and clears the slots; it returns the
// new head.
func (s *shard) take(h uint64, n int) uint64 {
	if s.copyOut {
		s.readMu.Lock()
		defer s.readMu.Unlock()
		h = s.head.Load()
		n = s.ready(h)
	}
	bs := &s.bs
	bs.events = n
	bs.base = h
	bs.next = h + uint64(n)
	return s.ring.take(h, n, bs, s.copyOut)
}

// headMoved reports, in drop-oldest mode, whether evicting producers
// moved head past h: position h is gone and its slot may already hold an
// event of the next lap, so waiting for h would wait for nothing.
func (s *shard) headMoved(h uint64) bool {
	return s.copyOut && s.head.Load() != h
}

// idle waits for position h to be published or for the worker to be
// kicked: it polls for SpinWindow (yielding now and then), then parks. A
// sealed ring never parks: the worker only waits for producers that
// claimed a slot before the seal to finish writing it, yielding to them.
func (s *shard) idle(h uint64) {
	if s.closing.Load() {
		runtime.Gosched()
		return
	}
	if spin := s.eng.cfg.SpinWindow.Std(); spin > 0 {
		start := time.Now()
		for i := 1; ; i++ {
			if s.published(h) || s.closing.Load() || s.headMoved(h) {
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
	if s.published(h) || s.closing.Load() || s.headMoved(h) {
		s.sleeping.Store(0)
		return
	}
	<-s.wake
	s.sleeping.Store(0)
}

// strand counts everything from h to the final tail as dropped: the run
// was abandoned by an expired Stop. Claimed positions count even if their
// producer has not written them yet.
//
// Per topic, it counts the stranded events whose producer had finished
// writing them as Published and Dropped; a slot still being written has
// no topic to count it under yet.
func (s *shard) strand(h uint64) {
	if s.copyOut {
		s.readMu.Lock()
		defer s.readMu.Unlock()
		h = max(h, s.head.Load())
	}
	t, _ := s.finalTail()
	if t > h {
		s.stranded.Add(t - h)
		for p := h; p < t; p++ {
			if s.published(p) {
				tc := s.eng.stats.topics.Counters(s.slots[p&s.mask].topic)
				tc.Published.Add(1)
				tc.Dropped.Add(1)
			}
		}
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
