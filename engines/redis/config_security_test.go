package redis_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/enginekit"
	"github.com/switchyard-go/eventbus/engines/redis"
	"github.com/switchyard-go/eventbus/internal/testinfra"
	"github.com/switchyard-go/eventbus/internal/testutil"
)

func TestConfigMapSizesAboveTheirBoundAreErrorsNamingKeyAndValue(t *testing.T) {
	tests := []struct {
		key   string
		value any
	}{
		{"publishQueue", 9223372036854775807},
		{"publishQueue", 1000000000},
		{"readCount", 1000000000},
		{"claimCount", 1000000000},
		{"ackBatch", 9223372036854775807},
		{"publishBatch", 1000000000},
		{"publishPipelines", 1000000000},
		{"poolSize", 1000000000},
		{"maxInFlight", 1000000000},
		{"maxInFlight", 4097},
		{"topicLimit", 1 << 40},
		{"maxPayloadBytes", 1 << 40},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %v", tc.key, tc.value), func(t *testing.T) {
			_, err := redis.New(map[string]any{"url": shared.URL(), tc.key: tc.value})
			want := fmt.Sprintf("%s: %v: must be between", tc.key, tc.value)
			if !errors.Is(err, redis.ErrInvalidConfig) || !strings.Contains(err.Error(), want) {
				t.Fatalf("New = %v, want ErrInvalidConfig containing %q", err, want)
			}
		})
	}
}

func TestConfigMapDurationsNeedAUnit(t *testing.T) {
	for _, key := range []string{"claimTimeout", "retryBackoff", "retryBackoffMax", "blockTimeout", "claimInterval",
		"ackFlushInterval", "publishLinger", "discoveryInterval", "staleGroupTimeout"} {
		t.Run("a bare number for "+key+" is an error naming it", func(t *testing.T) {
			_, err := redis.New(map[string]any{"url": shared.URL(), key: 30})
			if !errors.Is(err, redis.ErrInvalidConfig) || !strings.Contains(err.Error(), key+": 30") || !strings.Contains(err.Error(), "unit") {
				t.Fatalf("New = %v, want ErrInvalidConfig naming %s and the missing unit", err, key)
			}
		})
	}
	t.Run("a time.Duration value set from Go is accepted", func(t *testing.T) {
		b, err := redis.New(map[string]any{"url": shared.URL(), "claimTimeout": 45 * time.Second})
		if err != nil || b.(*redis.EventBus).Config().ClaimTimeout.Std() != 45*time.Second {
			t.Fatalf("New = %v", err)
		}
	})
	t.Run("an unknown key wraps enginekit.ErrUnknownConfigKey", func(t *testing.T) {
		_, err := redis.New(map[string]any{"claimTimout": "1s"})
		if !errors.Is(err, enginekit.ErrUnknownConfigKey) || !strings.Contains(err.Error(), "claimTimout") {
			t.Fatalf("New = %v", err)
		}
	})
}

// secretURLs are broker URLs with the secret in every position a user may
// put one, well-formed or not.
func secretURLs(scheme, secret string) []string {
	return []string{
		scheme + "://user:" + secret + "%off@host:6379/0",
		scheme + "://user:" + secret + "/x@host:6379/0",
		scheme + "://user:" + secret + "#x@host:6379/0",
		scheme + "://user:" + secret + "?x@host:6379/0",
		scheme + "://user:" + secret + "@x@host:6379/0",
		scheme + "://:" + secret + "@host:notaport/0",
		scheme + "://" + secret + "@host:6379/0",
		scheme + "://user:" + secret + "@[::1:6379/0",
		scheme + "://user:" + secret + "@host:6379/zero",
		scheme + "://host:6379/0?password=" + secret,
		scheme + "://host:6379/0?password=" + secret + "@x",
		scheme + "://host:6379/0?dial_timeout=" + secret,
		scheme + "://host:6379/0#" + secret,
		"user:" + secret + "@host:6379",
		scheme + ":/user:" + secret + "@host",
		"%%" + secret,
	}
}

func TestCredentialsNeverAppearInErrors(t *testing.T) {
	const secret = "s3cr3tPW"
	for _, u := range secretURLs("redis", secret) {
		t.Run("url "+u, func(t *testing.T) {
			for _, raw := range []map[string]any{
				{"url": u},
				{"externalBrokerURL": u},
				{"url": u, "password": secret, "maxLen": -1},
			} {
				b, err := redis.New(raw)
				if err == nil {
					// Accepted: Start fails (no such host) and must not
					// leak either.
					ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
					err = b.Start(ctx)
					cancel()
					_ = b.Stop(context.Background())
				}
				if err == nil {
					t.Fatalf("New(%v) and Start succeeded", raw)
				}
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error shows the secret: %v", err)
				}
			}
		})
	}
	t.Run("a password of the wrong type is not echoed", func(t *testing.T) {
		_, err := redis.New(map[string]any{"password": 123456789})
		if err == nil || strings.Contains(err.Error(), "123456789") {
			t.Fatalf("New = %v", err)
		}
	})
	t.Run("a wrong password is not echoed by Start", func(t *testing.T) {
		srv := testinfra.StartRedis(t, testinfra.WithPassword("right-one"))
		b, err := redis.New(map[string]any{"url": "redis://" + srv.Addr + "/0", "password": secret})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = b.Start(ctx)
		_ = b.Stop(context.Background())
		if !errors.Is(err, redis.ErrUnreachable) || strings.Contains(err.Error(), secret) {
			t.Fatalf("Start = %v, want ErrUnreachable without the secret", err)
		}
	})
}

// testPKI is a throwaway CA with a server certificate for the name
// "redis.test" (not 127.0.0.1, so that ssl.server.name is needed) and a
// client certificate, written as PEM files.
type testPKI struct {
	dir                                string
	ca, serverCert, serverKey          string
	clientCert, clientKey, otherCACert string
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	dir := t.TempDir()
	p := testPKI{dir: dir}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	serial := int64(1)
	newCA := func(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte) {
		k := newKey()
		serial++
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := x509.ParseCertificate(der)
		return c, k, der
	}
	caCert, caKey, caDER := newCA("switchyard test CA")
	p.ca = write("ca.pem", "CERTIFICATE", caDER)
	_, _, otherDER := newCA("another CA")
	p.otherCACert = write("other-ca.pem", "CERTIFICATE", otherDER)
	leaf := func(name string, usage x509.ExtKeyUsage, dns []string) ([]byte, *ecdsa.PrivateKey) {
		k := newKey()
		serial++
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: dns,
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	sDER, sKey := leaf("redis.test", x509.ExtKeyUsageServerAuth, []string{"redis.test"})
	p.serverCert = write("server.pem", "CERTIFICATE", sDER)
	p.serverKey = write("server-key.pem", "PRIVATE KEY", keyDER(sKey))
	cDER, cKey := leaf("client", x509.ExtKeyUsageClientAuth, nil)
	p.clientCert = write("client.pem", "CERTIFICATE", cDER)
	p.clientKey = write("client-key.pem", "PRIVATE KEY", keyDER(cKey))
	return p
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestTLSWithACustomCAClientCertificateAndServerName runs the engine over
// TLS against redis-server's --tls-port, which requires a client
// certificate, with a certificate chain only the generated CA vouches for
// and a name other than the address.
func TestTLSWithACustomCAClientCertificateAndServerName(t *testing.T) {
	pki := newTestPKI(t)
	tlsPort := freeTCPPort(t)
	srv := testinfra.StartRedis(t, testinfra.WithArgs(
		"--tls-port", strconv.Itoa(tlsPort), "--tls-cert-file", pki.serverCert, "--tls-key-file", pki.serverKey,
		"--tls-ca-cert-file", pki.ca, "--tls-auth-clients", "yes"))
	_ = srv
	url := fmt.Sprintf("rediss://127.0.0.1:%d/0", tlsPort)
	full := map[string]any{
		"ssl.ca.location": pki.ca, "ssl.certificate.location": pki.clientCert, "ssl.key.location": pki.clientKey,
		"ssl.server.name": "redis.test",
	}
	without := func(key string) map[string]any {
		m := map[string]any{}
		for k, v := range full {
			if k != key {
				m[k] = v
			}
		}
		return m
	}
	start := func(t *testing.T, security map[string]any) (*redis.EventBus, error) {
		t.Helper()
		b, err := redis.New(map[string]any{"url": url, "security": security, "keyPrefix": "tls" + enginekit.NewID()[:8] + ":",
			"blockTimeout": "200ms", "discoveryInterval": "200ms"})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = b.(*redis.EventBus).Start(ctx)
		t.Cleanup(func() { _ = b.Stop(context.Background()) })
		return b.(*redis.EventBus), err
	}

	t.Run("with every option an event makes the round trip", func(t *testing.T) {
		b, err := start(t, full)
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		var got atomic.Int64
		ctx := testCtx(t)
		if _, err := b.Subscribe(ctx, "tls.topic", func(context.Context, bus.Event) error { got.Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := b.Publish(ctx, bus.Event{Topic: "tls.topic", Payload: "hello"}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 10*time.Second, "the event over TLS", func() bool { return got.Load() == 1 })
	})
	for _, tc := range []struct {
		name     string
		security map[string]any
	}{
		{"without ssl.server.name the certificate name does not match", without("ssl.server.name")},
		{"without ssl.ca.location the system roots do not know the CA", without("ssl.ca.location")},
		{"with another CA the server is not trusted", func() map[string]any { m := without(""); m["ssl.ca.location"] = pki.otherCACert; return m }()},
		{"without a client certificate the server refuses the client", without("ssl.certificate.location")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.security["ssl.certificate.location"]; !ok {
				delete(tc.security, "ssl.key.location")
			}
			if _, err := start(t, tc.security); !errors.Is(err, redis.ErrUnreachable) {
				t.Fatalf("Start = %v, want ErrUnreachable", err)
			}
		})
	}
	t.Run("ssl options with a redis:// URL are an error", func(t *testing.T) {
		_, err := redis.New(map[string]any{"url": "redis://127.0.0.1:1/0", "security": full})
		if !errors.Is(err, redis.ErrInvalidConfig) || !strings.Contains(err.Error(), "rediss://") {
			t.Fatalf("New = %v", err)
		}
	})
	t.Run("an unknown security key is an error naming it", func(t *testing.T) {
		_, err := redis.New(map[string]any{"url": url, "security": map[string]any{"ssl.ca.locaton": pki.ca}})
		if !errors.Is(err, redis.ErrInvalidConfig) || !strings.Contains(err.Error(), "ssl.ca.locaton") {
			t.Fatalf("New = %v", err)
		}
	})
	t.Run("a missing CA file is an error naming the key", func(t *testing.T) {
		_, err := redis.New(map[string]any{"url": url, "security": map[string]any{"ssl.ca.location": filepath.Join(pki.dir, "nope.pem")}})
		if !errors.Is(err, redis.ErrInvalidConfig) || !strings.Contains(err.Error(), "security.ssl.ca.location") {
			t.Fatalf("New = %v", err)
		}
	})
}
