package enginekit

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a random 128-bit identifier in hex, unique across engines
// and processes; engines use it for subscription ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
