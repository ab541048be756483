package testinfra_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestRedis(t *testing.T) {
	t.Run("a server starts on a free loopback port and answers", func(t *testing.T) {
		r := testinfra.StartRedis(t)
		c := redis.NewClient(&redis.Options{Addr: r.Addr})
		defer c.Close()
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("PING %s: %v", r.Addr, err)
		}
		if r.Addr == "127.0.0.1:6379" {
			t.Errorf("used the default port")
		}
	})

	t.Run("AOF data survives a SIGKILL and a restart on the same port", func(t *testing.T) {
		r := testinfra.StartRedis(t, testinfra.WithAOF())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := redis.NewClient(&redis.Options{Addr: r.Addr, MaxRetries: -1})
		defer c.Close()
		for i := 0; i < 50; i++ {
			if err := c.XAdd(ctx, &redis.XAddArgs{Stream: "s", Values: []any{"i", i}}).Err(); err != nil {
				t.Fatal(err)
			}
		}
		if err := r.Kill9(); err != nil {
			t.Fatal(err)
		}
		if err := c.Ping(ctx).Err(); err == nil {
			t.Fatalf("server still answers after Kill9")
		}
		if err := r.Start(); err != nil {
			t.Fatal(err)
		}
		n, err := c.XLen(ctx, "s").Result()
		if err != nil || n != 50 {
			t.Fatalf("XLEN after crash = %d, %v; want 50", n, err)
		}
		if err := r.Restart(); err != nil {
			t.Fatal(err)
		}
		if n, err := c.XLen(ctx, "s").Result(); err != nil || n != 50 {
			t.Fatalf("XLEN after restart = %d, %v; want 50", n, err)
		}
	})

	t.Run("a password-protected server needs the password", func(t *testing.T) {
		r := testinfra.StartRedis(t, testinfra.WithPassword("s3cret"))
		opt, err := redis.ParseURL(r.URL())
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		defer c.Close()
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("PING with password: %v", err)
		}
		anon := redis.NewClient(&redis.Options{Addr: r.Addr})
		defer anon.Close()
		if err := anon.Ping(context.Background()).Err(); err == nil {
			t.Errorf("PING without password succeeded")
		}
	})
}
