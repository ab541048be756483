package kinesis

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestKinesisOutage kills kinesalite (SIGKILL, LevelDB persistence) while
// events are being published and read, and brings it back on the same
// port: publishes in flight are retried, readers back off and resume, and
// every event whose Publish returned nil is delivered.
func TestKinesisOutage(t *testing.T) {
	k := testinfra.StartKinesalite(t, testinfra.KinesaliteOptions{Persistent: true})
	cfg := testConfig(k.Endpoint())
	cfg.PublishBackoffMax = bus.Duration(200 * time.Millisecond)
	b := started(t, cfg)
	var rec recorder
	if _, err := b.Subscribe(testCtx(t), "telemetry", rec.Handle); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acked []string
	var wg sync.WaitGroup
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 150; i++ {
				payload := fmt.Sprintf("p%d-%03d", p, i)
				e := bus.Event{Topic: "telemetry", Payload: payload, Metadata: map[string]any{bus.MetadataKeyPartition: payload}}
				if err := b.Publish(testCtx(t), e); err != nil {
					continue // not acknowledged: may or may not arrive
				}
				mu.Lock()
				acked = append(acked, payload)
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond) // let some traffic flow first
	if err := k.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // an outage, not a blip
	if err := k.Restart(); err != nil {
		t.Fatalf("restart kinesalite: %v; output: %s", err, k.Log())
	}
	wg.Wait()
	mu.Lock()
	want := append([]string(nil), acked...)
	mu.Unlock()
	if len(want) < 250 {
		t.Errorf("only %d of 300 publishes were acknowledged across a 300ms outage", len(want))
	}
	testutil.Eventually(t, 30*time.Second, "every acknowledged event", func() bool {
		c := rec.Counts()
		for _, p := range want {
			if c[p] == 0 {
				return false
			}
		}
		return true
	})
	t.Logf("%d acknowledged, %d delivered, producer %+v, background errors %d", len(want), rec.Count(), b.ProducerStats(), b.Errors().Total())
}
