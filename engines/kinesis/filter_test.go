package kinesis

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// failureObserver counts the failures reported to the bus observer.
type failureObserver struct{ failed atomic.Int64 }

func (o *failureObserver) TopicCreated(string)                                     {}
func (o *failureObserver) TopicDeleted(string)                                     {}
func (o *failureObserver) MessageFailed(context.Context, bus.Event, string, error) { o.failed.Add(1) }

// A FilteredHandler's rejections are counted as Filtered, checkpointed
// like a success (a restart does not bring them back), and never retried,
// dead-lettered nor reported as failures, in every ack mode.
func TestFilteredHandler(t *testing.T) {
	for _, mode := range []broker.AckMode{broker.AckAfterHandle, broker.AckOnReceive, broker.AckManual} {
		t.Run(fmt.Sprintf("rejected events are filtered and checkpointed, not failed (ack mode %s)", mode), func(t *testing.T) {
			cfg := testConfig(kinesalite.Endpoint())
			cfg.ShardCount = 1
			cfg.AckMode = mode
			cfg.ApplicationName = "filtering" // checkpoints outlive Stop and Start under one consumer
			b := started(t, cfg)
			obs := &failureObserver{}
			b.SetObserver(obs)
			var (
				mu  sync.Mutex
				got []string
			)
			h := bus.FilteredHandler(bus.Eq("keep", true), func(ctx context.Context, e bus.Event) error {
				if mode == broker.AckManual {
					if err := broker.Ack(ctx); err != nil {
						return err
					}
				}
				m, _ := e.Payload.(map[string]any)
				mu.Lock()
				got = append(got, fmt.Sprint(m["n"]))
				mu.Unlock()
				return nil
			})
			if _, err := b.Subscribe(testCtx(t), "filtered", h); err != nil {
				t.Fatal(err)
			}
			publish := func(n int, keep bool) {
				t.Helper()
				if err := b.Publish(testCtx(t), bus.Event{Topic: "filtered", Payload: map[string]any{"n": n, "keep": keep}}); err != nil {
					t.Fatal(err)
				}
			}
			// Kept and rejected alternate; the last five are rejected, so
			// the checkpoint must move past rejected events for nothing to
			// come back after the restart.
			for i := range 10 {
				publish(i, i < 5 && i%2 == 0)
			}
			testutil.Eventually(t, 20*time.Second, "3 delivered and 7 filtered", func() bool {
				s := b.EngineStats()
				return s.Delivered == 3 && s.Filtered == 7
			})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := b.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if err := b.Start(testCtx(t)); err != nil {
				t.Fatal(err)
			}
			publish(10, true)
			testutil.Eventually(t, 20*time.Second, "the event published after the restart", func() bool {
				return b.EngineStats().Delivered >= 4
			})
			// Let a redelivery, if any were due, happen.
			time.Sleep(300 * time.Millisecond)
			s := b.EngineStats()
			if s.Delivered != 4 || s.Filtered != 7 || s.Failed != 0 || s.Retried != 0 || s.DeadLettered != 0 || s.Dropped != 0 {
				t.Errorf("stats delivered %d filtered %d failed %d retried %d dead-lettered %d dropped %d; want 4 7 0 0 0 0",
					s.Delivered, s.Filtered, s.Failed, s.Retried, s.DeadLettered, s.Dropped)
			}
			if n := obs.failed.Load(); n != 0 {
				t.Errorf("observer heard %d failures, want 0", n)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(got) != "[0 2 4 10]" {
				t.Errorf("handler received %v, want [0 2 4 10]", got)
			}
		})
	}
}
