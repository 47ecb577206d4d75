package order_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/validation"
)

// TestPendingOrderSignedOnce: an approved order that becomes ready is
// issued by whoever gets there first (the approver, the validation worker,
// another replica). Eight callers at once issue it once, and the key signs
// once: no second certificate is signed and left behind as an abandoned
// serial (the recording transaction alone would discard the second one
// only after it was signed).
func TestPendingOrderSignedOnce(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := ca.Open(ca.Config{Dir: filepath.Join(dir, "ca"), BaseURL: "http://ca.example.test/",
		RootKeyType: ca.KeyP256, IssuerKeyType: ca.KeyP256})
	if err != nil {
		t.Fatal(err)
	}
	acctID, userID, _ := storetest.SeedAccount(t, st, "signonce")
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.ChargeBalance(ctx, acctID, 1<<40) }); err != nil {
		t.Fatal(err)
	}
	acct, err := st.Account(ctx, acctID)
	if err != nil {
		t.Fatal(err)
	}
	acct.AllowSkipApproval = true
	user, err := st.User(ctx, acctID, userID)
	if err != nil {
		t.Fatal(err)
	}
	actor := account.Actor{Account: acct, User: user, Key: &store.APIKey{AccountID: acctID, UserID: userID}}

	// The sandbox holds the name back until the rule is lifted.
	v := &validation.Service{Store: st, Sandbox: true, SandboxRules: []validation.SandboxRule{{Match: "held.example.com", Outcome: validation.SandboxPending}}}
	s := &order.Service{Store: st, CA: h}
	s.UseValidation(v)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(map[string]any{
		"certificate": map[string]any{"common_name": "www.held.example.com", "signature_hash": "sha256",
			"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))},
		"validity_years": 1, "skip_approval": true, "payment_method": "balance", "dcv_method": "dns-txt-token",
	})
	var in order.CreateInput
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	res, err := s.CreateOrder(ctx, actor, "ssl_dv_geotrust", &in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Chain != nil {
		t.Fatal("the held order issued at once")
	}

	v.SandboxRules = nil
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			s.IssueReady(ctx, actor)
		}()
	}
	close(start)
	wg.Wait()

	o, err := st.Order(ctx, acctID, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != store.OrderIssued {
		t.Fatalf("order is %s, want issued", o.Status)
	}
	left, err := st.AbandonedIssuances(ctx, h.DefaultIssuer().ID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d more certificates were signed for the order and discarded: %+v", len(left), left)
	}
}
