package account

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// RFC 6238 appendix B, SHA-1, the last six of its eight digits.
func TestTOTPVectors(t *testing.T) {
	seed := []byte("12345678901234567890")
	for _, c := range []struct {
		unix int64
		code string
	}{{59, "287082"}, {1111111109, "081804"}, {1111111111, "050471"}, {1234567890, "005924"}, {2000000000, "279037"}, {20000000000, "353130"}} {
		if got := TOTPCode(seed, TOTPStep(time.Unix(c.unix, 0))); got != c.code {
			t.Errorf("T=%d: code %s, want %s", c.unix, got, c.code)
		}
	}
}

func TestMatchTOTPWindow(t *testing.T) {
	seed := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	base := TOTPStep(now)
	for _, c := range []struct {
		name string
		code string
		step int64
		ok   bool
	}{
		{"current", TOTPCode(seed, base), base, true},
		{"one step late", TOTPCode(seed, base-1), base - 1, true},
		{"one step early", TOTPCode(seed, base+1), base + 1, true},
		{"spaced", TOTPCode(seed, base)[:3] + " " + TOTPCode(seed, base)[3:], base, true},
		{"two steps late", TOTPCode(seed, base-2), 0, false},
		{"two steps early", TOTPCode(seed, base+2), 0, false},
		{"short", "12345", 0, false},
		{"letters", "abcdef", 0, false},
	} {
		step, ok := MatchTOTP(seed, c.code, now)
		if ok != c.ok || ok && step != c.step {
			t.Errorf("%s: step %d ok %v, want %d %v", c.name, step, ok, c.step, c.ok)
		}
	}
	if uri := TOTPURI("certorder", "ann@example.com", seed); !strings.HasPrefix(uri, "otpauth://totp/certorder:ann@example.com?") ||
		!strings.Contains(uri, "secret="+TOTPKey(seed)) {
		t.Errorf("TOTPURI = %s", uri)
	}
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse battery")
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q is not an argon2id PHC string with the documented parameters", h)
	}
	if h == HashPassword("correct horse battery") {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, c := range []struct {
		phc, pw string
		want    bool
	}{
		{h, "correct horse battery", true},
		{h, "correct horse batterY", false},
		{h, "", false},
		{strings.Replace(h, "argon2id", "argon2i", 1), "correct horse battery", false},
		{"", "correct horse battery", false},
		{"$argon2id$v=19$m=99999999,t=2,p=1$AAAA$AAAA", "x", false},
	} {
		if got := VerifyPassword(c.phc, c.pw); got != c.want {
			t.Errorf("VerifyPassword(%.30q, %q) = %v, want %v", c.phc, c.pw, got, c.want)
		}
	}
}

func TestPasswordPolicy(t *testing.T) {
	u := &store.User{Username: "ann.admin", Email: "ann@example.com", FirstName: "Ann", LastName: "Admin"}
	for pw, ok := range map[string]bool{
		"short":                     false,
		"ann@example.com":           false,
		"ANN.ADMIN":                 false,
		"long enough pass":          true,
		"ünïcödé pässwörd":          true,
		strings.Repeat("x", 256):    true,
		strings.Repeat("x", 257):    false,
		"ann admin ann admin admin": true,
	} {
		if err := CheckPasswordPolicy(u, pw); (err == nil) != ok {
			t.Errorf("%q: %v, want ok=%v", pw, err, ok)
		}
	}
}

// TestAddressCounter: an address counts within its window; IPv6 by its
// /64 (a host has as many addresses), IPv4 alone, an IPv4-mapped IPv6
// address as the IPv4 one; the zero address (no network) not at all.
func TestAddressCounter(t *testing.T) {
	now := time.Date(2027, 1, 4, 10, 20, 0, 0, time.UTC)
	key := func(a string, at time.Time) string {
		var addr netip.Addr
		if a != "" {
			addr = netip.MustParseAddr(a)
		}
		c, ok := addressCounter(addr, at)
		if !ok {
			return ""
		}
		if want := at.Truncate(AddressWindow).Add(AddressWindow); !c.until.Equal(want) {
			t.Errorf("%s: window ends %v, want %v", a, c.until, want)
		}
		return c.key
	}
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
		{"2001:db8:1:2::1", "2001:db8:1:3::1", false},
		{"192.0.2.1", "::ffff:192.0.2.1", true},
		{"192.0.2.1", "192.0.2.2", false},
	} {
		if got := key(c.a, now) == key(c.b, now); got != c.same {
			t.Errorf("%s and %s count together: %v, want %v", c.a, c.b, got, c.same)
		}
	}
	if key("192.0.2.1", now) == key("192.0.2.1", now.Add(AddressWindow)) {
		t.Error("the next window counts with this one")
	}
	if key("", now) != "" {
		t.Error("no address is counted")
	}
	if k := key("192.0.2.1", now); validUsername(k) {
		t.Errorf("an address's key %q could be a username's", k)
	}
}

func TestSignInDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{0: 0, 9: 0, 10: time.Second, 11: 2 * time.Second, 15: 32 * time.Second, 30: MaxSignInDelay, 1000: MaxSignInDelay} {
		if got := SignInDelay(n); got != want {
			t.Errorf("SignInDelay(%d) = %v, want %v", n, got, want)
		}
	}
}
