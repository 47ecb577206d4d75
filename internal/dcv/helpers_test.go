package dcv

import (
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
)

const tokenPath = "/.well-known/pki-validation/fileauth.txt"

// newChecker returns a Checker using d as resolver and h (may be nil) as the web server of
// every host, with private addresses allowed and DNSSEC validation off (the loopback zones
// are unsigned unless a test signs them and turns it on: see validateFrom).
func newChecker(t *testing.T, d *dcvtest.DNS, h *dcvtest.HTTP, mod ...func(*Config)) *Checker {
	t.Helper()
	cfg := Config{Resolver: d.Addr(), Timeout: 2 * time.Second, AllowPrivate: true, DNSSEC: DNSSECOff}
	if h != nil {
		cfg.HTTPPort, cfg.HTTPSPort = h.Port(), h.TLSPort()
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func wantContains(t *testing.T, what, got, sub string) {
	t.Helper()
	if !strings.Contains(got, sub) {
		t.Errorf("%s = %q, want it to contain %q", what, got, sub)
	}
}
