package kinesis

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestPublishRetries(t *testing.T) {
	tests := []struct {
		name                    string
		throttleCalls, partials int64
		async                   bool
	}{
		{name: "partially failed PutRecords calls are retried record by record", partials: 6},
		{name: "throttled PutRecords calls back off and are retried", throttleCalls: 4},
		{name: "async publishes survive throttling and partial failures", throttleCalls: 2, partials: 4, async: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			proxy := startFaultProxy(t, kinesalite.Endpoint())
			cfg := testConfig(proxy.URL())
			cfg.AsyncPublish = tc.async
			b := started(t, cfg)
			topic := "orders.placed"
			var rec recorder
			if _, err := b.Subscribe(testCtx(t), topic, rec.Handle); err != nil {
				t.Fatal(err)
			}
			proxy.throttleCalls.Store(tc.throttleCalls)
			proxy.partialCalls.Store(tc.partials)

			// 4 concurrent publishers, one key each, so batches hold
			// several records and per-key order can be checked.
			const perKey = 60
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for k := 0; k < 4; k++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < perKey; i++ {
						e := bus.Event{Topic: topic, Payload: fmt.Sprintf("k%d-%03d", k, i), Metadata: map[string]any{bus.MetadataKeyPartition: fmt.Sprintf("key-%d", k)}}
						if err := b.Publish(testCtx(t), e); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Publish: %v", err)
			}
			testutil.Eventually(t, 20*time.Second, "every event", func() bool { return rec.Count() >= 4*perKey })
			for p, n := range rec.Counts() {
				if n != 1 {
					t.Errorf("%s delivered %d times", p, n)
				}
			}
			if !tc.async {
				// A synchronous publisher waits for each record, so a
				// key's order survives the retries.
				perKeySeen := map[string][]string{}
				for _, p := range rec.Payloads() {
					k, _, _ := strings.Cut(p, "-")
					perKeySeen[k] = append(perKeySeen[k], p)
				}
				for k, got := range perKeySeen {
					if !slices.IsSorted(got) {
						t.Errorf("key %s out of order: %v", k, short(got))
					}
				}
			}
			ps := b.ProducerStats()
			if tc.partials > 0 && (proxy.failedRecords.Load() == 0 || ps.RetriedRecords == 0) {
				t.Errorf("no partial failure was injected and retried: proxy failed %d records, producer retried %d", proxy.failedRecords.Load(), ps.RetriedRecords)
			}
			if tc.throttleCalls > 0 && ps.ThrottledCalls < uint64(tc.throttleCalls) {
				t.Errorf("ThrottledCalls = %d, want >= %d", ps.ThrottledCalls, tc.throttleCalls)
			}
			t.Logf("producer: %+v; proxy throttled %d calls, failed %d records", ps, proxy.throttled.Load(), proxy.failedRecords.Load())
		})
	}
}

func TestStaticCredentialsAreUsed(t *testing.T) {
	proxy := startFaultProxy(t, kinesalite.Endpoint())
	cfg := testConfig(proxy.URL())
	cfg.AccessKeyID, cfg.SecretAccessKey, cfg.SessionToken = "AKIDSWITCHYARD", "s3cret", ""
	b := started(t, cfg)
	if err := b.Publish(testCtx(t), bus.Event{Topic: "x", Payload: 1}); err != nil {
		t.Fatal(err)
	}
	auths := proxy.authorizations()
	if len(auths) == 0 {
		t.Fatal("no request went through the proxy")
	}
	for _, a := range auths {
		if !strings.Contains(a, "Credential=AKIDSWITCHYARD/") {
			t.Fatalf("request signed with %q, want the configured access key", a)
		}
	}
}

func TestPublishRefusesOversizedRecords(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	b := started(t, cfg)
	big := strings.Repeat("x", DefaultMaxRecordBytes)
	err := b.Publish(testCtx(t), bus.Event{Topic: "big", Payload: big})
	if err == nil || !errorsIs(err, bus.ErrPayloadTooLarge) {
		t.Fatalf("Publish of a %d-byte payload = %v, want an error wrapping ErrPayloadTooLarge", len(big), err)
	}
	t.Logf("error: %v", err)
	// The engine still works.
	var rec recorder
	if _, err := b.Subscribe(testCtx(t), "small", rec.Handle); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), bus.Event{Topic: "small", Payload: "ok"}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 10*time.Second, "the small event", func() bool { return rec.Count() == 1 })
}
