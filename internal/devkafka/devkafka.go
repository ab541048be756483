// Package devkafka starts a throwaway Kafka broker for development tools:
// kfake (github.com/twmb/franz-go/pkg/kfake), an in-process, in-memory
// implementation of the Kafka wire protocol, listening on 127.0.0.1. The
// benchmark cmd/kafkabench and cmd/devbroker share it; tests use
// internal/testinfra, which adds fault injection on top of kfake.
package devkafka

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Options select what Start builds. The zero value is one broker on a
// free 127.0.0.1 port, kfake's default partition count, and no automatic
// topic creation.
type Options struct {
	// Port is the broker's 127.0.0.1 port. Default (0): a free port.
	Port int
	// Partitions is the partition count of topics created without one
	// (CreateTopics with -1, or automatic creation). Default (0): kfake's.
	Partitions int
	// AutoCreateTopics lets a metadata request for a missing topic create
	// it, as Kafka's auto.create.topics.enable does.
	AutoCreateTopics bool
}

// Start starts a one-broker kfake cluster on 127.0.0.1. The caller owns
// it and must Close it; its records live in memory and are lost then.
// Addresses are in ListenAddrs.
func Start(o Options) (*kfake.Cluster, error) {
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("devkafka: port %d: must be between 0 and 65535", o.Port)
	}
	if o.Partitions < 0 {
		return nil, fmt.Errorf("devkafka: partitions %d: must be >= 0", o.Partitions)
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.Ports(o.Port)}
	if o.Partitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(o.Partitions))
	}
	if o.AutoCreateTopics {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("devkafka: start kfake on 127.0.0.1:%d: %w", o.Port, err)
	}
	return c, nil
}
