package bus

import "context"

// EngineStats are the figures an engine reports about itself. Counters are
// monotonic for the life of the engine value; gauges (InFlight, QueueDepth,
// Lag) are instantaneous. A figure the engine cannot know stays zero.
type EngineStats struct {
	// Published counts events accepted by Publish.
	Published uint64 `json:"published"`
	// Delivered counts handler calls that returned, successfully or not.
	Delivered uint64 `json:"delivered"`
	// Dropped counts accepted events that were never handed to a handler
	// (opt-in drop modes, unsubscribed with events queued, Stop timeout).
	Dropped uint64 `json:"dropped"`
	// Failed counts handler calls that returned an error or panicked.
	Failed uint64 `json:"failed"`
	// Filtered counts events a subscription's filter rejected
	// (FilteredHandler, ErrEventFiltered): neither Delivered nor Failed.
	Filtered uint64 `json:"filtered"`
	// Panics counts handler calls that panicked (a subset of Failed).
	Panics uint64 `json:"panics"`
	// Retried counts redeliveries after a failure (broker engines).
	Retried uint64 `json:"retried"`
	// DeadLettered counts events moved to a dead-letter topic.
	DeadLettered uint64 `json:"deadLettered"`
	// InFlight is the number of handler calls running now.
	InFlight int64 `json:"inFlight"`
	// QueueDepth is the number of accepted events waiting for a handler
	// (ring depth, queued events, Redis pending entries).
	QueueDepth int64 `json:"queueDepth"`
	// Lag is how far consumers are behind producers where the engine
	// knows it: records (Kafka) or milliseconds (Kinesis).
	Lag int64 `json:"lag"`
	// LossyShutdown is set when a Stop deadline expired with events
	// still queued; those events are counted in Dropped.
	LossyShutdown bool `json:"lossyShutdown"`
	// HandlerLatency is the distribution of handler call durations
	// (LatencyHistogram.Snapshot); zero when the engine does not
	// measure it.
	HandlerLatency LatencySnapshot `json:"handlerLatency"`
	// Shards is the number of shards the engine runs now, for engines
	// that have them (sharded); zero otherwise.
	Shards int64 `json:"shards"`
	// ScalingChanges counts shard-count changes made by the engine's
	// scaling (sharded: ApplyScaling and the scaling monitor).
	ScalingChanges uint64 `json:"scalingChanges"`
}

// Add returns the field-wise sum of s and o (LossyShutdown is or-ed,
// HandlerLatency histograms are added bucket-wise).
func (s EngineStats) Add(o EngineStats) EngineStats {
	s.Published += o.Published
	s.Delivered += o.Delivered
	s.Dropped += o.Dropped
	s.Failed += o.Failed
	s.Filtered += o.Filtered
	s.Panics += o.Panics
	s.Retried += o.Retried
	s.DeadLettered += o.DeadLettered
	s.InFlight += o.InFlight
	s.QueueDepth += o.QueueDepth
	s.Lag += o.Lag
	s.LossyShutdown = s.LossyShutdown || o.LossyShutdown
	s.HandlerLatency = s.HandlerLatency.Add(o.HandlerLatency)
	s.Shards += o.Shards
	s.ScalingChanges += o.ScalingChanges
	return s
}

// EngineStatsProvider is implemented by engines that report EngineStats.
type EngineStatsProvider interface {
	EngineStats() EngineStats
}

// Flusher is implemented by engines that offer a delivery barrier: Flush
// returns nil once every event whose Publish returned before the call has
// been handed to its handlers and they returned (or the event was counted
// as dropped). It returns ctx's error if ctx ends first. The module's
// PreStop (drain) calls it after refusing new publishes.
type Flusher interface {
	Flush(ctx context.Context) error
}
