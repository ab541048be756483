package sharded

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
	os.Exit(0)
}

func TestConformance(t *testing.T) {
	configs := map[string]Config{
		"default config":                   {},
		"four shards with tiny rings":      {Shards: 4, RingSize: 8, BatchMaxEvents: 3},
		"drop-oldest with roomy rings":     {Backpressure: BackpressureDropOldest, RingSize: 4096},
		"one shard parking at once":        {Shards: 1, SpinWindow: -1},
		"batch delay and publish stamping": {BatchMaxDelay: bus.Duration(200_000), StampAtPublish: true},
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			eventbustest.Run(t, eventbustest.Config{
				New: func(t *testing.T) bus.EventBus {
					b, err := NewEventBus(cfg)
					if err != nil {
						t.Fatalf("NewEventBus: %v", err)
					}
					return b
				},
			})
		})
	}
}
