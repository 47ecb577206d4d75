package secret

import (
	"bytes"
	"os"
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

func TestBox(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/key"
	b, err := LoadBox(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v, %v: want mode 0600", fi, err)
	}
	sealed := b.Seal([]byte("seed"), []byte("totp\x001"))
	again, err := LoadBox(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open(sealed, []byte("totp\x001")); err != nil || string(got) != "seed" {
		t.Fatalf("reopened box: %q, %v", got, err)
	}
	if _, err := again.Open(sealed, []byte("totp\x002")); err == nil {
		t.Error("a value sealed for user 1 opened for user 2")
	}
	other, _ := LoadBox(dir + "/other")
	if _, err := other.Open(sealed, []byte("totp\x001")); err == nil {
		t.Error("another key opened the value")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadBox(path); err == nil {
		t.Error("a key file readable by others was accepted")
	}
}
