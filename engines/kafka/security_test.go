package kafka_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/switchyard-go/eventbus/bus"
	"github.com/switchyard-go/eventbus/engines/kafka"
	"github.com/switchyard-go/eventbus/internal/testinfra"
)

func TestSecurity(t *testing.T) {
	ca, serverTLS := testCertificates(t)
	otherCA, _ := testCertificates(t)
	sasl := func(method string) []kfake.Opt {
		return []kfake.Opt{kfake.EnableSASL(), kfake.Superuser(method, "alice", "s3cret")}
	}
	cases := []struct {
		name     string
		broker   []kfake.Opt
		security map[string]string
		wantErr  bool
	}{
		{"SASL/PLAIN with the right password", sasl("PLAIN"),
			map[string]string{"sasl.mechanism": "PLAIN", "sasl.username": "alice", "sasl.password": "s3cret"}, false},
		{"SCRAM-SHA-256 with the right password", sasl("SCRAM-SHA-256"),
			map[string]string{"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "alice", "sasl.password": "s3cret"}, false},
		{"SCRAM-SHA-512 with the right password", sasl("SCRAM-SHA-512"),
			map[string]string{"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "alice", "sasl.password": "s3cret"}, false},
		{"SCRAM-SHA-256 with a wrong password", sasl("SCRAM-SHA-256"),
			map[string]string{"sasl.mechanism": "SCRAM-SHA-256", "sasl.username": "alice", "sasl.password": "guess"}, true},
		{"TLS trusting the broker's CA", []kfake.Opt{kfake.TLS(serverTLS)},
			map[string]string{"security.protocol": "SSL", "ssl.ca.location": ca}, false},
		{"TLS trusting another CA", []kfake.Opt{kfake.TLS(serverTLS)},
			map[string]string{"security.protocol": "SSL", "ssl.ca.location": otherCA}, true},
		{"SCRAM over TLS (SASL_SSL)", append(sasl("SCRAM-SHA-512"), kfake.TLS(serverTLS)),
			map[string]string{"security.protocol": "SASL_SSL", "ssl.ca.location": ca,
				"sasl.mechanism": "SCRAM-SHA-512", "sasl.username": "alice", "sasl.password": "s3cret"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k := testinfra.StartKafka(t, testinfra.KafkaOptions{Extra: tc.broker})
			b := newEngine(t, engineConfig(k, map[string]any{"security": tc.security, "startTimeout": "2s"}))
			err := b.Start(ctxT(t))
			if tc.wantErr {
				if !errors.Is(err, kafka.ErrBrokersUnreachable) {
					t.Fatalf("Start = %v, want an error wrapping ErrBrokersUnreachable", err)
				}
				if pw := tc.security["sasl.password"]; pw != "" && strings.Contains(err.Error(), pw) {
					t.Fatalf("Start's error shows the SASL password: %v", err)
				}
				t.Logf("refused as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			got := make(chan any, 1)
			if _, err := b.Subscribe(ctxT(t), "secure", func(_ context.Context, e bus.Event) error { got <- e.Payload; return nil }); err != nil {
				t.Fatal(err)
			}
			if err := b.Publish(ctxT(t), bus.Event{Topic: "secure", Payload: "classified"}); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-got:
				if p != "classified" {
					t.Errorf("payload = %v", p)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no delivery")
			}
		})
	}
}

// testCertificates makes a CA and a server certificate for 127.0.0.1 that
// it signs; it returns the CA's PEM file and the server's TLS config.
func testCertificates(t *testing.T) (caFile string, server *tls.Config) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "switchyard test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kfake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	server = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{{Certificate: [][]byte{srvDER}, PrivateKey: srvKey}}}
	return caFile, server
}
