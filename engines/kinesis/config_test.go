package kinesis

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
)

func TestConfigValidation(t *testing.T) {
	base := map[string]any{"region": "us-east-1", "streamName": "orders", "endpoint": "http://127.0.0.1:1"}
	with := func(kv ...any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(m, kv[i].(string))
				continue
			}
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		raw     map[string]any
		wantErr string // substring naming the field; "" = valid
	}{
		{"a minimal config is valid", base, ""},
		{"the module-level keys are accepted", with("workerCount", 4, "externalBrokerURL", "http://127.0.0.1:2"), ""},
		{"a missing region is refused", with("region", nil), "region"},
		{"a missing stream name is refused", with("streamName", nil), "streamName"},
		{"an invalid stream name is refused", with("streamName", "a b"), "streamName"},
		{"a zero shard count is refused", with("shardCount", -1), "shardCount"},
		{"an unknown start position is refused", with("startPosition", "middle"), "startPosition"},
		{"batches over 500 records are refused", with("batchMaxRecords", 501), "batchMaxRecords"},
		{"batches over 5 MiB are refused", with("batchMaxBytes", 6<<20), "batchMaxBytes"},
		{"a bad endpoint is refused", with("endpoint", "127.0.0.1:4567"), "endpoint"},
		{"a secret without an access key is refused", with("secretAccessKey", "s"), "accessKeyId"},
		{"an access key without a secret is refused", with("accessKeyId", "AKID"), "secretAccessKey"},
		{"a redis store without url is refused", with("checkpointStore", "redis"), "checkpointRedis.url"},
		{"an unknown store is refused", with("checkpointStore", "dynamodb"), "checkpointStore"},
		{"a renew interval above the lease is refused", with("leaseDuration", "1s", "leaseRenewInterval", "2s"), "leaseRenewInterval"},
		{"a payload limit above the record limit is refused", with("maxPayloadBytes", 2<<20), "maxPayloadBytes"},
		{"a bad ack mode is refused", with("ackMode", "sometimes"), "ackMode"},
		{"an unknown key is refused", with("shardCont", 2), "shardCont"},
		{"a bad duration is refused", with("pollInterval", "soon"), "pollInterval"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(tc.raw)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("New = %v, want nil", err)
				}
				_ = b.Stop(context.Background())
				return
			}
			if err == nil {
				t.Fatalf("New accepted %v", tc.raw)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, want an ErrInvalidConfig naming %q", err, tc.wantErr)
			}
		})
	}
}

func TestExternalBrokerURLIsTheEndpointFallback(t *testing.T) {
	b, err := New(map[string]any{"region": "us-east-1", "streamName": "s", "externalBrokerURL": "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.(*EventBus).Config().Endpoint; got != "http://127.0.0.1:9" {
		t.Fatalf("endpoint = %q, want externalBrokerURL", got)
	}
	b, err = New(map[string]any{"region": "us-east-1", "streamName": "s", "endpoint": "http://127.0.0.1:8", "externalBrokerURL": "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	if got := b.(*EventBus).Config().Endpoint; got != "http://127.0.0.1:8" {
		t.Fatalf("endpoint = %q, want the explicit endpoint", got)
	}
}

func TestStartFailures(t *testing.T) {
	t.Run("a missing stream without createStream is a clear error", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		cfg.CreateStream = false
		b := newBus(t, cfg)
		err := b.Start(testCtx(t))
		if !errors.Is(err, ErrStreamNotFound) || !strings.Contains(err.Error(), cfg.StreamName) {
			t.Fatalf("Start = %v, want ErrStreamNotFound naming %q", err, cfg.StreamName)
		}
		if err := b.Publish(testCtx(t), bus.Event{Topic: "x", Payload: 1}); !errors.Is(err, bus.ErrEventBusNotStarted) {
			t.Fatalf("Publish after a failed Start = %v, want ErrEventBusNotStarted", err)
		}
	})
	t.Run("an unreachable endpoint fails Start without creating anything", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close() // nothing listens there now
		cfg := testConfig("http://" + addr)
		b := newBus(t, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		err = b.Start(ctx)
		if err == nil || errors.Is(err, ErrStreamNotFound) {
			t.Fatalf("Start = %v, want a connection error", err)
		}
		t.Logf("Start failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	})
	t.Run("createStream creates the stream with shardCount shards", func(t *testing.T) {
		cfg := testConfig(kinesalite.Endpoint())
		cfg.ShardCount = 3
		b := started(t, cfg)
		set, err := b.listShards(testCtx(t))
		if err != nil || len(set.open()) != 3 {
			t.Fatalf("shards = %v, %v; want 3 open", set, err)
		}
	})
}

func TestValidateTakesZeroOptionsForTheirDefaults(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"a literal with only the required fields is valid", Config{Region: "us-east-1", StreamName: "orders"}, true},
		{"a literal with one option set is valid", Config{Region: "us-east-1", StreamName: "orders", ShardCount: 4}, true},
		{"a negative option is still an error", Config{Region: "us-east-1", StreamName: "orders", ShardCount: -1}, false},
		{"a missing region is still an error", Config{StreamName: "orders"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.ok && err != nil {
				t.Fatalf("Validate = %v, want nil", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate = %v, want an error wrapping ErrInvalidConfig", err)
			}
		})
	}
}
