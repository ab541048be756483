// Package core is Switchyard's lean core: the modular module
// (EventBusModule), the EngineRouter, the configuration (EventBusConfig)
// and the engine registry, with the in-process engines registered:
// "sharded" (the default), "memory" and "custom". It links no broker
// engine, broker client library or metrics exporter (a layering test
// checks it with go list -deps).
//
//	app.RegisterModule(core.NewModule())
//
// Broker engines join by importing their register package, which
// registers the engine type in init:
//
//	import _ "github.com/switchyard-go/eventbus/engines/redis/register"
//
// Package eventbus (the module root) is the batteries-included face of
// this package: its types are aliases of core's, its functions and error
// values are core's, and it registers every engine. Code written for the
// upstream package imports the root; a program that wants a small binary
// imports core instead, with the same API.
package core
