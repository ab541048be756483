package core

import (
	"context"
	"testing"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/eventbustest"
)

func newRouter(t *testing.T, cfg *EventBusConfig) *EngineRouter {
	t.Helper()
	r, err := NewEngineRouter(cfg)
	if err != nil {
		t.Fatalf("NewEngineRouter: %v", err)
	}
	return r
}

func TestRouterConformanceSingleEngine(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New:      func(t *testing.T) bus.EventBus { return newRouter(t, &EventBusConfig{Engine: "memory"}) },
		Features: routerFeatures,
	})
}

func TestRouterConformanceMultiEngine(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New: func(t *testing.T) bus.EventBus {
			return newRouter(t, &EventBusConfig{
				Engines: []EngineConfig{{Name: "first", Type: "memory"}, {Name: "second", Type: "memory"}},
				Routing: []RoutingRule{{Topics: []string{"audit.*"}, Engine: "first"}, {Topics: []string{"*"}, Engine: "second"}},
			})
		},
		Features: routerFeatures,
	})
}

// routerFeatures: the router refuses a subscription none of its engines
// owns with ErrSubscriptionNotFound, as upstream's router does.
var routerFeatures = eventbustest.Features{UnsubscribeForeignErr: ErrSubscriptionNotFound}

// moduleBus adapts the module to bus.EventBus (its own Publish takes a
// topic and a payload, as documented upstream).
type moduleBus struct{ *EventBusModule }

func (m moduleBus) Publish(ctx context.Context, e bus.Event) error { return m.PublishEvent(ctx, e) }

func newTestModule(t *testing.T, cfg *EventBusConfig) *EventBusModule {
	t.Helper()
	m := NewModule().(*EventBusModule)
	if err := m.initWith(nil, cfg); err != nil {
		t.Fatalf("init: %v", err)
	}
	return m
}

func TestModuleConformance(t *testing.T) {
	eventbustest.Run(t, eventbustest.Config{
		New:      func(t *testing.T) bus.EventBus { return moduleBus{newTestModule(t, &EventBusConfig{})} },
		Features: routerFeatures,
	})
}
