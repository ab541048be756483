package kafka

import (
	"crypto/tls"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/IBM/sarama"

	"github.com/switchyard-go/eventbus/broker"
)

// Keys of Config.SecurityConfig. They are the Kafka client property names
// (the ones upstream's engine read), so existing configuration carries
// over.
const (
	secProtocol      = "security.protocol"        // PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
	secMechanism     = "sasl.mechanism"           // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
	secUsername      = "sasl.username"            // SASL user
	secPassword      = "sasl.password"            // SASL password
	secCALocation    = "ssl.ca.location"          // PEM file of the CAs that sign the brokers' certificates
	secCertLocation  = "ssl.certificate.location" // PEM client certificate (mutual TLS)
	secKeyLocation   = "ssl.key.location"         // PEM client key (mutual TLS)
	secServerName    = "ssl.server.name"          // overrides the name checked in the broker certificate
	secSkipVerify    = "ssl.insecure.skip.verify" // "true" disables certificate verification (tests only)
	secMinTLSVersion = "ssl.min.version"          // "1.2" (default) or "1.3"
)

var securityKeys = []string{secProtocol, secMechanism, secUsername, secPassword, secCALocation,
	secCertLocation, secKeyLocation, secServerName, secSkipVerify, secMinTLSVersion}

// applySecurity maps Config.SecurityConfig (and the module-level
// externalBrokerUser/Password) onto sarama's Net.TLS and Net.SASL.
//
// security.protocol defaults to what the other keys imply: SASL_* when a
// SASL user is set, *_SSL when any ssl.* key is set. An explicit protocol
// that contradicts the other keys is an error rather than a silent
// downgrade (for example PLAINTEXT with sasl.username).
func applySecurity(c *Config, sc *sarama.Config) error {
	m := c.SecurityConfig
	var unknown []string
	for k := range m {
		if !containsString(securityKeys, k) {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("%w: security: unknown key(s) %s (known: %s)", ErrInvalidConfig,
			strings.Join(unknown, ", "), strings.Join(securityKeys, ", "))
	}
	user, pass := m[secUsername], m[secPassword]
	if user == "" && pass == "" && c.ExternalBrokerUser != "" {
		user, pass = c.ExternalBrokerUser, c.ExternalBrokerPassword
	}
	anySSL := false
	for _, k := range []string{secCALocation, secCertLocation, secKeyLocation, secServerName, secSkipVerify, secMinTLSVersion} {
		if m[k] != "" {
			anySSL = true
		}
	}
	wantSASL := user != "" || pass != "" || m[secMechanism] != "" // a lone password is an error, not ignored

	protocol := strings.ToUpper(m[secProtocol])
	if protocol == "" {
		switch {
		case wantSASL && anySSL:
			protocol = "SASL_SSL"
		case wantSASL:
			protocol = "SASL_PLAINTEXT"
		case anySSL:
			protocol = "SSL"
		default:
			protocol = "PLAINTEXT"
		}
	}
	var useTLS, useSASL bool
	switch protocol {
	case "PLAINTEXT":
	case "SSL":
		useTLS = true
	case "SASL_PLAINTEXT":
		useSASL = true
	case "SASL_SSL":
		useTLS, useSASL = true, true
	default:
		return invalid("security."+secProtocol, strconv.Quote(m[secProtocol]), "want PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL")
	}
	if wantSASL && !useSASL {
		return invalid("security."+secProtocol, protocol, "sasl.* keys are set but the protocol uses no SASL (use SASL_PLAINTEXT or SASL_SSL)")
	}
	if anySSL && !useTLS {
		return invalid("security."+secProtocol, protocol, "ssl.* keys are set but the protocol uses no TLS (use SSL or SASL_SSL)")
	}
	if useSASL {
		if err := applySASL(m[secMechanism], user, pass, sc); err != nil {
			return err
		}
	}
	if useTLS {
		tc, err := tlsConfig(m)
		if err != nil {
			return err
		}
		sc.Net.TLS.Enable = true
		sc.Net.TLS.Config = tc
	}
	return nil
}

func applySASL(mechanism, user, pass string, sc *sarama.Config) error {
	if user == "" {
		return invalid("security."+secUsername, `""`, "required when the protocol uses SASL")
	}
	if pass == "" {
		return invalid("security."+secPassword, `""`, "required when the protocol uses SASL")
	}
	sc.Net.SASL.Enable = true
	sc.Net.SASL.Handshake = true
	sc.Net.SASL.User = user
	sc.Net.SASL.Password = pass
	switch strings.ToUpper(mechanism) {
	case "", "PLAIN":
		sc.Net.SASL.Mechanism = sarama.SASLTypePlaintext
	case "SCRAM-SHA-256":
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA256
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAMClient(sha256Hash) }
	case "SCRAM-SHA-512":
		sc.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		sc.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return newSCRAMClient(sha512Hash) }
	default:
		return invalid("security."+secMechanism, strconv.Quote(mechanism), "want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	}
	return nil
}

// tlsConfig builds the TLS configuration from the ssl.* keys with
// broker.TLSOptions, the options (and key names) the Redis engine shares.
func tlsConfig(m map[string]string) (*tls.Config, error) {
	o := broker.TLSOptions{
		CALocation: m[secCALocation], CertLocation: m[secCertLocation], KeyLocation: m[secKeyLocation],
		ServerName: m[secServerName], MinVersion: m[secMinTLSVersion],
	}
	if v := m[secSkipVerify]; v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, invalid("security."+secSkipVerify, strconv.Quote(v), "want true or false")
		}
		o.InsecureSkipVerify = b
	}
	tc := &tls.Config{}
	if err := o.Apply(tc, "security"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return tc, nil
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
