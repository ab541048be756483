package kinesis

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

// putLog is a reverse proxy in front of kinesalite that records, for
// every PutRecords call, when its response came and how many records it
// wrote to each shard.
type putLog struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []putCall
}

type putCall struct {
	at       time.Time
	perShard map[string]int
}

func startPutLog(t *testing.T, upstream string) *putLog {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	l := &putLog{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.Header.Get("X-Amz-Target"), ".PutRecords") || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		var out struct {
			Records []struct {
				ShardId   string
				ErrorCode string
			}
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return fmt.Errorf("PutRecords response: %w", err)
		}
		c := putCall{at: time.Now(), perShard: map[string]int{}}
		for _, r := range out.Records {
			if r.ErrorCode == "" {
				c.perShard[r.ShardId]++
			}
		}
		l.mu.Lock()
		l.calls = append(l.calls, c)
		l.mu.Unlock()
		return nil
	}
	l.srv = httptest.NewServer(rp)
	t.Cleanup(l.srv.Close)
	return l
}

// callSizes returns the records written by each call, in order, and when
// each call answered, counted from the first call's answer.
func (l *putLog) callSizes() (sizes []int, offsets []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sizes = make([]int, len(l.calls))
	offsets = make([]time.Duration, len(l.calls))
	for i, c := range l.calls {
		for _, n := range c.perShard {
			sizes[i] += n
		}
		offsets[i] = c.at.Sub(l.calls[0].at)
	}
	return sizes, offsets
}

// maxPerWindow returns, per shard, the most records written within any
// window of length w (windows start at a call).
func (l *putLog) maxPerWindow(w time.Duration) map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	most := map[string]int{}
	for i, first := range l.calls {
		sum := map[string]int{}
		for _, c := range l.calls[i:] {
			if c.at.Sub(first.at) >= w {
				break
			}
			for sh, n := range c.perShard {
				sum[sh] += n
			}
		}
		for sh, n := range sum {
			most[sh] = max(most[sh], n)
		}
	}
	return most
}

// In rate-limited mode a publisher far faster than the stream's limits
// gets every event written, no shard takes more than 1,000 records in a
// second, and the calls stay full: the producer waits for the budget of a
// whole batch instead of splitting it into small calls (which would keep
// splitting it, since the window frees records in the chunks it took).
func TestRateLimitedModeKeepsShardLimitsAndFullBatches(t *testing.T) {
	log := startPutLog(t, kinesalite.Endpoint())
	cfg := testConfig(log.srv.URL)
	cfg.RateLimited = true
	cfg.AsyncPublish = true
	cfg.ShardCount = 4
	b := started(t, cfg)
	ctx := testCtx(t)
	const n = 8000 // 2 s of the four shards' budget
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := b.Publish(ctx, bus.Event{Topic: "limited", Payload: i, Metadata: map[string]any{"partitionKey": fmt.Sprint("k", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	t.Logf("%d records in %v: %+v", n, took, b.ProducerStats())
	ps := b.ProducerStats()
	if ps.Records != n || ps.ThrottledCalls != 0 {
		t.Fatalf("producer stats %+v, want %d records sent once, no throttling", ps, n)
	}
	if took < 900*time.Millisecond {
		t.Errorf("%d records on 4 shards written in %v: faster than 1,000 records/s per shard allows", n, took)
	}
	// Calls are timed at the proxy, not where the producer's window is
	// kept, so a loaded machine (CI under -race, other packages' tests on
	// the same cores) shifts them by hundreds of milliseconds: with 900 ms
	// windows a correct producer was seen at 1,120-1,130 records. Within
	// any 600 ms no shard may exceed 1,000 records: a producer that ignored
	// the limit would write the 8,000 in a fraction of that.
	for sh, most := range log.maxPerWindow(600 * time.Millisecond) {
		if most > shardWriteRecordsPerSec {
			t.Errorf("shard %s took %d records within 600ms (limit %d/s)", sh, most, shardWriteRecordsPerSec)
		}
	}
	// Once the first window has passed, the calls are full while the
	// backlog holds a batch: only the last two (the rest, as the budget
	// frees) may be smaller. The first calls may be small too (sent while
	// the publisher was still filling the queue), and without waiting for
	// a whole batch's budget, their window entries would expire one by
	// one a second later and split the calls from then on.
	sizes, offsets := log.callSizes()
	for i := 0; i < len(sizes)-2; i++ {
		if offsets[i] >= 900*time.Millisecond && sizes[i] != b.Config().BatchMaxRecords {
			t.Errorf("PutRecords call %d of %d (at +%v) carried %d records, want full calls under load: sizes %v",
				i+1, len(sizes), offsets[i].Round(time.Millisecond), sizes[i], sizes)
			break
		}
	}
}
