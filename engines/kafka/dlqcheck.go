package kafka

import (
	"errors"
	"fmt"
	"slices"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
)

// reportMissingDeadLetterTopics checks, when autoCreateTopics is off, that
// the dead-letter topic of each of topics exists, and reports each missing
// one once per run to the error observer (ScopeDeadLetter, a *TopicError
// wrapping ErrDeadLetterTopicMissing). Without the topic, an event of that
// topic which exhausts its retries cannot be dead-lettered: after a few
// attempts it is dropped (reported with ErrDeadLetterDropped, counted as
// dropped) so its partition moves on. Reporting at Subscribe and when a
// wildcard subscription discovers a topic turns that later loss into a
// message at deploy time. sub names the subscription in the report.
func (r *runState) reportMissingDeadLetterTopics(sub string, topics topicList) {
	if r.b.set.cfg.AutoCreateTopics {
		return // the dead-letter publish creates it
	}
	source := map[string]string{} // dead-letter topic -> topic
	for t := range topics {
		dlq, ok := r.b.opts.DeadLetterTopicFor(t)
		if !ok {
			continue // dead-lettering disabled, or t is a dead-letter topic
		}
		if _, known := r.topics.known.Load(dlq); known {
			continue
		}
		if _, done := r.dlqReported.Load(dlq); done {
			continue
		}
		source[dlq] = t
	}
	if len(source) == 0 {
		return
	}
	names := make([]string, 0, len(source))
	for dlq := range source {
		names = append(names, dlq)
	}
	slices.Sort(names)
	md, err := r.admin.DescribeTopics(names)
	if err != nil {
		r.b.errs.Report(broker.ScopeDeadLetter, fmt.Errorf("kafka engine: subscription %q: check dead-letter topics %v: %w", sub, names, err))
		return
	}
	for _, t := range md {
		from, ok := source[t.Name]
		if !ok {
			continue
		}
		switch {
		case t.Err == sarama.ErrNoError && len(t.Partitions) > 0:
			r.topics.known.Store(t.Name, struct{}{})
		case errors.Is(t.Err, sarama.ErrUnknownTopicOrPartition):
			if _, dup := r.dlqReported.LoadOrStore(t.Name, struct{}{}); dup {
				continue
			}
			r.b.errs.Report(broker.ScopeDeadLetter, &TopicError{
				Topic: t.Name,
				Op:    fmt.Sprintf("subscription %q: dead-letter", sub),
				Err: fmt.Errorf("%w: with autoCreateTopics off, an event of %q that exhausts its retries cannot be dead-lettered, "+
					"it will be dropped (reported and counted) after a few attempts; create the topic, set autoCreateTopics: true, "+
					`or disable dead-lettering with deadLetterTopic: "-"`, ErrDeadLetterTopicMissing, from),
			})
		}
	}
}
