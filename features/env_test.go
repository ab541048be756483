package features

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// featureEnv holds the servers of one feature file. Each is started the
// first time a scenario asks for it, on a free 127.0.0.1 port, and stopped
// when the feature file is done; scenarios isolate themselves from each
// other with unique topic and key prefixes.
type featureEnv struct {
	t *testing.T

	redis   *testinfra.Redis
	kafka   *testinfra.KafkaCluster
	kinesis *testinfra.Kinesalite
}

// Redis returns the feature's private redis-server.
func (e *featureEnv) Redis() (*testinfra.Redis, error) {
	if e.redis != nil {
		return e.redis, nil
	}
	r, err := testinfra.NewRedis()
	if err != nil {
		return nil, fmt.Errorf("redis-server: %w", err)
	}
	e.t.Cleanup(func() { _ = r.Close() })
	e.redis = r
	return r, nil
}

// Kafka returns the feature's in-process Kafka cluster (kfake, the real
// Kafka wire protocol). Group sessions may be as short as 200ms so that a
// crashed member is noticed quickly.
func (e *featureEnv) Kafka() (k *testinfra.KafkaCluster, err error) {
	if e.kafka != nil {
		return e.kafka, nil
	}
	err = catchFatal(e.t, func(tb testing.TB) {
		k = testinfra.StartKafka(tb, testinfra.KafkaOptions{
			AutoCreateTopics:       true,
			DefaultPartitions:      2,
			GroupMinSessionTimeout: 200 * time.Millisecond,
		})
	})
	if err != nil {
		return nil, fmt.Errorf("kfake: %w", err)
	}
	e.kafka = k
	return k, nil
}

// Kinesis returns the feature's private kinesalite.
func (e *featureEnv) Kinesis() (*testinfra.Kinesalite, error) {
	if e.kinesis != nil {
		return e.kinesis, nil
	}
	k, err := testinfra.NewKinesalite(testinfra.KinesaliteOptions{})
	if err != nil {
		return nil, err
	}
	e.t.Cleanup(func() { _ = k.Close() })
	e.kinesis = k
	return k, nil
}

// fatalTB turns Fatal calls of a testinfra helper into an error for the
// step that called it (a step runs on its scenario's goroutine, not on the
// feature's), while Cleanup and TempDir still belong to the feature.
type fatalTB struct {
	testing.TB
}

type fatalStop struct{ msg string }

func (fatalTB) Helper() {}

func (f fatalTB) Fatalf(format string, args ...any) { panic(fatalStop{fmt.Sprintf(format, args...)}) }

func (f fatalTB) Fatal(args ...any) { panic(fatalStop{fmt.Sprint(args...)}) }

func (f fatalTB) FailNow() { panic(fatalStop{"FailNow"}) }

// catchFatal runs fn with a TB whose Fatal calls become the returned error.
func catchFatal(t testing.TB, fn func(tb testing.TB)) (err error) {
	defer func() {
		if v := recover(); v != nil {
			stop, ok := v.(fatalStop)
			if !ok {
				panic(v)
			}
			err = fmt.Errorf("%s", stop.msg)
		}
	}()
	fn(fatalTB{t})
	return nil
}
