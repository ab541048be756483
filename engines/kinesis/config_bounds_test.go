package kinesis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/enginekit"
)

func minimalConfig(extra map[string]any) map[string]any {
	m := map[string]any{"region": "us-east-1", "streamName": "orders", "endpoint": "http://127.0.0.1:1"}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestConfigMapSizesAboveTheirBoundAreErrorsNamingKeyAndValue(t *testing.T) {
	tests := []struct {
		key   string
		value any
	}{
		{"publishBufferSize", 9223372036854775807},
		{"publishBufferSize", 1000000000},
		{"maxInFlightBatches", 1000000000},
		{"maxInFlight", 1000000000},
		{"maxInFlight", 4097},
		{"maxRecordBytes", 1 << 40},
		{"shardCount", 1000000},
		{"topicLimit", 1 << 40},
		{"checkpointRedis", map[string]any{"poolSize": 1000000000}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.key, tc.value), func(t *testing.T) {
			_, err := New(minimalConfig(map[string]any{tc.key: tc.value}))
			want := fmt.Sprintf("%s: %v: must be between", tc.key, tc.value)
			if m, ok := tc.value.(map[string]any); ok {
				want = fmt.Sprintf("%s.poolSize: %v: must be between", tc.key, m["poolSize"])
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), want) {
				t.Fatalf("New = %v, want ErrInvalidConfig containing %q", err, want)
			}
		})
	}
	t.Run("shardCount beyond int32 is an error naming it", func(t *testing.T) {
		_, err := New(minimalConfig(map[string]any{"shardCount": 1 << 40}))
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "shardCount") {
			t.Fatalf("New = %v", err)
		}
	})
}

func TestConfigMapDurationsNeedAUnit(t *testing.T) {
	for _, key := range []string{"pollInterval", "flushInterval", "asyncPublishTimeout", "publishBackoff", "publishBackoffMax",
		"checkpointInterval", "shardSyncInterval", "leaseDuration", "leaseRenewInterval", "retryBackoff", "retryBackoffMax"} {
		t.Run("a bare number for "+key+" is an error naming it", func(t *testing.T) {
			_, err := New(minimalConfig(map[string]any{key: 200}))
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), key+": 200") || !strings.Contains(err.Error(), "unit") {
				t.Fatalf("New = %v, want ErrInvalidConfig naming %s and the missing unit", err, key)
			}
		})
	}
	t.Run("an unknown key wraps enginekit.ErrUnknownConfigKey", func(t *testing.T) {
		_, err := New(minimalConfig(map[string]any{"shardCont": 2}))
		if !errors.Is(err, enginekit.ErrUnknownConfigKey) || !strings.Contains(err.Error(), "shardCont") {
			t.Fatalf("New = %v", err)
		}
	})
	t.Run("an unknown key inside checkpointRedis is an error naming it", func(t *testing.T) {
		_, err := New(minimalConfig(map[string]any{"checkpointRedis": map[string]any{"pasword": "x"}}))
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "pasword") {
			t.Fatalf("New = %v", err)
		}
	})
}

func TestCredentialsNeverAppearInErrors(t *testing.T) {
	const secret = "s3cr3tPW"
	var cases []map[string]any
	for _, u := range []string{
		"http://u:" + secret + "@127.0.0.1:1",
		"http://u:" + secret + "%zz@127.0.0.1:1",
		"http://u:" + secret + "/x@127.0.0.1:1",
		"http://u:" + secret + "#x@127.0.0.1:1",
		"http://u:" + secret + "?x@127.0.0.1:1",
		"http://127.0.0.1:1/?X-Amz-Security-Token=" + secret,
		"http://127.0.0.1:1/#" + secret,
		"http://u:" + secret + "@[::1:1",
		"u:" + secret + "@127.0.0.1:1",
	} {
		cases = append(cases,
			minimalConfig(map[string]any{"endpoint": u}),
			minimalConfig(map[string]any{"endpoint": nil, "externalBrokerURL": u}),
		)
	}
	for _, u := range []string{
		"redis://user:" + secret + "%off@host:6379/0",
		"redis://user:" + secret + "/x@host:6379/0",
		"redis://user:" + secret + "#x@host:6379/0",
		"redis://user:" + secret + "?x@host:6379/0",
		"redis://:" + secret + "@host:notaport/0",
		"redis://user:" + secret + "@host:6379/zero",
		"redis://host:6379/0?password=" + secret,
		"rediss://u:" + secret + "@[::1:6379/0",
		"http://u:" + secret + "@host",
	} {
		cases = append(cases, minimalConfig(map[string]any{"checkpointStore": "redis",
			"checkpointRedis": map[string]any{"url": u, "password": secret}}))
	}
	cases = append(cases,
		minimalConfig(map[string]any{"secretAccessKey": secret}),
		minimalConfig(map[string]any{"accessKeyId": "AKID", "secretAccessKey": 12345678}),
		minimalConfig(map[string]any{"accessKeyId": "AKID", "secretAccessKey": secret, "sessionToken": secret, "shardCount": -1}),
		minimalConfig(map[string]any{"sessionToken": []string{secret}}),
		minimalConfig(map[string]any{"checkpointRedis": secret}),
	)
	for _, raw := range cases {
		t.Run(fmt.Sprint(raw), func(t *testing.T) {
			if raw["endpoint"] == nil {
				delete(raw, "endpoint")
			}
			b, err := New(raw)
			if err == nil {
				// Accepted: Start fails (nothing listens) and must not
				// leak either.
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
				err = b.Start(ctx)
				cancel()
				_ = b.Stop(context.Background())
			}
			if err == nil {
				t.Fatalf("New(%v) and Start succeeded", raw)
			}
			for _, s := range []string{secret, "12345678"} {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("error shows the secret: %v", err)
				}
			}
		})
	}
}
