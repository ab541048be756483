package core

import (
	"context"
	"fmt"

	"github.com/switchyard-go/eventbus/engines/memory"
)

// MemoryEventBus is the channel-based memory engine (engines/memory)
// built directly from an EventBusConfig, as in the upstream API.
type MemoryEventBus struct {
	*memory.EventBus
	err error // configuration error, returned by Start
}

// NewMemoryEventBus builds a memory engine from the module-level fields of
// config (MaxEventQueueSize, DefaultEventBufferSize, WorkerCount,
// DeliveryMode, PublishBlockTimeout, RotateSubscriberOrder; zero values
// take the defaults). The upstream signature has no error: an invalid
// config makes Start return the error naming the field, and the engine
// never starts.
func NewMemoryEventBus(config *EventBusConfig) *MemoryEventBus {
	var cfg memory.Config
	if config != nil {
		cfg = memory.Config{
			MaxEventQueueSize:      config.MaxEventQueueSize,
			DefaultEventBufferSize: config.DefaultEventBufferSize,
			WorkerCount:            config.WorkerCount,
			DeliveryMode:           config.DeliveryMode,
			RotateSubscriberOrder:  config.RotateSubscriberOrder,
		}
		cfg.PublishBlockTimeout.Set(config.PublishBlockTimeout)
	}
	b, err := memory.NewEventBus(cfg)
	if err != nil {
		b, _ = memory.NewEventBus(memory.Config{})
		return &MemoryEventBus{EventBus: b, err: err}
	}
	return &MemoryEventBus{EventBus: b}
}

// Start starts the engine, or returns the configuration error.
func (m *MemoryEventBus) Start(ctx context.Context) error {
	if m.err != nil {
		return fmt.Errorf("memory engine not started: %w", m.err)
	}
	return m.EventBus.Start(ctx)
}

// SetModule connects the engine to the module, whose observers then hear
// of its topics and failures (as the router does for its engines).
func (m *MemoryEventBus) SetModule(module *EventBusModule) {
	if module == nil {
		m.SetObserver(nil)
		return
	}
	m.SetObserver(module.engineObserver("memory"))
}
