package kinesis

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// faultProxy is a small HTTP proxy in front of kinesalite that injects
// the failures kinesalite never produces: whole PutRecords calls
// throttled, and PutRecords responses in which some records failed (those
// records are really not written: the proxy forwards only the others).
// It also records the Authorization headers it saw.
type faultProxy struct {
	srv      *httptest.Server
	upstream string

	throttleCalls atomic.Int64 // PutRecords calls still to refuse whole
	partialCalls  atomic.Int64 // PutRecords calls still to fail every other record in
	throttled     atomic.Int64
	failedRecords atomic.Int64

	mu    sync.Mutex
	auths []string
}

func startFaultProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	p := &faultProxy{upstream: upstream}
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.auths = append(p.auths, r.Header.Get("Authorization"))
		p.mu.Unlock()
		if !strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".PutRecords") {
			rp.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if p.throttleCalls.Add(-1) >= 0 {
			p.throttled.Add(1)
			writeAWSError(w, "ProvisionedThroughputExceededException", "Rate exceeded for shard shardId-000000000000")
			return
		}
		if p.partialCalls.Add(-1) >= 0 {
			p.partial(w, r, body)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the endpoint to give the engine.
func (p *faultProxy) URL() string { return p.srv.URL }

func (p *faultProxy) authorizations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.auths...)
}

func writeAWSError(w http.ResponseWriter, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Errortype", code)
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

// partial forwards the even-indexed records of a PutRecords call and
// answers ProvisionedThroughputExceededException for the odd ones, as the
// service does when some shards are over their limit.
func (p *faultProxy) partial(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		StreamName string
		Records    []json.RawMessage
	}
	if err := json.Unmarshal(body, &in); err != nil || len(in.Records) < 2 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		httputil.NewSingleHostReverseProxy(mustURL(p.upstream)).ServeHTTP(w, r)
		return
	}
	var keep []json.RawMessage
	for i, rec := range in.Records {
		if i%2 == 0 {
			keep = append(keep, rec)
		}
	}
	fwd, _ := json.Marshal(map[string]any{"StreamName": in.StreamName, "Records": keep})
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, p.upstream, bytes.NewReader(fwd))
	for _, h := range []string{"Content-Type", "X-Amz-Target", "Authorization", "X-Amz-Date"} {
		req.Header.Set(h, r.Header.Get(h))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(respBody)
		return
	}
	var out struct {
		FailedRecordCount int
		Records           []map[string]any
	}
	if err := json.Unmarshal(respBody, &out); err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	merged := make([]map[string]any, len(in.Records))
	failed := out.FailedRecordCount
	for i := range in.Records {
		if i%2 == 0 {
			merged[i] = out.Records[i/2]
			continue
		}
		merged[i] = map[string]any{"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
		failed++
		p.failedRecords.Add(1)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"FailedRecordCount": failed, "Records": merged})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
