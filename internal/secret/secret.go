// Package secret makes the random values that emailed links carry and the
// digests the store keeps of them. A link's secret is its only credential,
// so the store never holds one in the clear: a leaked database opens no
// link.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"io"
	"strings"
)

// Bits is the entropy of every link secret, above the 128 bits that make
// guessing one hopeless for the lifetime of any link.
const Bits = 160

var encoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// New returns a fresh secret, lower-case base32 so that it survives mail
// clients that change case or wrap lines, and its digest for the store.
func New() (string, []byte, error) {
	return NewFrom(rand.Reader)
}

// NewFrom is New with the randomness given (tests, deterministic sandboxes).
func NewFrom(r io.Reader) (string, []byte, error) {
	b := make([]byte, Bits/8)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", nil, fmt.Errorf("link secret: %w", err)
	}
	s := strings.ToLower(encoding.EncodeToString(b))
	return s, Hash(s), nil
}

// Hash is the digest the store keeps of a secret. Case and surrounding
// blanks are ignored, as a reader copying the link may change them.
func Hash(secret string) []byte {
	h := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(secret))))
	return h[:]
}

// Equal compares two digests in constant time.
func Equal(a, b []byte) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare(a, b) == 1
}
