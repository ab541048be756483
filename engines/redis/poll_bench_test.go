package redis_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/internal/busbench"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

var (
	pollBenchRounds = flag.Int("pollbench.rounds", 5, "BenchmarkPoll: interleaved rounds (medians are reported)")
	pollBenchEvents = flag.Int("pollbench.events", 100000, "BenchmarkPoll: events in the stream read by each run")
	pollBenchPage   = flag.Int("pollbench.page", 256, "BenchmarkPoll: events per page (Poll Limit, XRANGE COUNT)")
)

// BenchmarkPoll reads one stream of -pollbench.events events (payload
// ≈ 100 B of JSON) from its start to its end, in pages of
// -pollbench.page, with Poll, with raw go-redis XRANGE (COUNT page,
// exclusive start after the last id read), and with raw XRANGE plus
// encoding/json of each entry's data (what decoding the payloads alone
// costs), on the same private redis-server, page by page in turns, in
// -pollbench.rounds rounds, and prints the median events/s of each and
// their ratio to raw XRANGE. Run it with
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

	// Each reader reads one page from where it stands and says how many
	// events it got. The readers take turns page by page (the order
	// rotating), so load changes on a shared machine hit them alike.
	type reader struct {
		name  string
		reset func()
		page  func() int
		took  time.Duration
		rates []float64
	}
	var start, startJSON, cursor string
	readers := []*reader{
		{name: "raw go-redis XRANGE", reset: func() { start = "-" }, page: func() int {
			msgs, err := raw.XRangeN(ctx, key, start, "+", int64(page)).Result()
			if err != nil {
				b.Fatal(err)
			}
			if len(msgs) > 0 {
				start = "(" + msgs[len(msgs)-1].ID
			}
			return len(msgs)
		}},
		{name: "raw go-redis XRANGE + encoding/json of each entry's data", reset: func() { startJSON = "-" }, page: func() int {
			msgs, err := raw.XRangeN(ctx, key, startJSON, "+", int64(page)).Result()
			if err != nil {
				b.Fatal(err)
			}
			for _, m := range msgs {
				var v any
				if err := json.Unmarshal([]byte(m.Values["data"].(string)), &v); err != nil {
					b.Fatal(err)
				}
			}
			if len(msgs) > 0 {
				startJSON = "(" + msgs[len(msgs)-1].ID
			}
			return len(msgs)
		}},
		{name: "engine Poll", reset: func() { cursor = "" }, page: func() int {
			resp, err := e.Poll(ctx, "bench", bus.ConsumeRequest{Limit: page, Cursor: cursor})
			if err != nil {
				b.Fatal(err)
			}
			cursor = resp.Cursor
			return len(resp.Events)
		}},
	}

	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for r := 0; r < *pollBenchRounds; r++ {
			got := make([]int, len(readers))
			for _, rd := range readers {
				rd.reset()
				rd.took = 0
			}
			for step := 0; ; step++ {
				short := 0
				for k := range readers {
					j := (k + step) % len(readers)
					t0 := time.Now()
					m := readers[j].page()
					readers[j].took += time.Since(t0)
					got[j] += m
					if m < page {
						short++
					}
				}
				if short == len(readers) {
					break
				}
				if short > 0 {
					b.Fatalf("readers disagree on the stream's end: %v", got)
				}
			}
			for j, rd := range readers {
				if got[j] != n {
					b.Fatalf("%s read %d events, want %d", rd.name, got[j], n)
				}
				rd.rates = append(rd.rates, float64(n)/rd.took.Seconds())
			}
		}
		base := busbench.Median(readers[0].rates)
		fmt.Printf("redis-server %s, GOMAXPROCS %d, %s, %d events, pages of %d, %d rounds\n", srv.Addr, runtime.GOMAXPROCS(0), runtime.Version(), n, page, *pollBenchRounds)
		fmt.Printf("| reader | median events/s | min | max | vs raw XRANGE |\n|---|---:|---:|---:|---:|\n")
		for _, rd := range readers {
			m := busbench.Median(rd.rates)
			fmt.Printf("| %s | %.0f | %.0f | %.0f | %.2f |\n", rd.name, m, slices.Min(rd.rates), slices.Max(rd.rates), m/base)
		}
		mp := busbench.Median(readers[2].rates)
		b.ReportMetric(mp, "poll-events/s")
		b.ReportMetric(base, "xrange-events/s")
		b.ReportMetric(mp/base, "ratio")
	}
}
