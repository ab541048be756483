package bus

// OtherTopic is the topic under which a TopicTable (and the exporters)
// count every topic beyond their limit, so that a topic explosion cannot
// grow memory or a metrics registry without bound. A real topic named
// "other" is counted together with the overflow.
const OtherTopic = "other"

// DefaultTopicLimit is the number of distinct topics a zero-value
// TopicTable keeps apart before folding new ones into OtherTopic. It is
// the one default topic limit of the module: every engine's topicLimit
// and the exporters' topic label limit (exporters.DefaultTopicLimit)
// default to it.
const DefaultTopicLimit = 256

// TopicStats are an engine's figures for one published topic (not a
// subscription pattern). Counters are monotonic for the life of the
// engine value.
type TopicStats struct {
	// Published counts events accepted by Publish on the topic.
	Published uint64 `json:"published"`
	// Delivered counts handler calls for events of the topic that
	// returned, successfully or not.
	Delivered uint64 `json:"delivered"`
	// Failed counts handler calls that returned an error or panicked.
	Failed uint64 `json:"failed"`
	// Dropped counts (event, subscription) pairs never handed to a
	// handler.
	Dropped uint64 `json:"dropped"`
	// Retried counts handler calls repeated after a failure (broker
	// engines' retry policy; in-process engines do not retry).
	Retried uint64 `json:"retried"`
	// DeadLettered counts events of the topic moved to its dead-letter
	// topic (after their retries, or undecodable/oversized on receive).
	DeadLettered uint64 `json:"deadLettered"`
}

// Add returns the field-wise sum of s and o.
func (s TopicStats) Add(o TopicStats) TopicStats {
	s.Published += o.Published
	s.Delivered += o.Delivered
	s.Failed += o.Failed
	s.Dropped += o.Dropped
	s.Retried += o.Retried
	s.DeadLettered += o.DeadLettered
	return s
}

// TopicStatsProvider is implemented by engines that report per-topic
// figures. The map is keyed by published topic; it holds at most the
// engine's topic limit plus OtherTopic, and is a fresh copy the caller
// may keep.
type TopicStatsProvider interface {
	TopicStats() map[string]TopicStats
}
