package kinesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestStartPositions(t *testing.T) {
	t.Run("latest sees what was published after Subscribe even when stopped before the first poll", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		consumer, publisher := started(t, cfg), started(t, cfg)
		publishN(t, publisher, "audit", "before", 20)
		var rec recorder
		if _, err := consumer.Subscribe(testCtx(t), "audit", rec.Handle); err != nil {
			t.Fatal(err)
		}
		if err := consumer.Stop(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		after := publishN(t, publisher, "audit", "after", 20)
		if err := consumer.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the 20 events published after Subscribe", func() bool { return rec.Count() >= 20 })
		// The sentinel proves the reader went past everything.
		publishN(t, publisher, "audit", "sentinel", 1)
		testutil.Eventually(t, 10*time.Second, "the sentinel", func() bool { return rec.Count() >= 21 })
		got := rec.Payloads()
		want := append(slices.Clone(after), "sentinel0000")
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("got %v, want exactly the events published after Subscribe (%v)", short(got), short(want))
		}
	})
	t.Run("trim_horizon replays the retained records", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		publisher := started(t, cfg)
		before := publishN(t, publisher, "replay", "old", 30)
		cfg.StartPosition = StartTrimHorizon
		consumer := started(t, cfg)
		var rec recorder
		if _, err := consumer.Subscribe(testCtx(t), "replay", rec.Handle); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the 30 older events", func() bool { return rec.Count() >= 30 })
		c := rec.Counts()
		for _, p := range before {
			if c[p] != 1 {
				t.Errorf("%s received %d times", p, c[p])
			}
		}
	})
}

func TestDeadLetters(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.MaxRetries = 2
	b := started(t, cfg)
	var calls, dlq recorder
	if _, err := b.Subscribe(testCtx(t), "payments.*", func(ctx context.Context, e bus.Event) error {
		_ = calls.Handle(ctx, e)
		if e.Payload == "poison" {
			return errors.New("card declined")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Subscribe(testCtx(t), "dlq.*", dlq.Handle); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ok-1", "poison", "ok-2"} {
		if err := b.Publish(testCtx(t), bus.Event{Topic: "payments.captured", Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 10*time.Second, "the dead letter", func() bool { return dlq.Count() >= 1 })
	dl := dlq.Events()[0]
	if dl.Topic != "dlq.payments.captured" || dl.Payload != "poison" {
		t.Fatalf("dead letter = %s %v, want dlq.payments.captured poison", dl.Topic, dl.Payload)
	}
	if dl.Metadata[broker.MetadataKeyDeadLetterReason] != "card declined" || fmt.Sprint(dl.Metadata[broker.MetadataKeyDeadLetterAttempts]) != "3" {
		t.Errorf("dead letter metadata = %v, want reason and 3 attempts", dl.Metadata)
	}
	testutil.Eventually(t, 10*time.Second, "ok-2 after the poison", func() bool { return calls.Counts()["ok-2"] == 1 })
	if n := calls.Counts()["poison"]; n != 3 {
		t.Errorf("poison handled %d times, want 3 (1 + maxRetries 2)", n)
	}
	s := b.EngineStats()
	if s.DeadLettered != 1 || s.Retried < 2 || s.Failed < 3 {
		t.Errorf("stats = %+v, want 1 dead-lettered, >= 2 retried, >= 3 failed", s)
	}
}
