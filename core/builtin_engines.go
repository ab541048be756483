package core

import (
	"github.com/switchyard-go/eventbus/engines/custom"
	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

// The in-process engines, each registered under its type name so that
// YAML config just works. This is the one place in core that registers
// engines; the registry mechanism (registry.go) imports none. Broker
// engines register themselves when their register package is imported
// (for example engines/redis/register); the root package imports them all.
func init() {
	RegisterEngine("sharded", func(cfg map[string]interface{}) (EventBus, error) { return sharded.New(cfg) })
	RegisterEngine("memory", func(cfg map[string]interface{}) (EventBus, error) { return memory.New(cfg) })
	RegisterEngine("custom", func(cfg map[string]interface{}) (EventBus, error) { return custom.New(cfg) })
}
