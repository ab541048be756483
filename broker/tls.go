package broker

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
)

// TLSOptions are the TLS settings of a broker connection, under the Kafka
// client property names the Kafka engine's security map uses, so that one
// vocabulary serves every broker engine. The zero value keeps the system
// roots and the host name of the address.
type TLSOptions struct {
	// CALocation is a PEM file of the CAs that sign the server's
	// certificate; they replace the system roots. Default: system roots.
	CALocation string `json:"ssl.ca.location,omitempty"`
	// CertLocation and KeyLocation are the PEM client certificate and key
	// for mutual TLS; set both or neither. Default: no client certificate.
	CertLocation string `json:"ssl.certificate.location,omitempty"`
	KeyLocation  string `json:"ssl.key.location,omitempty"`
	// ServerName overrides the name checked in the server certificate (and
	// sent as SNI). Default: the host of the address.
	ServerName string `json:"ssl.server.name,omitempty"`
	// InsecureSkipVerify disables certificate verification. For tests
	// only. Default: false.
	InsecureSkipVerify bool `json:"ssl.insecure.skip.verify,omitempty"`
	// MinVersion is "1.2" or "1.3". Default: "1.2".
	MinVersion string `json:"ssl.min.version,omitempty"`
}

// IsZero reports whether no option is set.
func (o TLSOptions) IsZero() bool { return o == TLSOptions{} }

// Apply sets the options on tc (reading the PEM files). The error wraps
// ErrInvalidOption and names the option as path + "." + key (path is where
// the options sit in the engine config, "security") and the file, never a
// file's content.
func (o TLSOptions) Apply(tc *tls.Config, path string) error {
	bad := func(key, v, why string) error {
		return fmt.Errorf("%w: %s.%s: %s: %s", ErrInvalidOption, path, key, strconv.Quote(v), why)
	}
	switch o.MinVersion {
	case "", "1.2":
		tc.MinVersion = tls.VersionTLS12
	case "1.3":
		tc.MinVersion = tls.VersionTLS13
	default:
		return bad("ssl.min.version", o.MinVersion, `want "1.2" or "1.3"`)
	}
	if o.ServerName != "" {
		tc.ServerName = o.ServerName
	}
	tc.InsecureSkipVerify = o.InsecureSkipVerify // #nosec G402 -- explicit opt-in, documented as for tests only
	if o.CALocation != "" {
		pem, err := os.ReadFile(o.CALocation)
		if err != nil {
			return bad("ssl.ca.location", o.CALocation, err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return bad("ssl.ca.location", o.CALocation, "no PEM certificate found")
		}
		tc.RootCAs = pool
	}
	switch {
	case o.CertLocation != "" && o.KeyLocation != "":
		pair, err := tls.LoadX509KeyPair(o.CertLocation, o.KeyLocation)
		if err != nil {
			return bad("ssl.certificate.location", o.CertLocation, "with ssl.key.location "+strconv.Quote(o.KeyLocation)+": "+err.Error())
		}
		tc.Certificates = []tls.Certificate{pair}
	case o.CertLocation != "":
		return bad("ssl.key.location", "", "required with ssl.certificate.location")
	case o.KeyLocation != "":
		return bad("ssl.certificate.location", "", "required with ssl.key.location")
	}
	return nil
}
