// Package register registers the Redis Streams engine with the core registry
// under engine type "redis". Import it for its side effect in a program
// built on package core:
//
//	import _ "github.com/switchyard-go/eventbus/engines/redis/register"
//
// The root package eventbus imports it already.
package register

import (
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/core"
	"github.com/switchyard-go/eventbus/engines/redis"
)

func init() {
	core.RegisterEngine("redis", func(cfg map[string]interface{}) (bus.EventBus, error) { return redis.New(cfg) })
}
