package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
)

// topicCache remembers which topics are known to exist, so that Publish
// checks (and, with autoCreateTopics, creates) a topic once per run. The
// fast path is one sync.Map lookup.
type topicCache struct {
	r     *runState
	known sync.Map // topic name -> struct{}
	mu    sync.Mutex
}

func newTopicCache(r *runState) *topicCache { return &topicCache{r: r} }

// ensure returns nil once topic exists, creating it when autoCreateTopics
// is on; otherwise a *TopicError wrapping ErrTopicNotFound (or the
// broker's error) for op ("publish", "subscribe").
func (c *topicCache) ensure(ctx context.Context, topic, op string) error {
	if _, ok := c.known.Load(topic); ok {
		return nil
	}
	return c.ensureSlow(ctx, topic, op)
}

func (c *topicCache) ensureSlow(ctx context.Context, topic, op string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.known.Load(topic); ok {
		return nil
	}
	parts, err := c.r.describe(topic)
	if err != nil && !errors.Is(err, ErrTopicNotFound) {
		return &TopicError{Topic: topic, Op: op, Err: err}
	}
	if err != nil {
		cfg := c.r.b.set.cfg
		if !cfg.AutoCreateTopics {
			return &TopicError{Topic: topic, Op: op, Err: fmt.Errorf("%w (create it, or set autoCreateTopics: true)", ErrTopicNotFound)}
		}
		detail := &sarama.TopicDetail{NumPartitions: cfg.TopicPartitions, ReplicationFactor: cfg.TopicReplicationFactor, ConfigEntries: cfg.createdTopicConfig()}
		if err := c.r.admin.CreateTopic(topic, detail, false); err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return &TopicError{Topic: topic, Op: "create", Err: err}
		}
		if parts, err = c.r.awaitTopic(ctx, topic); err != nil {
			return &TopicError{Topic: topic, Op: "create", Err: err}
		}
		c.r.poke() // wildcard subscriptions may want it
	}
	_ = parts
	c.known.Store(topic, struct{}{})
	return nil
}

// describe returns the partitions of topic, or an error wrapping
// ErrTopicNotFound when it does not exist.
func (r *runState) describe(topic string) ([]int32, error) {
	md, err := r.admin.DescribeTopics([]string{topic})
	if err != nil {
		return nil, err
	}
	for _, t := range md {
		if t.Name != topic {
			continue
		}
		switch {
		case errors.Is(t.Err, sarama.ErrUnknownTopicOrPartition):
			return nil, ErrTopicNotFound
		case t.Err != sarama.ErrNoError:
			return nil, t.Err
		case len(t.Partitions) == 0:
			return nil, sarama.ErrLeaderNotAvailable
		}
		ps := make([]int32, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, p.ID)
		}
		slices.Sort(ps)
		return ps, nil
	}
	return nil, ErrTopicNotFound
}

// awaitTopic waits (up to 10s or ctx) until a just-created topic has
// partitions with leaders.
func (r *runState) awaitTopic(ctx context.Context, topic string) ([]int32, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		parts, err := r.describe(topic)
		if err == nil {
			return parts, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("topic created but not ready: %w", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// topicList is the cluster's topics with their partitions, internal
// topics ("__consumer_offsets"...) left out.
type topicList map[string][]int32

// listTopics reads every topic of the cluster (one metadata request).
func (r *runState) listTopics() (topicList, error) {
	md, err := r.admin.DescribeTopics(nil)
	if err != nil {
		return nil, err
	}
	out := make(topicList, len(md))
	for _, t := range md {
		if t.IsInternal || t.Err != sarama.ErrNoError || len(t.Partitions) == 0 || len(t.Name) > 1 && t.Name[:2] == "__" {
			continue
		}
		ps := make([]int32, 0, len(t.Partitions))
		for _, p := range t.Partitions {
			ps = append(ps, p.ID)
		}
		slices.Sort(ps)
		out[t.Name] = ps
	}
	return out, nil
}

// poke asks the topic watcher for a refresh now.
func (r *runState) poke() {
	select {
	case r.nudge <- struct{}{}:
	default:
	}
}

// watchTopics re-reads the topic list every topicRefreshInterval (or when
// poked) and hands it to every subscription, which rejoins its group when
// its set of matching topics or partitions changed. It runs until Stop.
func (r *runState) watchTopics() {
	defer r.wg.Done()
	t := time.NewTicker(r.b.set.cfg.TopicRefreshInterval.Std())
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-t.C:
		case <-r.nudge:
		}
		list, err := r.listTopics()
		if err != nil {
			if !isClosed(r.quit) {
				r.b.errs.Report(broker.ScopeDiscover, fmt.Errorf("kafka engine: list topics: %w", err))
			}
			continue
		}
		for _, s := range r.b.subscriptions() {
			s.reconcile(r, list)
		}
	}
}

// createdTopicConfig returns the topic configs sent with CreateTopics:
// retention.ms from RetentionDays, or nil for the cluster's defaults.
func (c *Config) createdTopicConfig() map[string]*string {
	if c.RetentionDays <= 0 {
		return nil
	}
	ms := strconv.FormatInt(int64(c.RetentionDays)*24*int64(time.Hour/time.Millisecond), 10)
	return map[string]*string{"retention.ms": &ms}
}
