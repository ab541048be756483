package kafka

import "github.com/IBM/sarama"

// WaitLingering waits for the goroutines of runs whose Stop deadline
// expired (tests call it before goleak checks).
func (b *EventBus) WaitLingering() { b.lingering.Wait() }

// SaramaConfigForTest returns the producer's sarama configuration.
func SaramaConfigForTest(b *EventBus) *sarama.Config { return b.set.producerConfig() }
