package memory_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConformance(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			b, err := memory.NewEventBus(memory.Config{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
	})
}
