package order

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/validation"
)

func BenchmarkZZImmediateOrder(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "certorder.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h, err := ca.Open(ca.Config{Dir: filepath.Join(dir, "ca"), BaseURL: "http://ca.example.test/", RootKeyType: ca.KeyP256, IssuerKeyType: ca.KeyP256})
	if err != nil {
		b.Fatal(err)
	}
	acctID, userID, _ := storetest.SeedAccount(&testing.T{}, st, "serials")
	st.InTx(ctx, func(tx store.Tx) error { return tx.ChargeBalance(ctx, acctID, 1<<50) })
	acct, _ := st.Account(ctx, acctID)
	acct.AllowSkipApproval = true
	user, _ := st.User(ctx, acctID, userID)
	actor := account.Actor{Account: acct, User: user, Key: &store.APIKey{AccountID: acctID, UserID: userID}}
	s := &Service{Store: st, CA: h}
	s.UseValidation(&validation.Service{Store: st, Sandbox: true})
	h.WarmLinter()
	var csrs []string
	for range 64 {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
		csrs = append(csrs, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	}
	_ = time.Now
	n := 0
	for b.Loop() {
		n++
		name := fmt.Sprintf("a%d.example.com", n%64)
		body, _ := json.Marshal(map[string]any{
			"certificate":    map[string]any{"common_name": name, "signature_hash": "sha256", "csr": csrs[n%64]},
			"validity_years": 1, "skip_approval": true, "payment_method": "balance", "dcv_method": "dns-txt-token",
		})
		var in CreateInput
		json.Unmarshal(body, &in)
		if _, err := s.CreateOrder(ctx, actor, "ssl_dv_geotrust", &in); err != nil {
			b.Fatal(err)
		}
	}
}
