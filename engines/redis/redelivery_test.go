package redis_test

import (
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/internal/brokertest"
)

func TestRedeliveredFlag(t *testing.T) {
	cfg := testConfig(shared)
	cfg.AckMode = broker.AckManual
	b := started(t, cfg)
	brokertest.CheckRedeliveredFlag(t, b, "redeliver", 20*time.Second)
}
