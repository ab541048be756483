package kinesis

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestConformance(t *testing.T) {
	// All checks share one stream (the suite isolates them by topic), as
	// the engines of one application would.
	conformance(t, testConfig(kinesalite.Endpoint()))
}

// With asyncPublish, Publish returns before the record is written; the
// contract (flush barrier, lossless Stop, order per key...) still holds.
func TestConformanceWithAsyncPublish(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.AsyncPublish = true
	conformance(t, cfg)
}

// With the Redis checkpoint store (checkpoints and leases in a real
// redis-server) the contract holds the same.
func TestConformanceWithTheRedisCheckpointStore(t *testing.T) {
	redisSrv := testinfra.StartRedis(t)
	cfg := testConfig(kinesalite.Endpoint())
	cfg.CheckpointStore = StoreRedis
	cfg.CheckpointRedis = RedisOptions{URL: redisSrv.URL(), KeyPrefix: "conf:"}
	conformance(t, cfg)
}

// In on-receive ack mode a record is checkpointed before its handler
// runs, so a Stop must not drop a record it read: one worker makes a
// stopping reader hold records that no worker took yet.
func TestConformanceWithAckOnReceive(t *testing.T) {
	cfg := testConfig(kinesalite.Endpoint())
	cfg.AckMode = broker.AckOnReceive
	cfg.MaxInFlight = 1
	conformance(t, cfg)
}

func conformance(t *testing.T, cfg Config) {
	// A persistent kinesalite of its own: the broker-restart check
	// restarts it.
	k := testinfra.StartKinesalite(t, testinfra.KinesaliteOptions{Persistent: true})
	cfg.Endpoint = k.Endpoint()
	// Engines share leases, hence consumers (applicationName), only
	// through the Redis checkpoint store.
	groups := cfg.CheckpointStore == StoreRedis
	var newInGroup func(t *testing.T, group string) bus.EventBus
	if groups {
		newInGroup = func(t *testing.T, group string) bus.EventBus {
			c := cfg
			c.ApplicationName = group
			b, err := NewEventBus(c)
			if err != nil {
				t.Fatalf("NewEventBus: %v", err)
			}
			return b
		}
	}
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			b, err := NewEventBus(cfg)
			if err != nil {
				t.Fatalf("NewEventBus: %v", err)
			}
			return b
		},
		NewInGroup: newInGroup,
		// Shard indexes in ListShards order: the stream is not
		// resharded during the suite.
		PollShards: func(t *testing.T, b bus.EventBus, _ string) []int {
			set, err := b.(*EventBus).listShards(testCtx(t))
			if err != nil {
				t.Fatalf("list shards: %v", err)
			}
			idx := make([]int, len(set.list))
			for i := range idx {
				idx[i] = i
			}
			return idx
		},
		RestartBroker: func(t *testing.T) {
			if err := k.Restart(); err != nil {
				t.Fatalf("restart kinesalite: %v", err)
			}
		},
		Features: eventbustest.Features{
			Persistent:                   true,
			PayloadRoundTripsAsJSON:      true,
			ContextValuesViaMetadataOnly: true,
			AtLeastOnce:                  true,
			ConsumerGroups:               groups,
			RedeliveryAfterHandlerError:  true,
			BrokerRestart:                true,
			DeliveryTimeout:              20 * time.Second,
			Poll:                         true,
			PollRestart:                  true,
			LeakOptions:                  leakOptions,
			// PollGap stays off: kinesalite never trims records (retention
			// is at least 24 hours), so TrimTopic cannot be honest.
			// TestPollGap checks gaps on positions of a deleted stream.
		},
	})
}
