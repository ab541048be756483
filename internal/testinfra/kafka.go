package testinfra

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// KafkaCluster is an in-process Kafka cluster (github.com/twmb/franz-go/pkg/kfake)
// that speaks the real Kafka wire protocol on 127.0.0.1. No Apache Kafka
// broker can be installed on the machines these tests run on, so kfake is
// the broker every Kafka test uses; sarama talks to it exactly as it talks
// to Kafka.
//
// Methods are safe for concurrent use. The cluster is closed at test
// cleanup.
type KafkaCluster struct {
	mu      sync.Mutex
	cluster *kfake.Cluster
	opts    []kfake.Opt
	ports   []int
	dataDir string
	gate    *netGate
}

// KafkaOptions selects what StartKafka builds. The zero value is one broker,
// no auto topic creation, in-memory storage and kfake's default group
// session bounds.
type KafkaOptions struct {
	// Brokers is the number of brokers. Default: 1.
	Brokers int
	// AutoCreateTopics lets metadata requests create missing topics
	// (kfake.AllowAutoTopicCreation).
	AutoCreateTopics bool
	// DefaultPartitions is the partition count of auto-created topics
	// and CreateTopics with -1 partitions. Default: kfake's (10).
	DefaultPartitions int
	// GroupMinSessionTimeout lowers the smallest session timeout a group
	// member may ask for (kfake's default is 6s, like Kafka's), so that
	// member-death tests run in under a second.
	GroupMinSessionTimeout time.Duration
	// Persistent stores the log in a temporary directory (kfake.DataDir
	// with SyncWrites), so Restart keeps every acknowledged record.
	Persistent bool
	// SeedTopics are created with SeedPartitions partitions at start.
	SeedTopics []string
	// SeedPartitions is the partition count of SeedTopics. Default: 1.
	SeedPartitions int32
	// Extra are further kfake options (SASL users, TLS...).
	Extra []kfake.Opt
}

// StartKafka starts a kfake cluster for the test and closes it at cleanup.
// It fails the test with an actionable message when the cluster cannot
// start.
func StartKafka(t testing.TB, o KafkaOptions) *KafkaCluster {
	t.Helper()
	if o.Brokers <= 0 {
		o.Brokers = 1
	}
	ports, err := freePorts(o.Brokers)
	if err != nil {
		t.Fatalf("kfake: reserve ports: %v", err)
	}
	gate := newNetGate()
	opts := []kfake.Opt{kfake.Ports(ports...), kfake.ListenFn(gate.listen)}
	if o.AutoCreateTopics {
		opts = append(opts, kfake.AllowAutoTopicCreation())
	}
	if o.DefaultPartitions > 0 {
		opts = append(opts, kfake.DefaultNumPartitions(o.DefaultPartitions))
	}
	if o.GroupMinSessionTimeout > 0 {
		opts = append(opts, kfake.GroupMinSessionTimeout(o.GroupMinSessionTimeout))
	}
	if len(o.SeedTopics) > 0 {
		n := o.SeedPartitions
		if n <= 0 {
			n = 1
		}
		opts = append(opts, kfake.SeedTopics(n, o.SeedTopics...))
	}
	k := &KafkaCluster{ports: ports, gate: gate}
	if o.Persistent {
		k.dataDir = t.TempDir()
		opts = append(opts, kfake.DataDir(k.dataDir), kfake.SyncWrites())
	}
	opts = append(opts, o.Extra...)
	k.opts = opts
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatalf("kfake: start cluster: %v (the broker is in-process: check that 127.0.0.1 ports can be bound)", err)
	}
	k.cluster = c
	t.Cleanup(k.Close)
	return k
}

// Addrs returns the brokers' host:port addresses (stable across Restart).
func (k *KafkaCluster) Addrs() []string {
	out := make([]string, len(k.ports))
	for i, p := range k.ports {
		out[i] = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	return out
}

// URL returns the brokers as an externalBrokerURL value
// ("kafka://127.0.0.1:p1,127.0.0.1:p2").
func (k *KafkaCluster) URL() string { return "kafka://" + strings.Join(k.Addrs(), ",") }

// Cluster returns the running kfake cluster, for fault injection
// (ControlKey, GroupInfo, WaitGroupStable...).
func (k *KafkaCluster) Cluster() *kfake.Cluster {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cluster
}

// Close stops the cluster; it is idempotent.
func (k *KafkaCluster) Close() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		k.gate.healAll()
		k.cluster.Close()
		k.cluster = nil
	}
}

// Isolate cuts off every connection of the clients that identify
// themselves with clientID (the Kafka client.id, sent with every request),
// present and future, as a network partition would: their requests are
// never answered and nothing is closed, so the client only notices through
// its own timeouts (a consumer-group member stops heartbeating and the
// coordinator expires it after its session timeout). Heal ends it.
func (k *KafkaCluster) Isolate(clientID string) { k.gate.isolate(clientID) }

// Heal ends Isolate: the isolated connections are closed (the client sees
// them fail and reconnects) and new ones are served again.
func (k *KafkaCluster) Heal(clientID string) { k.gate.heal(clientID) }

// Down stops the cluster, keeping its data when it was started
// Persistent; Up starts it again on the same ports.
func (k *KafkaCluster) Down() { k.Close() }

// Up starts a stopped cluster again on the same ports, reloading its data
// when it was started Persistent. The ports were released by Down and are
// re-bound, retried for a short while in case the kernel holds them.
func (k *KafkaCluster) Up(t testing.TB) {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		return
	}
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		var c *kfake.Cluster
		c, err = kfake.NewCluster(k.opts...)
		if err == nil {
			k.cluster = c
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("kfake: restart cluster on ports %v: %v", k.ports, err)
}

// Restart stops and restarts the cluster (Down then Up).
func (k *KafkaCluster) Restart(t testing.TB) {
	t.Helper()
	k.Down()
	k.Up(t)
}

// freePorts reserves n distinct free loopback ports. They are released
// before kfake binds them, so another process could take one in between;
// that is rare enough on a test machine, and fails loudly.
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	out := make([]int, 0, n)
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen on 127.0.0.1:0: %w", err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}
