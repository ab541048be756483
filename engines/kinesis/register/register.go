// Package register registers the Kinesis (aws-sdk-go-v2) engine with the core registry
// under engine type "kinesis". Import it for its side effect in a program
// built on package core:
//
//	import _ "github.com/switchyard-go/eventbus/engines/kinesis/register"
//
// The root package eventbus imports it already.
package register

import (
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/core"
	"github.com/switchyard-go/eventbus/engines/kinesis"
)

func init() {
	core.RegisterEngine("kinesis", func(cfg map[string]interface{}) (bus.EventBus, error) { return kinesis.New(cfg) })
}
