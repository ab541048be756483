package kinesis

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestRedeliveredFlag(t *testing.T) {
	t.Run("a record this process read and did not settle comes back flagged after Stop and Start", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		cfg.AckMode = broker.AckManual
		b := started(t, cfg)
		var mu sync.Mutex
		var flags []bool
		_, err := b.Subscribe(testCtx(t), "redeliver", func(ctx context.Context, e bus.Event) error {
			d, _ := broker.DeliveryFrom(ctx)
			mu.Lock()
			flags = append(flags, d.Redelivered)
			n := len(flags)
			mu.Unlock()
			if n > 1 {
				return d.Ack()
			}
			return nil // manual mode: not acked, so not checkpointed
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(testCtx(t), bus.Event{Topic: "redeliver", Payload: "once"}); err != nil {
			t.Fatal(err)
		}
		seen := func(n int) func() bool {
			return func() bool { mu.Lock(); defer mu.Unlock(); return len(flags) >= n }
		}
		testutil.Eventually(t, 20*time.Second, "the first delivery", seen(1))
		if err := b.Stop(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if err := b.Start(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 20*time.Second, "the redelivery", seen(2))
		mu.Lock()
		defer mu.Unlock()
		if flags[0] || !flags[1] {
			t.Errorf("Redelivered flags = %v, want [false true]", flags)
		}
	})
}

func TestSeqAtMost(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"5", "", false}, {"5", "5", true}, {"5", "6", true}, {"6", "5", false},
		{"99", "100", true}, {"100", "99", false},
	} {
		if got := seqAtMost(c.a, c.b); got != c.want {
			t.Errorf("seqAtMost(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
