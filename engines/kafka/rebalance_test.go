package kafka_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

// handling is one handler call that completed: who handled which record,
// and when.
type handling struct {
	member    string
	payload   string
	partition int32
	offset    int64
	at        time.Time
}

// commitLog polls the group's committed offsets and remembers, per
// partition, when each value was first seen. A commit seen at time t was
// made before t, so "offset o was committed before t" can be checked
// soundly (a commit missed between two polls only weakens the check).
type commitLog struct {
	mu      sync.Mutex
	entries map[int32][]commitSeen
}

type commitSeen struct {
	at     time.Time
	offset int64
}

// committedBefore returns the highest offset of partition p seen
// committed before t.
func (c *commitLog) committedBefore(p int32, t time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	best := int64(-1)
	for _, e := range c.entries[p] {
		if e.at.Before(t) && e.offset > best {
			best = e.offset
		}
	}
	return best
}

// watchCommits polls every few milliseconds until stop is closed.
func watchCommits(t *testing.T, k *testinfra.KafkaCluster, group, topic string, partitions int32, stop <-chan struct{}) (*commitLog, <-chan struct{}) {
	log := &commitLog{entries: map[int32][]commitSeen{}}
	cfg := sarama.NewConfig()
	cfg.ClientID = "observer"
	admin, err := sarama.NewClusterAdmin(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]int32, partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer admin.Close()
		last := map[int32]int64{}
		for {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
			if err != nil {
				continue
			}
			now := time.Now()
			log.mu.Lock()
			for _, p := range ps {
				if b := resp.GetBlock(topic, p); b != nil && b.Offset >= 0 && b.Offset != last[p] {
					last[p] = b.Offset
					log.entries[p] = append(log.entries[p], commitSeen{now, b.Offset})
				}
			}
			log.mu.Unlock()
		}
	}()
	return log, done
}

// ledger records every completed handling, from every member.
type ledger struct {
	mu  sync.Mutex
	all []handling
}

func (l *ledger) add(h handling) {
	l.mu.Lock()
	l.all = append(l.all, h)
	l.mu.Unlock()
}

func (l *ledger) snapshot() []handling {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]handling(nil), l.all...)
}

func (l *ledger) distinct() int {
	seen := map[string]bool{}
	for _, h := range l.snapshot() {
		seen[h.payload] = true
	}
	return len(seen)
}

// parseEntry splits a Delivery.EntryID "topic/partition/offset".
func parseEntry(t *testing.T, id string) (int32, int64) {
	parts := strings.Split(id, "/")
	p, err1 := strconv.ParseInt(parts[len(parts)-2], 10, 32)
	o, err2 := strconv.ParseInt(parts[len(parts)-1], 10, 64)
	if err1 != nil || err2 != nil {
		t.Errorf("bad entry id %q", id)
	}
	return int32(p), o
}

// TestRebalance runs two members of one consumer group over a
// four-partition topic while events stream in: the second member joins
// mid-stream, then the first crashes (a network partition: it stops
// heartbeating and committing, and never leaves the group), so the
// coordinator expires it after its session timeout and the second member
// takes over its partitions from their committed offsets.
//
// Every produced event must be handled at least once, and an event may be
// handled again only if its offset had not been committed before: the
// test polls the group's commits and checks every repeated handling
// against the commits seen before it. It counts the duplicates: those of
// events the crashed member had handled but not committed, and those of
// commits the broker refused because the group's generation had moved on
// (a rebalance between a member's last handled record and its commit).
func TestRebalance(t *testing.T) {
	for _, strategy := range []string{"range", "cooperative-sticky"} {
		t.Run("with "+strategy+" a member joining mid-stream then one crashing lose nothing", func(t *testing.T) {
			rebalanceScenario(t, strategy)
		})
	}
}

func rebalanceScenario(t *testing.T, strategy string) {
	const (
		third      = 500
		partitions = 4
	)
	topic := "rebalance." + strategy
	group := "group." + strategy
	k := testinfra.StartKafka(t, testinfra.KafkaOptions{
		GroupMinSessionTimeout: 200 * time.Millisecond,
		SeedTopics:             []string{topic},
		SeedPartitions:         partitions,
	})
	member := func(clientID string) map[string]any {
		return map[string]any{
			"brokers":  k.Addrs(),
			"clientId": clientID,
			"groupId":  group,
			"consumer": map[string]string{
				"rebalanceStrategy": strategy,
				"sessionTimeout":    "1s",
				"heartbeatInterval": "100ms",
				"commitInterval":    "100ms",
				"channelBufferSize": "16",
			},
		}
	}
	var led ledger
	var crashed atomic.Bool
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseM1 := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(releaseM1)

	handlerFor := func(name string, dead *atomic.Bool) bus.EventHandler {
		return func(ctx context.Context, e bus.Event) error {
			if dead != nil && dead.Load() {
				<-release // a crashed process handles nothing more
				return nil
			}
			d, ok := broker.DeliveryFrom(ctx)
			if !ok {
				t.Errorf("handler context carries no delivery")
				return nil
			}
			p, o := parseEntry(t, d.EntryID)
			led.add(handling{member: name, payload: fmt.Sprint(e.Payload), partition: p, offset: o, at: time.Now()})
			return nil
		}
	}

	stopWatch := make(chan struct{})
	commits, watchDone := watchCommits(t, k, group, topic, partitions, stopWatch)
	defer func() { close(stopWatch); <-watchDone }()

	pub := started(t, map[string]any{"brokers": k.Addrs(), "clientId": "pub"})
	m1 := started(t, member("m1"))
	m1.SetErrorObserver(broker.ErrorObserverFunc(func(broker.Scope, error) {})) // it will fail to reach the broker
	if _, err := m1.Subscribe(ctxT(t), topic, handlerFor("m1", &crashed)); err != nil {
		t.Fatal(err)
	}
	m2 := newEngine(t, member("m2"))

	publish := func(from, to int) {
		for i := from; i < to; i++ {
			e := bus.Event{Topic: topic, Payload: fmt.Sprintf("e%05d", i), Metadata: map[string]any{bus.MetadataKeyPartition: strconv.Itoa(i % 32)}}
			if err := pub.Publish(ctxT(t), e); err != nil {
				t.Fatalf("publish %d: %v", i, err)
			}
		}
	}

	total := 3 * third // grows if the middle phase needs more events
	publish(0, third)
	testutil.Eventually(t, 30*time.Second, "m1 to handle the first third", func() bool { return led.distinct() >= third/2 })
	if err := m2.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Subscribe(ctxT(t), topic, handlerFor("m2", nil)); err != nil {
		t.Fatal(err)
	}
	// Publish the second third once m2 owns partitions, if the group says
	// so within a few seconds; then, while m2 has handled nothing (m1 may
	// have taken everything before the rebalance completed: fast machines,
	// no -race, or a slow cooperative rebalance), keep publishing a few
	// more events.
	deadline := time.Now().Add(5 * time.Second)
	for groupAssignments(t, k, group, topic) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	publish(third, 2*third)
	middleEnd := 2 * third
	both := func() bool {
		var n1, n2 int
		for _, h := range led.snapshot() {
			if h.member == "m1" {
				n1++
			} else {
				n2++
			}
		}
		return n1 > third && n2 > 0
	}
	for topUp := time.Now().Add(30 * time.Second); !both(); {
		if time.Now().After(topUp) {
			t.Fatalf("m2 handled nothing within 30s of joining (%d events published)", middleEnd)
		}
		publish(middleEnd, middleEnd+10)
		middleEnd += 10
		time.Sleep(50 * time.Millisecond)
	}
	total = middleEnd + third

	// Crash m1: it stops handling, and its connections stop answering.
	crashed.Store(true)
	k.Isolate("m1")
	committed := committedOffsets(t, k, group, topic, partitions)
	crashedAt := len(led.snapshot())

	publish(middleEnd, total)
	testutil.Eventually(t, 60*time.Second, "every event to be handled", func() bool { return led.distinct() >= total })

	// Check: all handled; a repeated handling only of an offset that had
	// not been committed before it.
	all := led.snapshot()
	count := map[string]int{}
	first := map[string]handling{}
	var byM1, byM2, dups, dupsCrash, dupsRefused int
	for i, h := range all {
		count[h.payload]++
		if h.member == "m1" {
			byM1++
			if i >= crashedAt {
				t.Errorf("m1 handled %s after it crashed", h.payload)
			}
		} else {
			byM2++
		}
		f, seen := first[h.payload]
		if !seen {
			first[h.payload] = h
			continue
		}
		dups++
		if c := commits.committedBefore(h.partition, h.at); h.offset < c {
			t.Errorf("%s (%d/%d) handled again by %s although offset %d had been committed before",
				h.payload, h.partition, h.offset, h.member, c)
		}
		if f.member == "m1" && h.member == "m2" {
			dupsCrash++
		} else {
			dupsRefused++
		}
	}
	for i := 0; i < total; i++ {
		if count[fmt.Sprintf("e%05d", i)] == 0 {
			t.Errorf("e%05d was never handled", i)
		}
	}
	t.Logf("%s: %d events; m1 handled %d before crashing, m2 handled %d; %d duplicates, none of a committed offset: %d of events m1 had handled but not committed (commits at crash: %v), %d after a commit the broker refused during a rebalance",
		strategy, total, byM1, byM2, dups, dupsCrash, committed, dupsRefused)

	k.Heal("m1")
	releaseM1()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = m1.Stop(ctx)
	m1.WaitLingering()
}

// observerAdmin returns a cluster admin of its own ("observer"); the
// caller closes it.
func observerAdmin(t *testing.T, k *testinfra.KafkaCluster) sarama.ClusterAdmin {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.ClientID = "observer"
	admin, err := sarama.NewClusterAdmin(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return admin
}

// groupAssignments returns how many members of group own at least one
// partition of topic.
func groupAssignments(t *testing.T, k *testinfra.KafkaCluster, group, topic string) int {
	t.Helper()
	admin := observerAdmin(t, k)
	defer admin.Close()
	groups, err := admin.DescribeConsumerGroups([]string{group})
	if err != nil || len(groups) != 1 {
		return 0
	}
	n := 0
	for _, m := range groups[0].Members {
		a, err := m.GetMemberAssignment()
		if err == nil && a != nil && len(a.Topics[topic]) > 0 {
			n++
		}
	}
	return n
}

// committedOffsets reads the group's committed offsets through a client
// of its own.
func committedOffsets(t *testing.T, k *testinfra.KafkaCluster, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	admin := observerAdmin(t, k)
	defer admin.Close()
	ps := make([]int32, partitions)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for _, p := range ps {
		if b := resp.GetBlock(topic, p); b != nil {
			out[p] = b.Offset
		}
	}
	return out
}
