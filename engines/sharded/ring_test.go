package sharded

import (
	"context"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/switchyard-go/eventbus/bus"
)

// TestShardLayout pins the shard's memory layout: the fields written on
// the hot path keep the offsets they had before the ring was a type of its
// own, each writer's group on its own cache lines (two 64-byte lines, as
// x86 prefetches lines in pairs), and the ring's read-only fields sit in
// the first 128 bytes, which no goroutine writes.
func TestShardLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("the offsets below are those of 64-bit platforms")
	}
	var s shard
	offsets := []struct {
		field string
		got   uintptr
		want  uintptr
	}{
		{"tail", unsafe.Offsetof(s.tail), 128},
		{"headCache", unsafe.Offsetof(s.headCache), 136},
		{"head", unsafe.Offsetof(s.head), 272},
		{"done", unsafe.Offsetof(s.done), 280},
		{"dispatched", unsafe.Offsetof(s.dispatched), 288},
		{"sleeping", unsafe.Offsetof(s.sleeping), 656},
		{"rejected", unsafe.Offsetof(s.rejected), 792},
		{"readMu", unsafe.Offsetof(s.readMu), 856},
	}
	for _, o := range offsets {
		if o.got != o.want {
			t.Errorf("shard.%s at offset %d, want %d", o.field, o.got, o.want)
		}
	}
	for _, f := range []struct {
		field       string
		offset, end uintptr
	}{
		{"slots", unsafe.Offsetof(s.slots), unsafe.Offsetof(s.slots) + unsafe.Sizeof(s.slots)},
		{"exts", unsafe.Offsetof(s.exts), unsafe.Offsetof(s.exts) + unsafe.Sizeof(s.exts)},
		{"mask", unsafe.Offsetof(s.mask), unsafe.Offsetof(s.mask) + unsafe.Sizeof(s.mask)},
		{"size", unsafe.Offsetof(s.size), unsafe.Offsetof(s.size) + unsafe.Sizeof(s.size)},
	} {
		if f.end > unsafe.Offsetof(s.tail) {
			t.Errorf("ring.%s at [%d, %d): want it before tail (%d), on lines no goroutine writes", f.field, f.offset, f.end, unsafe.Offsetof(s.tail))
		}
	}
	if unsafe.Offsetof(s.ring) != 0 {
		t.Errorf("the ring at offset %d of the shard, want 0", unsafe.Offsetof(s.ring))
	}
	if got := unsafe.Sizeof(s); got > 1328 {
		t.Errorf("sizeof(shard) = %d, want at most 1328 (its size before the ring was a type)", got)
	}
}

// TestRingStress drives a ring alone, without a shard or worker: several
// producers claim (one position or a run at a time) and publish, one
// consumer takes batches and frees them, and the ring is sealed half-way.
// Every position claimed before the seal must be read (or, in drop-oldest
// mode, evicted) exactly once, each producer's events in its order, and
// nothing claimed after. Run it with -race.
func TestRingStress(t *testing.T) {
	for _, evicting := range []bool{false, true} {
		name := "several producers, one consumer, sealed half-way: every position read exactly once"
		if evicting {
			name = "with producers evicting the oldest event from a full ring: every position read or evicted exactly once"
		}
		t.Run(name, func(t *testing.T) { ringStress(t, evicting) })
	}
}

func ringStress(t *testing.T, evicting bool) {
	const (
		producers = 4
		each      = 20000
		ringSize  = 64
		batchMax  = 16
	)
	var r ring
	r.init(ringSize)
	id := func(p, i int) int { return p*each + i }
	seen := make([]atomic.Int32, producers*each)
	var claimed [producers]int // events each producer got into the ring
	var evicted atomic.Int64
	var copyMu sync.Mutex // the shard's readMu: take vs evict

	// The consumer.
	half := make(chan struct{})
	var read int
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		bs := batchState{evs: make([]bus.Event, batchMax), ctxs: make([]context.Context, batchMax)}
		sealing := false
		last := [producers]int{}
		for i := range last {
			last[i] = -1
		}
		var h uint64
		for {
			if evicting {
				copyMu.Lock()
				h = r.head.Load() // evicting producers move head too
			}
			n := r.ready(h, batchMax)
			if n > 0 {
				h = r.take(h, n, &bs, evicting)
			}
			if evicting {
				copyMu.Unlock()
			}
			if n == 0 {
				if t, sealed := r.finalTail(); sealed && r.head.Load() >= t {
					r.done.Store(t)
					return
				}
				runtime.Gosched()
				continue
			}
			for _, e := range bs.evs[:n] {
				v, err := strconv.Atoi(e.Topic)
				if err != nil || v != e.Payload.(int) {
					t.Errorf("read topic %q with payload %v: a torn slot", e.Topic, e.Payload)
					continue
				}
				seen[v].Add(1)
				if p, i := v/each, v%each; !evicting && i <= last[p] {
					t.Errorf("producer %d's event %d read after its event %d", p, i, last[p])
				} else {
					last[p] = i
				}
			}
			r.done.Store(h)
			if read += n; read >= producers*each/2 && !sealing {
				close(half)
				sealing = true
			}
		}
	}()
	go func() {
		<-half
		r.seal()
	}()

	var wg sync.WaitGroup
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			events := make([]bus.Event, 4)
			for i := 0; i < each; {
				want := uint64(1 + (i % 4)) // runs of 1 to 4 events
				want = min(want, uint64(each-i))
				pos, got, sealed := r.tryClaim(want)
				if sealed {
					break
				}
				if got == 0 {
					if evicting && copyMu.TryLock() {
						if topic, ok := r.evict(); ok {
							v, _ := strconv.Atoi(topic)
							seen[v].Add(1)
							evicted.Add(1)
						}
						copyMu.Unlock()
					}
					runtime.Gosched()
					continue
				}
				for k := 0; k < int(got); k++ {
					v := id(p, i+k)
					events[k] = bus.Event{Topic: strconv.Itoa(v), Payload: v}
				}
				if got == 1 && i%2 == 0 {
					r.write(pos, nil, &events[0])
				} else {
					r.writeRun(pos, int(got), nil, func(k int) *bus.Event { return &events[k] }, time.Time{})
				}
				i += int(got)
				claimed[p] = i
			}
		}()
	}
	wg.Wait()
	<-consumerDone

	total := 0
	for p := 0; p < producers; p++ {
		total += claimed[p]
		for i := 0; i < each; i++ {
			want := int32(0)
			if i < claimed[p] {
				want = 1
			}
			if got := seen[id(p, i)].Load(); got != want {
				t.Fatalf("producer %d's event %d (claimed: %v) seen %d times, want %d", p, i, i < claimed[p], got, want)
			}
		}
	}
	if tail, sealed := r.finalTail(); !sealed || tail != uint64(total) {
		t.Errorf("final tail %d (sealed %v), want %d claimed positions, sealed", tail, sealed, total)
	}
	if total == producers*each {
		t.Errorf("all %d events were claimed: the seal came too late to test", total)
	}
	if evicting && evicted.Load() == 0 {
		t.Errorf("no event was evicted: the eviction path was not exercised")
	}
	t.Logf("%d claimed, %d read, %d evicted", total, read, evicted.Load())
}
