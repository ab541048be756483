package redis_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// shared is the redis-server most tests use (each test uses its own key
// prefix); crash and fault tests start their own.
var shared *testinfra.Redis

func TestMain(m *testing.M) {
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
		KeyPrefix:         "t" + bus.NewID()[:8] + ":",
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
