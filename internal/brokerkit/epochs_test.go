package brokerkit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/brokerkit"
)

func TestEpochsWaitForWhatBeganBeforeTheCutOnly(t *testing.T) {
	var e brokerkit.Epochs
	before := e.Begin()
	cut := e.Cut()
	after := e.Begin() // begun after the cut: not waited for
	if cut.Settled() {
		t.Fatal("settled with an operation begun before the cut still running")
	}
	before.End()
	if !cut.Settled() {
		t.Fatal("not settled once the operation begun before the cut ended")
	}
	after.End()
	// An earlier, unfinished epoch holds up later cuts too.
	old := e.Begin()
	first := e.Cut()
	second := e.Cut()
	if second.Settled() || first.Settled() {
		t.Fatal("an operation of an earlier epoch is still running")
	}
	old.End()
	if !second.Settled() {
		t.Fatal("not settled after every earlier operation ended")
	}
}

func TestEpochsWaitUnderASteadyStream(t *testing.T) {
	var e brokerkit.Epochs
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() { // always at least one operation in progress
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				ep := e.Begin()
				time.Sleep(50 * time.Microsecond)
				ep.End()
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := e.Wait(ctx, time.Millisecond)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("Wait under a steady stream: %v", err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	stuck := e.Begin()
	if err := e.Wait(ctx2, time.Millisecond); err == nil {
		t.Fatal("Wait returned while an operation begun before it was running")
	}
	stuck.End()
}

func TestEpochsBeginDoesNotAllocate(t *testing.T) {
	var e brokerkit.Epochs
	if n := testing.AllocsPerRun(1000, func() { e.Begin().End() }); n != 0 {
		t.Fatalf("Begin/End allocate %.1f times", n)
	}
}
