package redis_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/engines/redis"
)

func TestConfig(t *testing.T) {
	t.Run("the factory accepts the documented keys, broker options and module-level shared keys", func(t *testing.T) {
		b, err := redis.New(map[string]any{
			"url": shared.URL(), "db": 1, "username": "", "password": "", "poolSize": 7,
			"maxRetries": 1, "ackMode": "on-receive", "claimTimeout": "5s", "maxLen": float64(1000),
			"workerCount": 5, "eventTTL": "1h", "externalBrokerURL": "redis://ignored:1",
		})
		if err != nil {
			t.Fatal(err)
		}
		c := b.(*redis.EventBus).Config()
		if c.URL != shared.URL() || c.DB != 1 || c.PoolSize != 7 || c.MaxRetries != 1 || c.AckMode != broker.AckOnReceive || c.ClaimTimeout.Std().String() != "5s" || c.MaxLen != 1000 {
			t.Errorf("decoded %+v", c)
		}
	})

	t.Run("externalBrokerURL, User and Password are the fallbacks for url, username and password", func(t *testing.T) {
		b, err := redis.New(map[string]any{"externalBrokerURL": shared.URL(), "externalBrokerUser": "u", "externalBrokerPassword": "p"})
		if err != nil {
			t.Fatal(err)
		}
		c := b.(*redis.EventBus).Config()
		if c.URL != shared.URL() || c.Username != "u" || c.Password != "p" {
			t.Errorf("fallbacks not applied: %+v", c)
		}
	})

	t.Run("defaults are documented values", func(t *testing.T) {
		b, err := redis.New(nil)
		if err != nil {
			t.Fatal(err)
		}
		c := b.(*redis.EventBus).Config()
		if c.URL != redis.DefaultURL || c.KeyPrefix != "switchyard:" || c.StartFrom != "new" || c.ClaimTimeout.Std() != redis.DefaultClaimTimeout ||
			c.MaxRetries != 3 || c.DeadLetterTopic != "dlq.{topic}" || c.AckMode != broker.AckAfterHandle {
			t.Errorf("defaults %+v", c)
		}
	})

	cases := []struct {
		name string
		raw  map[string]any
		want string
	}{
		{"a negative maxLen", map[string]any{"maxLen": -1}, "maxLen: -1"},
		{"an unknown startFrom", map[string]any{"startFrom": "middle"}, "startFrom: middle"},
		{"a non-redis URL", map[string]any{"url": "http://localhost"}, "url: http://localhost"},
		{"a negative readCount", map[string]any{"readCount": -3}, "readCount: -3"},
		{"a negative db", map[string]any{"db": -2}, "db: -2"},
		{"a negative claimTimeout", map[string]any{"claimTimeout": "-1s"}, "claimTimeout: -1s"},
		{"a staleGroupTimeout below twice claimTimeout", map[string]any{"staleGroupTimeout": "45s"}, "staleGroupTimeout: 45s: must be 0 (off) or at least twice claimTimeout (30s)"},
		{"a negative staleGroupTimeout", map[string]any{"staleGroupTimeout": "-1m"}, "staleGroupTimeout: -1m0s"},
		{"a maxDeliveries below -1", map[string]any{"maxDeliveries": -2}, "maxDeliveries: -2: must be >= 1, or -1 for no bound"},
		{"an unknown ackMode", map[string]any{"ackMode": "sometimes"}, "ackMode: sometimes"},
		{"a bad dead-letter template", map[string]any{"deadLetterTopic": "dead"}, "deadLetterTopic: dead"},
		{"a misspelt key", map[string]any{"claimTimout": "1s"}, "claimTimout"},
		{"a bad duration", map[string]any{"blockTimeout": "soon"}, "soon"},
	}
	for _, c := range cases {
		t.Run(c.name+" is rejected naming field and value", func(t *testing.T) {
			_, err := redis.New(c.raw)
			if !errors.Is(err, redis.ErrInvalidConfig) {
				t.Fatalf("err = %v, want ErrInvalidConfig", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %q does not name %q", err, c.want)
			}
		})
	}

	t.Run("a password in a bad URL is not echoed in the error", func(t *testing.T) {
		_, err := redis.New(map[string]any{"url": "http://user:topsecret@host"})
		if err == nil || strings.Contains(err.Error(), "topsecret") {
			t.Errorf("err = %v", err)
		}
	})
}
