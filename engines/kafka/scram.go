package kafka

import (
	"fmt"

	"github.com/xdg-go/scram"
)

// scramClient adapts github.com/xdg-go/scram (SASL SCRAM, RFC 5802 with
// the SHA-256/512 hashes of RFC 7677) to sarama.SCRAMClient. Sarama calls
// Begin, then Step with each server message until Done; the library checks
// the server's final signature, so a broker that does not know the
// password is refused.
type scramClient struct {
	hash scram.HashGeneratorFcn
	conv *scram.ClientConversation
}

func newSCRAMClient(h scram.HashGeneratorFcn) *scramClient { return &scramClient{hash: h} }

var (
	sha256Hash = scram.SHA256
	sha512Hash = scram.SHA512
)

// Begin implements sarama.SCRAMClient.
func (c *scramClient) Begin(user, pass, authzID string) error {
	client, err := c.hash.NewClient(user, pass, authzID)
	if err != nil {
		return fmt.Errorf("scram: %w", err)
	}
	c.conv = client.NewConversation()
	return nil
}

// Step implements sarama.SCRAMClient.
func (c *scramClient) Step(challenge string) (string, error) {
	if c.conv == nil {
		return "", fmt.Errorf("scram: Step before Begin")
	}
	resp, err := c.conv.Step(challenge)
	if err != nil {
		return "", fmt.Errorf("scram: %w", err)
	}
	return resp, nil
}

// Done implements sarama.SCRAMClient.
func (c *scramClient) Done() bool { return c.conv != nil && c.conv.Done() }
