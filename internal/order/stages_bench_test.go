package order_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
)

// BenchmarkOrderStages measures each stage of an immediate-issuance order
// apart, and reports each as a multiple of one bare ECDSA P-256 signature
// measured in the same run ("sigs/op"), which stays comparable on a noisy
// or slower machine. Run: go test ./internal/order -run '^$' -bench OrderStages
//
//	decode   the JSON body into order.CreateInput
//	csr      parse the CSR, verify its signature, check its key
//	profile  the certificate as the profile makes it, and its lint copy
//	lint     zlint over the copy
//	sign     the issuer's signature, parsed and verified
//	store    the two durable commits of an issuance (the serial's intent,
//	         then order, certificate and serial), one caller at a time;
//	         store-64 is 64 callers at once (group commit)
func BenchmarkOrderStages(b *testing.B) {
	for _, kt := range []ca.KeyType{ca.KeyP256, ca.KeyRSA2048} {
		b.Run("issuer="+string(kt), func(b *testing.B) { benchStages(b, kt) })
	}
}

func benchStages(b *testing.B, issuerKey ca.KeyType) {
	dir := b.TempDir()
	h, err := ca.Open(ca.Config{Dir: filepath.Join(dir, "ca"), BaseURL: "http://ca.example.test/",
		RootKeyType: ca.KeyP256, IssuerKeyType: issuerKey})
	if err != nil {
		b.Fatal(err)
	}
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "www.example.com"}, DNSNames: []string{"www.example.com"}}, leafKey)
	if err != nil {
		b.Fatal(err)
	}
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}))
	body, _ := json.Marshal(map[string]any{
		"certificate": map[string]any{"common_name": "www.example.com", "dns_names": []string{"example.com"},
			"csr": csrPEM, "signature_hash": "sha256", "server_platform": map[string]any{"id": -1}},
		"organization": map[string]any{"id": 1}, "validity_years": 1, "skip_approval": true,
		"comments": "stage benchmark", "payment_method": "balance",
	})
	req := func() ca.LeafRequest {
		serial, _ := ca.NewSerial(rand.Reader)
		nb := time.Now().UTC().Truncate(time.Second)
		return ca.LeafRequest{Issuer: h.DefaultIssuer(), Profile: ca.ProfileOVTLS, PublicKey: leafKey.Public(),
			Subject:  ca.Subject{CommonName: "www.example.com", Organization: "Example Corp", Country: "US", State: "Utah", Locality: "Lehi"},
			DNSNames: []string{"www.example.com", "example.com"}, NotBefore: nb, NotAfter: nb.Add(199 * 24 * time.Hour), Serial: serial}
	}

	type stage struct {
		name string
		ns   float64
	}
	var stages []stage
	var base float64
	run := func(name string, f func(b *testing.B)) {
		var ns float64
		b.Run(name, func(b *testing.B) {
			f(b)
			ns = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if base > 0 {
				b.ReportMetric(ns/base, "sigs/op")
			}
		})
		if base == 0 {
			base = ns
		}
		stages = append(stages, stage{name, ns})
	}

	run("p256-sign", func(b *testing.B) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		d := sha256.Sum256([]byte("certorder"))
		for b.Loop() {
			if _, err := ecdsa.SignASN1(rand.Reader, k, d[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("decode", func(b *testing.B) {
		for b.Loop() {
			var in order.CreateInput
			if err := json.Unmarshal(body, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("csr", func(b *testing.B) {
		for b.Loop() {
			csr, err := ca.ParseCSR(csrPEM)
			if err != nil {
				b.Fatal(err)
			}
			if err := ca.CheckKey(csr.PublicKey); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("profile", func(b *testing.B) {
		for b.Loop() {
			if _, err := h.Draft(req()); err != nil {
				b.Fatal(err)
			}
		}
	})
	draft, err := h.Draft(req())
	if err != nil {
		b.Fatal(err)
	}
	run("lint", func(b *testing.B) {
		for b.Loop() {
			if _, err := draft.Lint(); err != nil {
				b.Fatal(err)
			}
		}
	})
	var cert *x509.Certificate
	run("sign", func(b *testing.B) {
		for b.Loop() {
			if cert, err = draft.Sign(); err != nil {
				b.Fatal(err)
			}
		}
	})

	// The store lives on disk, not tmpfs: the fsync of each commit is the cost.
	dbDir, err := os.MkdirTemp(".", "stage-bench-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(dbDir)
	st, err := sqlite.Open(context.Background(), filepath.Join(dbDir, "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	acct, user, cont := storetest.SeedAccount(b, st, "bench")
	var seq atomic.Int64
	issue := func() error {
		ctx := context.Background()
		n := seq.Add(1)
		serial := fmt.Sprintf("%032x", n)
		now := time.Now().UTC()
		if err := st.InTx(ctx, func(tx store.Tx) error {
			return tx.CreateIssuanceIntent(ctx, &store.IssuanceIntent{SerialNumber: serial, IssuerID: "bench", AccountID: acct, CreatedAt: now})
		}); err != nil {
			return err
		}
		return st.InTx(ctx, func(tx store.Tx) error {
			o := &store.Order{AccountID: acct, ContainerID: cont, UserID: user, ProductNameID: "ssl_securesite",
				Status: store.OrderIssued, CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"},
				SignatureHash: "sha256", OrderValidTill: now.AddDate(1, 0, 0), CreatedAt: now, UpdatedAt: now}
			if err := tx.CreateOrder(ctx, o); err != nil {
				return err
			}
			c := &store.Certificate{AccountID: acct, OrderID: o.ID, Status: store.CertIssued, SerialNumber: serial,
				Thumbprint: serial, IssuerID: "bench", CommonName: "www.example.com", DER: cert.Raw,
				NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, CreatedAt: now, IssuedAt: &now}
			if err := tx.ReserveSerial(ctx, serial, o.ID, now); err != nil {
				return err
			}
			if err := tx.CreateCertificate(ctx, c); err != nil {
				return err
			}
			o.CertificateID = c.ID
			return tx.UpdateOrder(ctx, o)
		})
	}
	run("store", func(b *testing.B) {
		for b.Loop() {
			if err := issue(); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("store-64", func(b *testing.B) {
		b.SetParallelism(64)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := issue(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	fmt.Printf("\n%s issuer, one ECDSA P-256 signature = %.1f µs\n", issuerKey, base/1e3)
	fmt.Printf("%-10s %12s %10s\n", "stage", "µs/op", "sigs/op")
	var total float64
	for _, s := range stages[1:] {
		fmt.Printf("%-10s %12.1f %10.2f\n", s.name, s.ns/1e3, s.ns/base)
		if s.name != "store-64" {
			total += s.ns
		}
	}
	fmt.Printf("%-10s %12.1f %10.2f   (decode … store, one at a time)\n", "total", total/1e3, total/base)
}
