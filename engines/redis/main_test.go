package redis_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/brokertest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// shared is the redis-server most tests use (each test uses its own key
// prefix); crash and fault tests start their own.
var shared *testinfra.Redis

func TestMain(m *testing.M) {
	if os.Getenv(crashHelperEnv) != "" {
		os.Exit(runCrashHelper())
	}
	r, err := testinfra.NewRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testinfra:", err)
		os.Exit(1)
	}
	shared = r
	code := m.Run()
	_ = r.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testConfig is a config for srv with short timings, so that tests of
// retries, claims and discovery run in well under a second each.
func testConfig(srv *testinfra.Redis) redis.Config {
	return redis.Config{
		URL:               srv.URL(),
		KeyPrefix:         "t" + enginekit.NewID()[:8] + ":",
		BlockTimeout:      bus.Duration(500 * time.Millisecond),
		ClaimTimeout:      bus.Duration(2 * time.Second),
		ClaimInterval:     bus.Duration(200 * time.Millisecond),
		DiscoveryInterval: bus.Duration(200 * time.Millisecond),
		Options: broker.Options{
			RetryBackoff:    bus.Duration(5 * time.Millisecond),
			RetryBackoffMax: bus.Duration(20 * time.Millisecond),
			MaxInFlight:     8,
		},
	}
}

func newBus(t testing.TB, cfg redis.Config) *redis.EventBus {
	t.Helper()
	b, err := redis.NewEventBus(cfg)
	if err != nil {
		t.Fatalf("NewEventBus: %v", err)
	}
	return b
}

// started returns a started bus that is stopped at cleanup.
func started(t testing.TB, cfg redis.Config) *redis.EventBus {
	t.Helper()
	b := newBus(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Stop(ctx); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return b
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recorder collects what a handler received (shared with the other broker
// engines' tests).
type recorder = brokertest.Recorder
