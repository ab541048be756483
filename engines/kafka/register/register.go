// Package register registers the Kafka (IBM/sarama) engine with the core registry
// under engine type "kafka". Import it for its side effect in a program
// built on package core:
//
//	import _ "github.com/switchyard-go/eventbus/engines/kafka/register"
//
// The root package eventbus imports it already.
package register

import (
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/core"
	"github.com/switchyard-go/eventbus/engines/kafka"
)

func init() {
	core.RegisterEngine("kafka", func(cfg map[string]interface{}) (bus.EventBus, error) { return kafka.New(cfg) })
}
