package checkpoint_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/kinesis/checkpoint"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

var redisURL string

func TestMain(m *testing.M) {
	r, err := testinfra.NewRedis()
	if err != nil {
		fmt.Fprintln(os.Stderr, "testinfra:", err)
		os.Exit(1)
	}
	redisURL = r.URL()
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

// stores returns one of each implementation, fresh for the test.
func stores(t *testing.T) map[string]checkpoint.Store {
	t.Helper()
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	cl := redis.NewClient(opts)
	t.Cleanup(func() { _ = cl.Close() })
	return map[string]checkpoint.Store{
		"memory": checkpoint.NewMemory(),
		"redis":  checkpoint.NewRedis(cl, "t"+enginekit.NewID()[:8]+":"),
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

var k = checkpoint.Key{Stream: "orders", Consumer: "billing"}

func TestStores(t *testing.T) {
	for name, s := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("only the lease owner can checkpoint", func(t *testing.T) {
				c := ctx(t)
				if err := s.Checkpoint(c, k, "shard-0", "w1", "10"); !errors.Is(err, checkpoint.ErrLeaseLost) {
					t.Fatalf("checkpoint without lease = %v, want ErrLeaseLost", err)
				}
				ok, err := s.Acquire(c, k, "shard-0", "w1", time.Minute)
				if err != nil || !ok {
					t.Fatalf("Acquire = %v, %v", ok, err)
				}
				if ok, _ := s.Acquire(c, k, "shard-0", "w2", time.Minute); ok {
					t.Fatalf("w2 acquired a lease w1 holds")
				}
				if err := s.Checkpoint(c, k, "shard-0", "w2", "11"); !errors.Is(err, checkpoint.ErrLeaseLost) {
					t.Fatalf("checkpoint by non-owner = %v, want ErrLeaseLost", err)
				}
				if err := s.Checkpoint(c, k, "shard-0", "w1", "12"); err != nil {
					t.Fatal(err)
				}
				cps, err := s.Checkpoints(c, k)
				if err != nil || cps["shard-0"] != "12" {
					t.Fatalf("Checkpoints = %v, %v; want shard-0=12", cps, err)
				}
			})
			t.Run("an expired lease is taken over and fences its old owner", func(t *testing.T) {
				c := ctx(t)
				if ok, err := s.Acquire(c, k, "shard-1", "w1", 50*time.Millisecond); err != nil || !ok {
					t.Fatalf("Acquire = %v, %v", ok, err)
				}
				testutil.Eventually(t, 5*time.Second, "the lease to expire and w2 to take it", func() bool {
					ok, err := s.Acquire(c, k, "shard-1", "w2", time.Minute)
					return err == nil && ok
				})
				if err := s.Renew(c, k, "shard-1", "w1", time.Minute); !errors.Is(err, checkpoint.ErrLeaseLost) {
					t.Fatalf("old owner Renew = %v, want ErrLeaseLost", err)
				}
				if err := s.Checkpoint(c, k, "shard-1", "w1", "99"); !errors.Is(err, checkpoint.ErrLeaseLost) {
					t.Fatalf("old owner Checkpoint = %v, want ErrLeaseLost", err)
				}
				leases, err := s.Leases(c, k)
				if err != nil || leases["shard-1"] != "w2" {
					t.Fatalf("Leases = %v, %v; want shard-1 owned by w2", leases, err)
				}
			})
			t.Run("release frees the lease at once", func(t *testing.T) {
				c := ctx(t)
				if ok, _ := s.Acquire(c, k, "shard-2", "w1", time.Minute); !ok {
					t.Fatal("acquire failed")
				}
				if err := s.Release(c, k, "shard-2", "w2"); err != nil {
					t.Fatal(err)
				}
				if ok, _ := s.Acquire(c, k, "shard-2", "w2", time.Minute); ok {
					t.Fatal("a non-owner's Release freed the lease")
				}
				if err := s.Release(c, k, "shard-2", "w1"); err != nil {
					t.Fatal(err)
				}
				if ok, _ := s.Acquire(c, k, "shard-2", "w2", time.Minute); !ok {
					t.Fatal("lease still held after its owner released it")
				}
			})
			t.Run("init fills only shards without a checkpoint", func(t *testing.T) {
				c := ctx(t)
				k := checkpoint.Key{Stream: "orders", Consumer: "init"}
				if ok, _ := s.Acquire(c, k, "a", "w", time.Minute); !ok {
					t.Fatal("acquire failed")
				}
				if err := s.Checkpoint(c, k, "a", "w", "5"); err != nil {
					t.Fatal(err)
				}
				if err := s.Init(c, k, map[string]string{"a": "1", "b": "2"}); err != nil {
					t.Fatal(err)
				}
				if err := s.Init(c, k, map[string]string{"b": "3"}); err != nil {
					t.Fatal(err)
				}
				cps, _ := s.Checkpoints(c, k)
				if cps["a"] != "5" || cps["b"] != "2" {
					t.Fatalf("Checkpoints = %v, want a=5 b=2", cps)
				}
			})
			t.Run("heartbeats list live workers and forget dead ones", func(t *testing.T) {
				c := ctx(t)
				k := checkpoint.Key{Stream: "orders", Consumer: "workers"}
				if _, err := s.Heartbeat(c, k, "w1", 50*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				ws, err := s.Heartbeat(c, k, "w2", time.Minute)
				if err != nil || !slices.Equal(ws, []string{"w1", "w2"}) {
					t.Fatalf("workers = %v, %v; want [w1 w2]", ws, err)
				}
				testutil.Eventually(t, 5*time.Second, "w1 to be forgotten", func() bool {
					ws, err := s.Heartbeat(c, k, "w2", time.Minute)
					return err == nil && slices.Equal(ws, []string{"w2"})
				})
				if err := s.Leave(c, k, "w2"); err != nil {
					t.Fatal(err)
				}
				ws, _ = s.Heartbeat(c, k, "w3", time.Minute)
				if !slices.Equal(ws, []string{"w3"}) {
					t.Fatalf("workers after Leave = %v, want [w3]", ws)
				}
			})
			t.Run("delete forgets the consumer", func(t *testing.T) {
				c := ctx(t)
				k := checkpoint.Key{Stream: "orders", Consumer: "gone"}
				_ = s.Init(c, k, map[string]string{"a": "1"})
				_, _ = s.Acquire(c, k, "a", "w", time.Minute)
				if err := s.Delete(c, k); err != nil {
					t.Fatal(err)
				}
				cps, _ := s.Checkpoints(c, k)
				leases, _ := s.Leases(c, k)
				if len(cps) != 0 || len(leases) != 0 {
					t.Fatalf("after Delete: checkpoints %v leases %v", cps, leases)
				}
			})
			t.Run("empty names are rejected", func(t *testing.T) {
				c := ctx(t)
				if _, err := s.Checkpoints(c, checkpoint.Key{Stream: "s"}); !errors.Is(err, checkpoint.ErrInvalidKey) {
					t.Errorf("empty consumer: %v", err)
				}
				if _, err := s.Acquire(c, k, "", "w", time.Second); !errors.Is(err, checkpoint.ErrInvalidKey) {
					t.Errorf("empty shard: %v", err)
				}
				if err := s.Checkpoint(c, k, "a", "", "1"); !errors.Is(err, checkpoint.ErrInvalidKey) {
					t.Errorf("empty owner: %v", err)
				}
			})
		})
	}
}
