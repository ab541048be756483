package kinesis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// kinesalite is the server most tests share (each test uses its own
// stream); tests that kill or proxy it start their own.
var kinesalite *testinfra.Kinesalite

func TestMain(m *testing.M) {
	k, err := testinfra.NewKinesalite(testinfra.KinesaliteOptions{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "testinfra:", err)
		os.Exit(1)
	}
	kinesalite = k
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, "kinesalite output:", k.Log())
	}
	_ = k.Close()
	if code == 0 {
		if err := goleak.Find(leakOptions...); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// leakOptions ignore the keep-alive connections of the SDK's HTTP
// transport that a Stop has not closed yet (Stop closes the idle ones;
// one returning to the pool at that moment may outlive it briefly).
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"),
	goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"),
}

// testConfig is a config for a fresh stream on endpoint with short
// timings, so that tests run in well under a second each.
func testConfig(endpoint string) Config {
	return Config{
		Region:             "us-east-1",
		StreamName:         "t" + enginekit.NewID()[:12],
		AccessKeyID:        "AKIDTEST",
		SecretAccessKey:    "secret",
		Endpoint:           endpoint,
		CreateStream:       true,
		ShardCount:         2,
		PollInterval:       bus.Duration(10 * time.Millisecond),
		FlushInterval:      bus.Duration(time.Millisecond),
		CheckpointInterval: bus.Duration(50 * time.Millisecond),
		ShardSyncInterval:  bus.Duration(200 * time.Millisecond),
		LeaseDuration:      bus.Duration(1500 * time.Millisecond),
		LeaseRenewInterval: bus.Duration(100 * time.Millisecond),
		PublishBackoff:     bus.Duration(5 * time.Millisecond),
		PublishBackoffMax:  bus.Duration(50 * time.Millisecond),
		Options: broker.Options{
			RetryBackoff:    bus.Duration(5 * time.Millisecond),
			RetryBackoffMax: bus.Duration(20 * time.Millisecond),
			MaxInFlight:     8,
		},
	}
}

func newBus(t testing.TB, cfg Config, opts ...Option) *EventBus {
	t.Helper()
	b, err := NewEventBus(cfg, opts...)
	if err != nil {
		t.Fatalf("NewEventBus: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = b.Close(ctx)
	})
	return b
}

// started returns a started bus that is stopped at cleanup.
func started(t testing.TB, cfg Config, opts ...Option) *EventBus {
	t.Helper()
	b := newBus(t, cfg, opts...)
	if err := b.Start(testCtx(t)); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return b
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder collects what a handler received (shared with the other broker
// engines' tests).
type recorder = brokertest.Recorder

func seq(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return out
}

func short(list []string) string {
	if len(list) > 8 {
		return strings.Join(list[:8], ",") + fmt.Sprintf("… (%d)", len(list))
	}
	return strings.Join(list, ",")
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
