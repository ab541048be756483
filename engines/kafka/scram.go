package kafka

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// scramClient is the client side of SASL SCRAM (RFC 5802, with the
// SHA-256/512 hashes of RFC 7677), implementing sarama.SCRAMClient. Sarama
// calls Begin, then Step("") for the client-first message, then Step with
// each server message until Done.
//
// Exchange:
//
//	client-first  n,[a=authzid],n=user,r=cnonce
//	server-first  r=cnonce+snonce,s=salt,i=iterations
//	client-final  c=base64(gs2 header),r=nonce,p=base64(ClientKey XOR HMAC(StoredKey, AuthMessage))
//	server-final  v=base64(HMAC(ServerKey, AuthMessage))   (checked: the broker knows the password)
type scramClient struct {
	newHash func() hash.Hash

	user, pass, authzID string
	step                int
	gs2                 string // gs2 header: "n,," or "n,a=authzid,"
	nonce               string
	clientFirstBare     string
	serverSignature     []byte
	done                bool
}

func sha256Hash() hash.Hash { return sha256.New() }
func sha512Hash() hash.Hash { return sha512.New() }

func newSCRAMClient(h func() hash.Hash) *scramClient { return &scramClient{newHash: h} }

// Begin implements sarama.SCRAMClient.
func (c *scramClient) Begin(user, pass, authzID string) error {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("scram: nonce: %w", err)
	}
	c.user, c.pass, c.authzID = user, pass, authzID
	c.nonce = base64.RawStdEncoding.EncodeToString(b[:])
	c.step, c.done = 0, false
	return nil
}

// Done implements sarama.SCRAMClient.
func (c *scramClient) Done() bool { return c.done }

// Step implements sarama.SCRAMClient.
func (c *scramClient) Step(challenge string) (string, error) {
	c.step++
	switch c.step {
	case 1:
		c.gs2 = "n,,"
		if c.authzID != "" {
			c.gs2 = "n,a=" + saslName(c.authzID) + ","
		}
		c.clientFirstBare = "n=" + saslName(c.user) + ",r=" + c.nonce
		return c.gs2 + c.clientFirstBare, nil
	case 2:
		return c.clientFinal(challenge)
	case 3:
		c.done = true
		return "", c.verifyServerFinal(challenge)
	default:
		return "", errors.New("scram: exchange already finished")
	}
}

func (c *scramClient) clientFinal(serverFirst string) (string, error) {
	attrs := scramAttrs(serverFirst)
	if e, ok := attrs["e"]; ok {
		return "", fmt.Errorf("scram: server error: %s", e)
	}
	nonce, saltB64, iterStr := attrs["r"], attrs["s"], attrs["i"]
	if !strings.HasPrefix(nonce, c.nonce) || len(nonce) == len(c.nonce) {
		return "", errors.New("scram: server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(saltB64)
	if err != nil || len(salt) == 0 {
		return "", errors.New("scram: invalid salt from server")
	}
	iter, err := strconv.Atoi(iterStr)
	if err != nil || iter < 1 {
		return "", fmt.Errorf("scram: invalid iteration count %q from server", iterStr)
	}
	h := c.newHash
	salted, err := pbkdf2.Key(h, c.pass, salt, iter, h().Size())
	if err != nil {
		return "", fmt.Errorf("scram: derive key: %w", err)
	}
	clientKey := hmacSum(h, salted, []byte("Client Key"))
	storedKey := h()
	storedKey.Write(clientKey)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(c.gs2)) + ",r=" + nonce
	authMessage := []byte(c.clientFirstBare + "," + serverFirst + "," + withoutProof)
	clientSig := hmacSum(h, storedKey.Sum(nil), authMessage)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ clientSig[i]
	}
	c.serverSignature = hmacSum(h, hmacSum(h, salted, []byte("Server Key")), authMessage)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

func (c *scramClient) verifyServerFinal(serverFinal string) error {
	attrs := scramAttrs(serverFinal)
	if e, ok := attrs["e"]; ok {
		return fmt.Errorf("scram: server rejected the authentication: %s", e)
	}
	got, err := base64.StdEncoding.DecodeString(attrs["v"])
	if err != nil || subtle.ConstantTimeCompare(got, c.serverSignature) != 1 {
		return errors.New("scram: server signature mismatch (the broker does not know this password)")
	}
	return nil
}

func hmacSum(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}

// scramAttrs splits "k=v,k=v" (values may contain "=").
func scramAttrs(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		if k, v, ok := strings.Cut(part, "="); ok {
			out[k] = v
		}
	}
	return out
}

// saslName escapes "=" and "," as RFC 5802 requires for user names.
func saslName(s string) string {
	return strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s)
}
