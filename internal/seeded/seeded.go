// Package seeded makes the sandbox's non-secret random values repeat from
// run to run: with --sandbox-seed, each purpose (DCV random values, the
// first half of serial numbers, injected faults) draws from its own
// ChaCha8 stream keyed by the seed and the purpose's name, so a client's
// test that replays the same calls sees the same values. It never feeds a
// secret: API keys, link secrets, signing and key generation keep
// crypto/rand whatever the seed (docs/decisions.md, "Fault injection and
// deterministic runs").
package seeded

import (
	crand "crypto/rand"
	"crypto/sha256"
	"math/rand/v2"
	"sync"
)

// Purposes of the streams a seed keys; one name per kind of value, so that
// adding draws of one kind never shifts the values of another.
const (
	PurposeDCVValue     = "dcv-random-value"
	PurposeSerialPrefix = "serial-prefix"
	PurposeFaults       = "faults"
)

// Source is a stream of random bytes and numbers, safe for concurrent use.
// Concurrent callers share one stream, so values repeat from run to run
// only when the calls that draw them come in the same order.
type Source struct {
	mu sync.Mutex
	r  *rand.ChaCha8
}

// New is the stream of purpose under seed.
func New(seed, purpose string) *Source {
	h := sha256.New()
	h.Write([]byte("certorder sandbox seed\x00"))
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write([]byte(seed))
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return &Source{r: rand.NewChaCha8(key)}
}

// Fresh is a stream keyed from crypto/rand: what a purpose uses when no
// seed is given, so the code drawing from it is the same either way.
func Fresh() *Source {
	var key [32]byte
	_, _ = crand.Read(key[:]) // crypto/rand.Read never fails
	return &Source{r: rand.NewChaCha8(key)}
}

// Read fills b; it never fails.
func (s *Source) Read(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Read(b)
}

// Uint64 is the next 64 bits of the stream.
func (s *Source) Uint64() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.r.Uint64()
}

// Float64 is uniform in [0, 1).
func (s *Source) Float64() float64 {
	return float64(s.Uint64()>>11) / (1 << 53)
}

// For is the stream of purpose under seed, or a fresh one when seed is
// empty (no --sandbox-seed).
func For(seed, purpose string) *Source {
	if seed == "" {
		return Fresh()
	}
	return New(seed, purpose)
}
