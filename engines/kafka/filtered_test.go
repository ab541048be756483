package kafka_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestFilteredHandler checks the FilteredHandler contract on Kafka: an
// event the filter rejects is counted as Filtered (not Delivered, Failed,
// Retried nor DeadLettered), and its offset is committed like a handled
// one, so the group does not see it again after a restart.
func TestFilteredHandler(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{})
	for _, mode := range []string{"after-handle", "on-receive", "manual"} {
		t.Run("in "+mode+" ack mode rejected events are counted as filtered and committed", func(t *testing.T) {
			topic := "filtered." + mode
			cfg := engineConfig(k, map[string]any{"ackMode": mode, "groupId": "g-" + topic, "maxRetries": 2})
			b := started(t, cfg)
			var failures collector
			b.SetObserver(failObserver{&failures})
			var got collector
			keep := bus.Eq("keep", true)
			h := bus.FilteredHandler(keep, func(ctx context.Context, e bus.Event) error {
				if mode == "manual" {
					if err := broker.Ack(ctx); err != nil {
						return err
					}
				}
				return got.Handle(ctx, e)
			})
			if _, err := b.Subscribe(ctxT(t), topic, h); err != nil {
				t.Fatal(err)
			}
			const n = 12
			for i := 0; i < n; i++ {
				e := bus.Event{Topic: topic, Payload: map[string]any{"n": i, "keep": i%3 == 0}}
				if err := b.Publish(ctxT(t), e); err != nil {
					t.Fatal(err)
				}
			}
			testutil.Eventually(t, 20*time.Second, "4 kept and 8 filtered events", func() bool {
				return got.Count() == 4 && b.EngineStats().Filtered == n-4
			})
			st := b.EngineStats()
			if st.Delivered != 4 || st.Failed != 0 || st.Retried != 0 || st.DeadLettered != 0 || st.Dropped != 0 {
				t.Errorf("stats %+v: want Delivered 4 and no failure, retry, dead letter or drop", st)
			}
			if ts := b.TopicStats()[topic]; ts.Delivered != 4 || ts.Failed != 0 {
				t.Errorf("topic stats %+v: want Delivered 4, Failed 0", ts)
			}
			if failures.Count() != 0 {
				t.Errorf("the observer heard %d failures: %v", failures.Count(), failures.Payloads())
			}
			for _, e := range got.Events() {
				if m, _ := e.Payload.(map[string]any); m["keep"] != true {
					t.Errorf("the handler got a rejected event: %v", e.Payload)
				}
			}

			// Restart: the same group resumes after the last filtered
			// record; only the marker published now is delivered.
			if err := b.Stop(ctxT(t)); err != nil {
				t.Fatal(err)
			}
			b2 := started(t, cfg)
			var again collector
			if _, err := b2.Subscribe(ctxT(t), topic, func(ctx context.Context, e bus.Event) error {
				if mode == "manual" {
					_ = broker.Ack(ctx)
				}
				return again.Handle(ctx, e)
			}); err != nil {
				t.Fatal(err)
			}
			if err := b2.Publish(ctxT(t), bus.Event{Topic: topic, Payload: "marker"}); err != nil {
				t.Fatal(err)
			}
			testutil.Eventually(t, 20*time.Second, "the marker", func() bool {
				for _, p := range again.Payloads() {
					if p == "marker" {
						return true
					}
				}
				return false
			})
			if ps := again.Payloads(); len(ps) != 1 {
				t.Errorf("after the restart the group got %d events %v, want only the marker: filtered offsets were not committed", len(ps), ps)
			}
		})
	}
}

// failObserver records the events reported as failed.
type failObserver struct{ rec *collector }

func (o failObserver) TopicCreated(string) {}
func (o failObserver) TopicDeleted(string) {}
func (o failObserver) MessageFailed(ctx context.Context, e bus.Event, _ string, err error) {
	_ = o.rec.Handle(ctx, bus.Event{Topic: e.Topic, Payload: fmt.Sprint(e.Payload, ": ", err)})
}
