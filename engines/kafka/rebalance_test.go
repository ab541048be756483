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
)

// handling is one handler call that completed: who handled which record.
type handling struct {
	member    string
	payload   string
	partition int32
	offset    int64
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
// Every produced event must be handled at least once. An event may be
// handled twice only if the crashed member handled it and its offset was
// not yet committed when the member crashed; the test counts those
// duplicates and logs them.
func TestRebalance(t *testing.T) {
	for _, strategy := range []string{"range", "cooperative-sticky"} {
		t.Run("with "+strategy+" a member joining mid-stream then one crashing lose nothing", func(t *testing.T) {
			rebalanceScenario(t, strategy)
		})
	}
}

func rebalanceScenario(t *testing.T, strategy string) {
	const (
		total      = 1500
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
				"sessionTimeout":    "800ms",
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
			led.add(handling{member: name, payload: fmt.Sprint(e.Payload), partition: p, offset: o})
			return nil
		}
	}

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

	publish(0, total/3)
	eventually(t, 30*time.Second, "m1 to handle the first third", func() bool { return led.distinct() >= total/6 })
	if err := m2.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Subscribe(ctxT(t), topic, handlerFor("m2", nil)); err != nil {
		t.Fatal(err)
	}
	publish(total/3, 2*total/3)
	eventually(t, 30*time.Second, "both members to handle events", func() bool {
		var n1, n2 int
		for _, h := range led.snapshot() {
			if h.member == "m1" {
				n1++
			} else {
				n2++
			}
		}
		return n1 > total/3 && n2 > 0
	})

	// Crash m1: it stops handling, and its connections stop answering.
	crashed.Store(true)
	k.Isolate("m1")
	committed := committedOffsets(t, k, group, topic, partitions)
	crashedAt := len(led.snapshot())

	publish(2*total/3, total)
	eventually(t, 60*time.Second, "every event to be handled", func() bool { return led.distinct() >= total })

	// Check: all handled; duplicates only above the crash-time commits.
	all := led.snapshot()
	count := map[string]int{}
	first := map[string]handling{}
	var byM1, byM2 int
	for i, h := range all {
		count[h.payload]++
		if _, ok := first[h.payload]; !ok {
			first[h.payload] = h
		}
		if h.member == "m1" {
			byM1++
			if i >= crashedAt {
				t.Errorf("m1 handled %s after it crashed", h.payload)
			}
		} else {
			byM2++
		}
	}
	var dups, dupsBeforeCrash int
	for payload, n := range count {
		if n == 1 {
			continue
		}
		dups += n - 1
		h := first[payload]
		if h.member != "m1" || h.offset < committed[h.partition] {
			dupsBeforeCrash++
			t.Errorf("%s handled %d times, first by %s at %d/%d, but that offset was committed (%d) when m1 crashed",
				payload, n, h.member, h.partition, h.offset, committed[h.partition])
		}
	}
	for i := 0; i < total; i++ {
		if count[fmt.Sprintf("e%05d", i)] == 0 {
			t.Errorf("e%05d was never handled", i)
		}
	}
	t.Logf("%s: %d events; m1 handled %d before crashing, m2 handled %d; %d duplicates, all of events m1 had handled but not committed (commits at crash: %v)",
		strategy, total, byM1, byM2, dups, committed)

	k.Heal("m1")
	releaseM1()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = m1.Stop(ctx)
	m1.WaitLingering()
}

// committedOffsets reads the group's committed offsets through a client
// of its own.
func committedOffsets(t *testing.T, k *testinfra.KafkaCluster, group, topic string, partitions int32) map[int32]int64 {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.ClientID = "observer"
	admin, err := sarama.NewClusterAdmin(k.Addrs(), cfg)
	if err != nil {
		t.Fatal(err)
	}
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
