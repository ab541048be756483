package eventbus

import (
	"github.com/switchyard-go/eventbus/engines/custom"
	"github.com/switchyard-go/eventbus/engines/memory"
	"github.com/switchyard-go/eventbus/engines/sharded"
)

// The built-in engines, each registered under its type name so that
// YAML config just works. This is the one place that registers them; the
// registry mechanism (registry.go) imports no engine.
func init() {
	RegisterEngine("sharded", func(cfg map[string]interface{}) (EventBus, error) { return sharded.New(cfg) })
	RegisterEngine("memory", func(cfg map[string]interface{}) (EventBus, error) { return memory.New(cfg) })
	RegisterEngine("custom", func(cfg map[string]interface{}) (EventBus, error) { return custom.New(cfg) })
	RegisterEngine("redis", NewRedisEventBus)
	RegisterEngine("kafka", NewKafkaEventBus)
	RegisterEngine("kinesis", NewKinesisEventBus)
}
