package eventbus

// The root package is batteries-included: besides the in-process engines
// that package core registers (sharded, memory, custom), it registers
// every broker engine by importing its register package. This is the one
// place that does so.
import (
	_ "github.com/switchyard-go/eventbus/engines/kafka/register"
	_ "github.com/switchyard-go/eventbus/engines/kinesis/register"
	_ "github.com/switchyard-go/eventbus/engines/redis/register"
)
