// Package busbench holds the publish→deliver workloads shared by the
// sharded engine's go test benchmarks and cmd/busbench, so that both
// measure exactly the same code.
//
// Every throughput workload publishes n events from P producer goroutines
// (work split evenly) and stops the clock when every subscriber has
// received its last event: the reported ns/event is wall time per event
// (inverse throughput), not latency. Engines are built, started and
// subscribed before the clock starts and stopped after it stops.
package busbench
