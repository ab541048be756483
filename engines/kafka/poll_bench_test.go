package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/internal/busbench"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

// pollBenchEvents is the backlog each round reads; pollBenchPage the
// page size of the polls.
const (
	pollBenchEvents     = 50_000
	pollBenchPage       = 256
	pollBenchPartitions = 4
)

// BenchmarkPollThroughput reads a backlog of 50,000 events (~100-byte
// JSON payloads, 16 partition keys over 4 partitions) from the oldest
// offset, in rounds: once with Poll in pages of 256 (decoding every
// record into the event subscribers get, merging the partitions by event
// time), once with raw sarama partition consumers, one per partition,
// that only receive the records (the baseline). The order alternates
// between rounds. It reports the median events/s of each and the median
// of the rounds' ratios Poll / raw:
//
//	go test ./engines/kafka -run '^$' -bench PollThroughput -benchtime 5x
func BenchmarkPollThroughput(b *testing.B) {
	k := testinfra.StartKafka(b, testinfra.KafkaOptions{})
	eb, err := kafka.New(map[string]any{"brokers": k.Addrs(), "autoCreateTopics": true, "topicPartitions": pollBenchPartitions})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := eb.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = eb.Stop(context.Background()) })
	const topic = "poll.bench"
	publishBacklog(b, eb, topic)

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	client, err := sarama.NewClient(k.Addrs(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		b.Fatal(err)
	}
	defer consumer.Close()
	ends := map[int32]int64{}
	for p := int32(0); p < pollBenchPartitions; p++ {
		if ends[p], err = client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			b.Fatal(err)
		}
	}

	poller := eb.(bus.Poller)
	pollRound := func() float64 {
		began := time.Now()
		n, cursor := 0, ""
		for n < pollBenchEvents {
			resp, err := poller.Poll(ctx, topic, bus.ConsumeRequest{Limit: pollBenchPage, Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			if len(resp.Events) == 0 {
				b.Fatalf("Poll returned an empty page after %d of %d events", n, pollBenchEvents)
			}
			n += len(resp.Events)
			cursor = resp.Cursor
		}
		return float64(n) / time.Since(began).Seconds()
	}
	rawRound := func() float64 {
		began := time.Now()
		var wg sync.WaitGroup
		counts := make([]int, pollBenchPartitions)
		pcs := make([]sarama.PartitionConsumer, 0, pollBenchPartitions)
		for p := int32(0); p < pollBenchPartitions; p++ {
			pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetOldest)
			if err != nil {
				b.Fatal(err)
			}
			pcs = append(pcs, pc)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if ends[p] == 0 {
					return
				}
				for m := range pc.Messages() {
					counts[p]++
					if m.Offset >= ends[p]-1 {
						return
					}
				}
			}()
		}
		wg.Wait()
		// Timed up to the last record received: closing waits for the
		// consumer's pending fetch (up to its MaxWaitTime), which is
		// not reading.
		elapsed := time.Since(began)
		for _, pc := range pcs {
			_ = pc.Close()
		}
		n := 0
		for _, c := range counts {
			n += c
		}
		if n != pollBenchEvents {
			b.Fatalf("the raw consumers read %d records, want %d", n, pollBenchEvents)
		}
		return float64(n) / elapsed.Seconds()
	}

	var polled, raw []float64
	round := 0
	b.ResetTimer()
	for b.Loop() {
		if round%2 == 0 {
			polled = append(polled, pollRound())
			raw = append(raw, rawRound())
		} else {
			raw = append(raw, rawRound())
			polled = append(polled, pollRound())
		}
		round++
	}
	b.StopTimer()
	pm, rm := busbench.Median(polled), busbench.Median(raw)
	ratios := make([]float64, len(polled))
	for i := range polled {
		ratios[i] = polled[i] / raw[i]
	}
	b.ReportMetric(pm, "poll-events/s")
	b.ReportMetric(rm, "raw-events/s")
	b.ReportMetric(busbench.Median(ratios), "poll/raw")
	b.Logf("%d rounds of %d events: Poll (pages of %d) median %.0f events/s %s; raw sarama partition consumers median %.0f events/s %s; Poll/raw per round %s, median %.2f",
		len(polled), pollBenchEvents, pollBenchPage, pm, rates(polled), rm, rates(raw), ratiosText(ratios), busbench.Median(ratios))
}

// publishBacklog publishes pollBenchEvents events on topic from 64
// goroutines, 16 partition keys.
func publishBacklog(b *testing.B, eb bus.EventBus, topic string) {
	b.Helper()
	const publishers = 64
	var wg sync.WaitGroup
	errs := make(chan error, publishers)
	for w := range publishers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < pollBenchEvents; i += publishers {
				ctx := bus.WithPartitionKey(context.Background(), fmt.Sprintf("k%02d", i%16))
				e := bus.Event{Topic: topic, Payload: map[string]any{"id": fmt.Sprintf("ord-%010d", i), "amount": i, "note": strings.Repeat("x", 54)}}
				if err := eb.Publish(ctx, e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatal(err)
	}
}

// ratiosText formats the per-round ratios.
func ratiosText(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// rates formats the per-round figures.
func rates(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
