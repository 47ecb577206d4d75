package app

import (
	"context"
	"crypto"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
)

// TestCheckCAAfterUpgrade: a CA directory from before a purpose existed
// gains that purpose's intermediate when opened; its store, which
// recorded the old fingerprint, takes the upgraded hierarchy (and records
// its fingerprint), while another copy of the old directory that upgraded
// itself on its own is refused.
func TestCheckCAAfterUpgrade(t *testing.T) {
	keys := map[string]crypto.Signer{}
	var mu sync.Mutex
	keySource := func(kt ca.KeyType, slot string) (crypto.Signer, error) {
		mu.Lock()
		defer mu.Unlock()
		if k, ok := keys[string(kt)+slot]; ok {
			return k, nil // the copy's upgrade reuses a key: its certificate still differs by serial
		}
		k, err := ca.NewKey(kt)
		keys[string(kt)+slot] = k
		return k, err
	}
	open := func(dir string) *ca.Hierarchy {
		t.Helper()
		h, err := ca.Open(ca.Config{Dir: dir, BaseURL: "http://ca.example.test", RootKeyType: ca.KeyP256,
			IssuerKeyType: ca.KeyP256, KeySource: keySource})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// A hierarchy as a build without Private SSL left it.
	oldDir := filepath.Join(t.TempDir(), "old")
	open(oldDir)
	dropPurpose(t, oldDir, ca.PurposePrivateTLS)
	copyDir := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(copyDir, os.DirFS(oldDir)); err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	upgraded := open(oldDir)
	prev := upgraded.PreviousFingerprints()
	if len(prev) != 1 || prev[0] == upgraded.Fingerprint() || len(upgraded.IssuersFor(ca.PurposePrivateTLS)) != 1 {
		t.Fatalf("upgrade: previous fingerprints %v, private TLS issuers %d", prev, len(upgraded.IssuersFor(ca.PurposePrivateTLS)))
	}
	// The store as the old build recorded it.
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.PutSettingIfAbsent(ctx, caFingerprintKey, prev[0]) }); err != nil {
		t.Fatal(err)
	}
	if err := checkCA(ctx, st, upgraded); err != nil {
		t.Fatalf("the upgraded CA of the store was refused: %v", err)
	}
	if got, _ := st.Setting(ctx, caFingerprintKey); got != upgraded.Fingerprint() {
		t.Fatalf("store fingerprint %.16s, want the upgraded %.16s", got, upgraded.Fingerprint())
	}
	if err := checkCA(ctx, st, open(oldDir)); err != nil {
		t.Fatalf("reopening the upgraded CA: %v", err)
	}

	// The copy upgrades itself with another intermediate: another CA now.
	other := open(copyDir)
	if other.PreviousFingerprints()[0] != prev[0] || other.Fingerprint() == upgraded.Fingerprint() {
		t.Fatal("the copy did not upgrade on its own")
	}
	if err := checkCA(ctx, st, other); err == nil || !strings.Contains(err.Error(), "not the CA of the database") {
		t.Fatalf("a copy upgraded on its own: %v, want a refusal", err)
	}
}

// dropPurpose removes a purpose's intermediates from the manifest of dir,
// as a build from before that purpose wrote it.
func dropPurpose(t *testing.T, dir string, p ca.Purpose) {
	t.Helper()
	path := filepath.Join(dir, "hierarchy.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var kept []any
	for _, iss := range m["issuers"].([]any) {
		f := iss.(map[string]any)
		if f["purpose"] == string(p) {
			os.Remove(filepath.Join(dir, f["cert"].(string)))
			os.Remove(filepath.Join(dir, f["key"].(string)))
			continue
		}
		kept = append(kept, iss)
	}
	m["issuers"] = kept
	if b, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
