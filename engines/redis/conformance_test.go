package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/eventbustest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestConformance(t *testing.T) {
	conformance(t, func(*redis.Config) {})
}

// With publishAsync, Publish returns once the event is queued; the
// contract (flush barrier, lossless Stop, order per key...) still holds.
func TestConformanceWithPublishAsync(t *testing.T) {
	conformance(t, func(c *redis.Config) { c.PublishAsync = true })
}

// In on-receive ack mode an entry is acked before its handler runs, so a
// Stop must not drop an entry it read: one worker and one entry per read
// make a stopping run hold read entries that no worker took yet (they
// used to be acked and lost).
func TestConformanceWithAckOnReceive(t *testing.T) {
	conformance(t, func(c *redis.Config) {
		c.AckMode = broker.AckOnReceive
		c.ReadCount = 1
		c.MaxInFlight = 1
	})
}

func conformance(t *testing.T, adjust func(*redis.Config)) {
	// A server of its own, with persistence: the broker-restart check
	// restarts it.
	srv := testinfra.StartRedis(t, testinfra.WithAOF())
	groupPrefix := "g" + enginekit.NewID()[:8] + ":" // engines of one group share streams
	// The engines one check builds share their streams (a poll cursor
	// resumes on a new engine); checks do not see each other's.
	var mu sync.Mutex
	prefixes := map[string]string{}
	prefixOf := func(t *testing.T) string {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := prefixes[t.Name()]; !ok {
			prefixes[t.Name()] = "c" + enginekit.NewID()[:8] + ":"
		}
		return prefixes[t.Name()]
	}
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			cfg := testConfig(srv)
			adjust(&cfg)
			cfg.KeyPrefix = prefixOf(t)
			return newBus(t, cfg)
		},
		NewInGroup: func(t *testing.T, group string) bus.EventBus {
			cfg := testConfig(srv)
			adjust(&cfg)
			cfg.KeyPrefix, cfg.Group = groupPrefix, group
			return newBus(t, cfg)
		},
		RestartBroker: func(t *testing.T) {
			if err := srv.Restart(); err != nil {
				t.Fatalf("restart redis-server: %v", err)
			}
		},
		CrashConsumer: func(t *testing.T, group, topic string) (func() int, func()) {
			return crashConsumer(t, srv.URL(), groupPrefix, group, topic)
		},
		// Retention as Redis does it: XTRIM MAXLEN = keep on the stream.
		TrimTopic: func(t *testing.T, b bus.EventBus, topic string, keep int) {
			t.Helper()
			rb := b.(*redis.EventBus)
			if err := rawClient(t, rb).XTrimMaxLen(context.Background(), rb.Config().KeyPrefix+topic, int64(keep)).Err(); err != nil {
				t.Fatalf("XTRIM %s MAXLEN = %d: %v", topic, keep, err)
			}
		},
		Features: eventbustest.Features{
			Persistent:                   true,
			PayloadRoundTripsAsJSON:      true,
			ContextValuesViaMetadataOnly: true,
			AtLeastOnce:                  true,
			ConsumerGroups:               true,
			RedeliveryAfterHandlerError:  true,
			BrokerRestart:                true,
			ConsumerCrash:                true,
			Poll:                         true,
			PollRestart:                  true,
			PollGap:                      true,
			DeliveryTimeout:              15 * time.Second,
		},
	})
}
