package features

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"
	"github.com/cucumber/godog"
	goredis "github.com/redis/go-redis/v9"

	"github.com/switchyard-go/eventbus"
	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func (w *world) registerBrokerSteps(sc stepRegistrar) {
	var proc *consumerProcess
	var killedGot []string

	// Servers: started once per feature file, on a free 127.0.0.1 port.
	sc.Step(`^a private redis-server on a free local port$`, func() error {
		r, err := w.env.Redis()
		if err != nil {
			return err
		}
		w.vars["REDIS_URL"] = r.URL()
		w.vars["REDIS_ADDR"] = r.Addr
		return nil
	})
	sc.Step(`^a Kafka broker \(kfake\) on a free local port$`, func() error {
		k, err := w.env.Kafka()
		if err != nil {
			return err
		}
		w.vars["KAFKA_BROKERS"] = strings.Join(k.Addrs(), ",")
		w.vars["KAFKA_URL"] = k.URL()
		return nil
	})
	sc.Step(`^a kinesalite on a free local port$`, func() error {
		k, err := w.env.Kinesis()
		if err != nil {
			return err
		}
		w.vars["KINESIS_ENDPOINT"] = k.Endpoint()
		return nil
	})

	sc.Step(`^the event bus of the application "([^"]+)" is (stopped|started)$`, func(app, op string) error {
		a, err := w.app(app)
		if err != nil {
			return err
		}
		ctx, cancel := stepCtx()
		defer cancel()
		if op == "stopped" {
			return a.module.Stop(ctx)
		}
		return a.module.Start(ctx)
	})

	// Events with a JSON payload and metadata.
	sc.Step(`^the application publishes (\{.*\}) with metadata (\w+) = "([^"]*)" to "([^"]+)"$`, func(payload, key, value, topic string) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(payload), &v); err != nil {
			return fmt.Errorf("payload %s: %w", payload, err)
		}
		ctx, cancel := stepCtx()
		defer cancel()
		return a.module.PublishEvent(ctx, eventbus.Event{Topic: topic, Payload: v, Metadata: map[string]any{key: value}})
	})
	sc.Step(`^"([^"]+)" receives (\{.*\}) with metadata (\w+) = "([^"]*)"$`, func(name, payload, key, value string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		if err := s.waitFor(1); err != nil {
			return err
		}
		c := s.snapshot()[0]
		got, err := json.Marshal(c.event.Payload)
		if err != nil {
			return err
		}
		var want bytes.Buffer
		if err := json.Compact(&want, []byte(payload)); err != nil {
			return err
		}
		var wantV, gotV any
		_ = json.Unmarshal(want.Bytes(), &wantV)
		_ = json.Unmarshal(got, &gotV)
		if fmt.Sprint(wantV) != fmt.Sprint(gotV) {
			return fmt.Errorf("%q received payload %s (%T), want %s", name, got, c.event.Payload, want.String())
		}
		if m := fmt.Sprint(c.event.Metadata[key]); m != value {
			return fmt.Errorf("%q received metadata %s = %q, want %q (all: %v)", name, key, m, value, c.event.Metadata)
		}
		return nil
	})

	// What the broker holds.
	sc.Step(`^Redis holds (\d+) entr(?:y|ies) in the stream "([^"]+)"$`, func(n int, stream string) error {
		stream, err := w.expand(stream)
		if err != nil {
			return err
		}
		opts, err := goredis.ParseURL(w.vars["REDIS_URL"])
		if err != nil {
			return err
		}
		c := goredis.NewClient(opts)
		defer c.Close()
		ctx, cancel := stepCtx()
		defer cancel()
		got, err := c.XLen(ctx, stream).Result()
		if err != nil {
			return fmt.Errorf("XLEN %s: %w", stream, err)
		}
		if got != int64(n) {
			return fmt.Errorf("XLEN %s = %d, want %d", stream, got, n)
		}
		return nil
	})
	sc.Step(`^Kafka holds (\d+) records in the topic "([^"]+)"$`, func(n int, topic string) error {
		cfg := sarama.NewConfig()
		c, err := sarama.NewClient(strings.Split(w.vars["KAFKA_BROKERS"], ","), cfg)
		if err != nil {
			return err
		}
		defer c.Close()
		parts, err := c.Partitions(topic)
		if err != nil {
			return fmt.Errorf("partitions of %s: %w", topic, err)
		}
		var total int64
		for _, p := range parts {
			newest, err1 := c.GetOffset(topic, p, sarama.OffsetNewest)
			oldest, err2 := c.GetOffset(topic, p, sarama.OffsetOldest)
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			total += newest - oldest
		}
		if total != int64(n) {
			return fmt.Errorf("topic %s holds %d records in %d partitions, want %d", topic, total, len(parts), n)
		}
		return nil
	})

	// Consumer groups.
	sc.Step(`^the application "([^"]+)" keeps publishing events with distinct keys to "([^"]+)" until "([^"]+)" and "([^"]+)" have both handled some$`, func(app, topic, s1, s2 string) error {
		a, err := w.app(app)
		if err != nil {
			return err
		}
		one, err := w.subscriber(s1)
		if err != nil {
			return err
		}
		two, err := w.subscriber(s2)
		if err != nil {
			return err
		}
		ctx, cancel := stepCtx()
		defer cancel()
		deadline := time.Now().Add(waitTimeout)
		for i := 1; one.count() == 0 || two.count() == 0; i++ {
			if time.Now().After(deadline) {
				return fmt.Errorf("after %d events, %q handled %d and %q %d: they do not share the work", i-1, s1, one.count(), s2, two.count())
			}
			p := fmt.Sprintf("%s/key-%d", topic, i)
			err := a.module.PublishEvent(ctx, eventbus.Event{Topic: topic, Payload: p, Metadata: map[string]any{bus.MetadataKeyPartition: p}})
			w.published.add(topic, p, err)
			if err != nil {
				return err
			}
			if i%10 == 0 { // let the group settle before publishing more
				target := i
				_ = testutil.Poll(200*time.Millisecond, "progress", func() bool { return one.count()+two.count() >= target })
			}
		}
		return nil
	})
	sc.Step(`^every event published to "([^"]+)" was handled exactly once, by "([^"]+)" or by "([^"]+)"$`, func(topic, s1, s2 string) error {
		one, err := w.subscriber(s1)
		if err != nil {
			return err
		}
		two, err := w.subscriber(s2)
		if err != nil {
			return err
		}
		want := w.published.acceptedOn(topic)
		if err := testutil.Poll(waitTimeout, fmt.Sprintf("%d events between %q and %q", len(want), s1, s2), func() bool {
			return one.count()+two.count() >= len(want)
		}); err != nil {
			return err
		}
		got := append(one.payloads(), two.payloads()...)
		missing, dups := missingAndDuplicates(want, got)
		if len(missing)+len(dups) > 0 || len(got) != len(want) {
			return fmt.Errorf("%d published, %d handled (%q %d, %q %d): missing %s, duplicated %s",
				len(want), len(got), s1, one.count(), s2, two.count(), shortList(missing), shortList(dups))
		}
		return nil
	})

	// A consumer that crashes mid-handler.
	sc.Step(`^a separate consumer process configured with the YAML below subscribes to "([^"]+)" and never returns from its handler:$`, func(topic string, doc *godog.DocString) error {
		yamlDoc, err := w.expand(doc.Content)
		if err != nil {
			return err
		}
		w.vars["CONSUMER_YAML"] = doc.Content
		proc, err = startConsumerProcess(yamlDoc, topic)
		if err != nil {
			return err
		}
		w.defer_(proc.kill)
		return nil
	})
	sc.Step(`^the separate process has received (\d+) events?$`, func(n int) error {
		return testutil.Poll(waitTimeout, fmt.Sprintf("the separate process to receive %d events", n), func() bool {
			return len(proc.received()) >= n
		})
	})
	sc.Step(`^the separate process is killed with SIGKILL$`, func() error {
		proc.kill()
		killedGot = proc.received()
		return nil
	})
	sc.Step(`^an application "([^"]+)" configured like the separate process$`, func(name string) error {
		doc, ok := w.vars["CONSUMER_YAML"]
		if !ok {
			return errors.New("no separate process was configured")
		}
		_, err := w.newApp(name, doc, false)
		return err
	})
	sc.Step(`^"([^"]+)" receives every event published to "([^"]+)" exactly once$`, func(name, topic string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		want := w.published.acceptedOn(topic)
		if err := s.waitFor(len(want)); err != nil {
			return err
		}
		missing, dups := missingAndDuplicates(want, s.payloads())
		if len(missing)+len(dups) > 0 || s.count() != len(want) {
			return fmt.Errorf("%q handled %d of %d events: missing %s, duplicated %s", name, s.count(), len(want), shortList(missing), shortList(dups))
		}
		return nil
	})
	sc.Step(`^the events the killed process had received reach "([^"]+)" marked as redelivered$`, func(name string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		if len(killedGot) == 0 {
			return errors.New("the killed process had received nothing")
		}
		for _, c := range s.snapshot() {
			if slices.Contains(killedGot, c.payload) && !c.redelivered {
				return fmt.Errorf("%s was handled by the killed process, but reached %q as a first delivery", c.payload, name)
			}
		}
		return nil
	})

	// Dead letters.
	sc.Step(`^"([^"]+)" received a dead letter with (\w+) = "([^"]*)"$`, func(name, key, value string) error {
		s, err := w.subscriber(name)
		if err != nil {
			return err
		}
		if err := s.waitFor(1); err != nil {
			return err
		}
		c := s.snapshot()[0]
		if got := fmt.Sprint(c.event.Metadata[key]); got != value {
			return fmt.Errorf("the dead letter carries %s = %q, want %q (metadata %v)", key, got, value, c.event.Metadata)
		}
		return nil
	})
	sc.Step(`^the engine "([^"]+)" counted (\d+) dead-lettered events? and (\d+) retr(?:y|ies)$`, func(engine string, dead, retried int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		var st bus.EngineStats
		err = testutil.Poll(waitTimeout, "the dead letter to be counted", func() bool {
			st = a.module.EngineStats()[engine]
			return st.DeadLettered >= uint64(dead)
		})
		if err != nil {
			return err
		}
		if st.DeadLettered != uint64(dead) || st.Retried != uint64(retried) {
			return fmt.Errorf("engine %q counted %d dead-lettered and %d retried, want %d and %d", engine, st.DeadLettered, st.Retried, dead, retried)
		}
		return nil
	})
	sc.Step(`^the engine "([^"]+)" has published (\d+) events$`, func(engine string, n int) error {
		a, err := w.app(mainApp)
		if err != nil {
			return err
		}
		if got := a.module.EngineStats()[engine].Published; got != uint64(n) {
			return fmt.Errorf("engine %q published %d events, want %d", engine, got, n)
		}
		return nil
	})
}
