package redis_test

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

var (
	pollBenchRounds = flag.Int("pollbench.rounds", 5, "BenchmarkPoll: interleaved rounds (medians are reported)")
	pollBenchEvents = flag.Int("pollbench.events", 100000, "BenchmarkPoll: events in the stream read by each run")
	pollBenchPage   = flag.Int("pollbench.page", 256, "BenchmarkPoll: events per page (Poll Limit, XRANGE COUNT)")
)

// BenchmarkPoll reads one stream of -pollbench.events events (payload
// ≈ 100 B of JSON) from its start to its end, in pages of
// -pollbench.page, once with Poll and once with raw go-redis XRANGE
// (COUNT page, exclusive start after the last id read) on the same
// private redis-server, in -pollbench.rounds interleaved rounds, and
// prints the median events/s of each and their ratio. Run it with
//
//	go test -run '^$' -bench BenchmarkPoll -benchtime 1x ./engines/redis
func BenchmarkPoll(b *testing.B) {
	srv := testinfra.StartRedis(b)
	cfg := testConfig(srv)
	cfg.PublishAsync = true
	e := started(b, cfg)
	ctx := context.Background()
	n, page := *pollBenchEvents, *pollBenchPage
	payload := map[string]any{"id": "evt-0000000001", "body": strings.Repeat("x", 70)}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				if err := e.Publish(ctx, bus.Event{Topic: "bench", Payload: payload}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := e.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	raw := rawClient(b, e)
	key := cfg.KeyPrefix + "bench"

	rawPass := func() (int, time.Duration) {
		start, got := "-", 0
		t0 := time.Now()
		for {
			msgs, err := raw.XRangeN(ctx, key, start, "+", int64(page)).Result()
			if err != nil {
				b.Fatal(err)
			}
			got += len(msgs)
			if len(msgs) < page {
				return got, time.Since(t0)
			}
			start = "(" + msgs[len(msgs)-1].ID
		}
	}
	pollPass := func() (int, time.Duration) {
		cursor, got := "", 0
		t0 := time.Now()
		for {
			resp, err := e.Poll(ctx, "bench", bus.ConsumeRequest{Limit: page, Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			got += len(resp.Events)
			cursor = resp.Cursor
			if len(resp.Events) < page {
				return got, time.Since(t0)
			}
		}
	}
	rate := func(pass func() (int, time.Duration)) float64 {
		got, d := pass()
		if got != n {
			b.Fatalf("read %d events, want %d", got, n)
		}
		return float64(got) / d.Seconds()
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var raws, polls []float64
		for r := 0; r < *pollBenchRounds; r++ {
			if r%2 == 0 {
				raws = append(raws, rate(rawPass))
				polls = append(polls, rate(pollPass))
			} else {
				polls = append(polls, rate(pollPass))
				raws = append(raws, rate(rawPass))
			}
		}
		mr, mp := median(raws), median(polls)
		b.ReportMetric(mp, "poll-events/s")
		b.ReportMetric(mr, "xrange-events/s")
		b.ReportMetric(mp/mr, "ratio")
		fmt.Printf("redis-server %s, GOMAXPROCS %d, %s, %d events, pages of %d, %d rounds\n", srv.Addr, runtime.GOMAXPROCS(0), runtime.Version(), n, page, len(raws))
		fmt.Printf("| reader | median events/s | min | max |\n|---|---:|---:|---:|\n")
		fmt.Printf("| raw go-redis XRANGE | %.0f | %.0f | %.0f |\n", mr, slices.Min(raws), slices.Max(raws))
		fmt.Printf("| engine Poll | %.0f | %.0f | %.0f |\n", mp, slices.Min(polls), slices.Max(polls))
		fmt.Printf("Poll / XRANGE (medians): %.2f\n", mp/mr)
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
