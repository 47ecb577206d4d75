package revocation

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/testenv/pkilint"
)

// One hierarchy for the whole package: making its RSA keys dominates
// otherwise. Tests only read it.
var (
	caDir   string
	hierMu  sync.Mutex
	hierVal *ca.Hierarchy
	// caNow is the shared hierarchy's clock (what CRLs' thisUpdate come
	// from); a test that moves time sets it and puts time.Now back.
	caNow   = time.Now
	caNowMu sync.Mutex
)

func setCANow(now func() time.Time) {
	caNowMu.Lock()
	defer caNowMu.Unlock()
	caNow = now
}

func TestMain(m *testing.M) {
	code := m.Run()
	if caDir != "" {
		os.RemoveAll(caDir)
	}
	os.Exit(code)
}

func hierarchy(t testing.TB) *ca.Hierarchy {
	t.Helper()
	hierMu.Lock()
	defer hierMu.Unlock()
	if hierVal != nil {
		return hierVal
	}
	dir, err := os.MkdirTemp("", "certorder-revocation-ca-")
	if err != nil {
		t.Fatal(err)
	}
	caDir = dir
	now := func() time.Time {
		caNowMu.Lock()
		f := caNow
		caNowMu.Unlock()
		return f()
	}
	h, err := ca.Open(ca.Config{Dir: dir, BaseURL: "http://certorder.test", IssuerKeyType: ca.KeyRSA2048, RootKeyType: ca.KeyP256, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	hierVal = h
	return h
}

// clock is a settable Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a store with one account and order to hang certificates on.
type env struct {
	t     testing.TB
	st    *sqlite.Store
	h     *ca.Hierarchy
	acct  int64
	order int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "revocation.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, h: hierarchy(t)}
	now := time.Now().UTC()
	err = st.InTx(ctx, func(tx store.Tx) error {
		a := &store.Account{Name: "acme", CreatedAt: now}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		c := &store.Container{AccountID: a.ID, Name: "acme", IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: a.ID, ContainerID: c.ID, Username: "admin", AccessRole: store.RoleAdministrator, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		org := &store.Organization{AccountID: a.ID, ContainerID: c.ID, Name: "Acme Inc.", IsActive: true, CreatedAt: now}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		o := &store.Order{AccountID: a.ID, ContainerID: c.ID, UserID: u.ID, OrganizationID: org.ID, ProductNameID: "ssl_securesite",
			Status: store.OrderIssued, CommonName: "example.com", DNSNames: []string{"example.com"},
			SignatureHash: "sha256", OrderValidTill: now.AddDate(1, 0, 0), CreatedAt: now, UpdatedAt: now}
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		e.acct, e.order = a.ID, o.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// publisher makes a publisher over the env; tune adjusts its config.
func (e *env) publisher(now func() time.Time, tune func(*Config)) *Publisher {
	cfg := Config{CA: e.h, Store: e.st, Now: now, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if tune != nil {
		tune(&cfg)
	}
	p := New(cfg)
	e.t.Cleanup(p.Stop)
	return p
}

// certs records n issued certificates of iss (the DER is a placeholder:
// nothing here parses it) in one transaction.
func (e *env) certs(iss *ca.Issuer, n int) []*store.Certificate {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	out := make([]*store.Certificate, 0, n)
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		for range n {
			serial, err := ca.NewSerial(rand.Reader)
			if err != nil {
				return err
			}
			hex := ca.SerialHex(serial)
			c := &store.Certificate{AccountID: e.acct, OrderID: e.order, Status: store.CertIssued, SerialNumber: hex,
				Thumbprint: "T" + hex, IssuerID: iss.ID, CommonName: "example.com", DER: []byte{0x30, 0x00},
				NotBefore: now.Add(-time.Hour), NotAfter: now.AddDate(0, 6, 0), CreatedAt: now, IssuedAt: &now}
			if err := tx.CreateCertificate(ctx, c); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// revoke records revocations of certs in one transaction.
func (e *env) revoke(certs []*store.Certificate, reason int, at time.Time) {
	e.t.Helper()
	ctx := context.Background()
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		for _, c := range certs {
			if err := tx.CreateRevocation(ctx, &store.Revocation{CertificateID: c.ID, AccountID: c.AccountID, OrderID: c.OrderID,
				SerialNumber: c.SerialNumber, IssuerID: c.IssuerID, Reason: reason, RevokedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

func serialOf(t testing.TB, c *store.Certificate) *big.Int {
	t.Helper()
	s, ok := new(big.Int).SetString(c.SerialNumber, 16)
	if !ok {
		t.Fatalf("serial %q", c.SerialNumber)
	}
	return s
}

// eventually polls cond until it holds or 10 seconds pass.
func eventually(t testing.TB, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not so after 10s: %s", what, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// crl gets the CRL id of p as the HTTP handler does and, when there is
// one, holds it to pkilint's rules under its issuer: every CRL these tests
// see is linted.
func (e *env) crl(t testing.TB, p *Publisher, id string) (*CRL, error) {
	t.Helper()
	c, err := p.CRLs.Get(context.Background(), id)
	if err != nil {
		return c, err
	}
	issuer := e.h.Root()
	if cid, _ := canonicalID(e.h, id); cid != RootID {
		iss, ok := e.h.Issuer(id)
		if !ok {
			t.Fatalf("CRL %q served for an issuer the hierarchy does not have", id)
		}
		issuer = iss.Cert
	}
	pkilint.RequireCRLClean(t, c.DER, issuer)
	return c, nil
}

// respond asks p's responder and, for a signed answer, holds it to
// pkilint's rules: every OCSP response these tests see is linted.
func respond(t testing.TB, p *Publisher, req []byte, issuer *x509.Certificate, serial *big.Int) Answer {
	t.Helper()
	ans := p.OCSP.Respond(context.Background(), req)
	if ans.Status != StatusError {
		pkilint.RequireOCSPClean(t, ans.DER, issuer, serial)
	}
	return ans
}

func numberString(c *CRL) string {
	if c == nil {
		return "<nil>"
	}
	return fmt.Sprintf("number %s, %d entries", c.Number, c.Entries)
}
