package secret

import (
	"bytes"
	"strings"
	"testing"
)

func TestNewIsFreshAndHashed(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s, h, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != 32 || strings.ToLower(s) != s {
			t.Fatalf("secret %q: want 32 lower-case base32 characters", s)
		}
		if seen[s] {
			t.Fatalf("secret %q repeated", s)
		}
		seen[s] = true
		if !Equal(h, Hash(s)) || !Equal(h, Hash(" "+strings.ToUpper(s)+"\n")) {
			t.Fatalf("hash of %q does not match its own digest", s)
		}
		if bytes.Contains(h, []byte(s)) {
			t.Fatal("digest contains the secret")
		}
	}
	if Equal(Hash("a"), Hash("b")) || Equal(Hash("a"), Hash("a")[:16]) {
		t.Fatal("different digests compare equal")
	}
}
