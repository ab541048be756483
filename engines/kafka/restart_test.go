package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// TestBrokerRestart restarts the (persistent) broker while publishers are
// running: the producer retries, and every event whose Publish returned
// nil is delivered, before or after the restart.
func TestBrokerRestart(t *testing.T) {
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{Persistent: true, SeedTopics: []string{"restart"}, SeedPartitions: 2})
	b := started(t, map[string]any{"brokers": k.Addrs(), "consumer": map[string]string{"commitInterval": "100ms"}})
	var bgErrs sync.Map
	b.SetErrorObserver(broker.ErrorObserverFunc(func(s broker.Scope, err error) { bgErrs.Store(s, err) }))
	var got collector
	if _, err := b.Subscribe(ctxT(t), "restart", got.Handle); err != nil {
		t.Fatal(err)
	}

	const publishers, each = 4, 150
	var (
		mu    sync.Mutex
		acked []string
		nErr  int
		slow  int // publishes that waited out the outage
	)
	var wg sync.WaitGroup
	for p := 0; p < publishers; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				payload := fmt.Sprintf("p%d-%03d", p, i)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				began := time.Now()
				err := b.Publish(ctx, bus.Event{Topic: "restart", Payload: payload})
				cancel()
				mu.Lock()
				if err == nil {
					acked = append(acked, payload)
				} else {
					nErr++
				}
				if time.Since(began) > 250*time.Millisecond {
					slow++
				}
				mu.Unlock()
				time.Sleep(3 * time.Millisecond) // pace: keep publishing through the outage
			}
		}()
	}
	testutil.Eventually(t, 20*time.Second, "some events before the restart", func() bool { return len(got.Events()) >= 50 })
	k.Down()
	time.Sleep(300 * time.Millisecond) // the broker is away for a while, as a real restart
	k.Up(t)
	wg.Wait()

	mu.Lock()
	want := append([]string(nil), acked...)
	failed, waited := nErr, slow
	mu.Unlock()
	if waited == 0 {
		t.Errorf("no publish was in flight during the outage; the test did not exercise the producer's retries")
	}
	testutil.Eventually(t, 60*time.Second, "every acknowledged event", func() bool {
		seen := map[string]bool{}
		for _, e := range got.Events() {
			seen[fmt.Sprint(e.Payload)] = true
		}
		for _, w := range want {
			if !seen[w] {
				return false
			}
		}
		return true
	})
	count := map[string]int{}
	for _, e := range got.Events() {
		count[fmt.Sprint(e.Payload)]++
	}
	dups := 0
	for _, n := range count {
		dups += n - 1
	}
	t.Logf("%d published, %d acknowledged (%d of them waited out the outage), %d refused (returned an error), all acknowledged delivered; %d redelivered after the restart",
		publishers*each, len(want), waited, failed, dups)
	if len(want) < publishers*each*9/10 {
		t.Errorf("only %d of %d publishes were acknowledged: the producer did not ride out a short restart", len(want), publishers*each)
	}
}
