package sharded

import (
	"slices"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
)

// routeTable is an immutable snapshot of the subscriptions, replaced
// (copy on write) by every Subscribe and Unsubscribe. Workers resolve a
// topic against it once and cache the answer until the table changes.
type routeTable struct {
	exact    map[string][]*subscription // literal topic → subscriptions
	patterns []*subscription            // wildcard subscriptions
	// retired are subscriptions removed while events accepted for them
	// were still queued: the workers count those events as skipped
	// (see subscription.cutoffs).
	retired []*subscription
}

// resolved lists the subscriptions matching one topic, in subscription
// order.
type resolved struct {
	sync  []*subscription
	async []*subscription
	// retired are the removed subscriptions matching the topic whose
	// queued events are counted as skipped.
	retired []*subscription
	// tc are the topic's TopicStats counters, looked up once per
	// resolution so that the worker counts a whole run with one atomic
	// add per counter and never looks the topic up per event.
	tc *enginekit.TopicCounters
}

func buildRoutes(subs map[string]*subscription, retired []*subscription) *routeTable {
	t := &routeTable{exact: map[string][]*subscription{}, retired: retired}
	for _, s := range subs {
		if bus.IsPattern(s.topic) {
			t.patterns = append(t.patterns, s)
		} else {
			t.exact[s.topic] = append(t.exact[s.topic], s)
		}
	}
	return t
}

func (t *routeTable) resolve(topic string) *resolved {
	var all []*subscription
	all = append(all, t.exact[topic]...)
	for _, s := range t.patterns {
		if bus.MatchTopic(s.topic, topic) {
			all = append(all, s)
		}
	}
	slices.SortFunc(all, func(a, b *subscription) int {
		switch {
		case a.seq < b.seq:
			return -1
		case a.seq > b.seq:
			return 1
		}
		return 0
	})
	r := &resolved{}
	for _, s := range t.retired {
		if bus.MatchTopic(s.topic, topic) {
			r.retired = append(r.retired, s)
		}
	}
	for _, s := range all {
		if s.async {
			r.async = append(r.async, s)
		} else {
			r.sync = append(r.sync, s)
		}
	}
	return r
}

// maxCachedTopics bounds a worker's route cache; past it the cache is
// reset, so a stream of distinct topics cannot grow memory without bound.
const maxCachedTopics = 4096

// routeCache is a worker's memo of resolved topics for one routeTable.
// It is owned by one goroutine.
type routeCache struct {
	table     *routeTable
	topics    *enginekit.TopicTable
	m         map[string]*resolved
	lastTopic string
	last      *resolved
}

func (c *routeCache) refresh(t *routeTable) {
	if t != c.table {
		c.table = t
		clear(c.m)
		c.last, c.lastTopic = nil, ""
	}
}

func (c *routeCache) resolve(topic string) *resolved {
	if c.last != nil && topic == c.lastTopic {
		return c.last
	}
	r, ok := c.m[topic]
	if !ok {
		r = c.table.resolve(topic)
		r.tc = c.topics.Counters(topic)
		if len(c.m) >= maxCachedTopics {
			clear(c.m)
		}
		c.m[topic] = r
	}
	c.last, c.lastTopic = r, topic
	return r
}
