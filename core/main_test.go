package core

import (
	"testing"

	"go.uber.org/goleak"
)

// sarama (the kafka engine, which payload_test.go runs) starts one
// go-metrics meter goroutine per process that never ends.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/rcrowley/go-metrics.(*meterArbiter).tick"))
}
