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
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
	"github.com/certorder/certorder/internal/validation"
)

type claimClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *claimClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *claimClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func claimCSR(t *testing.T) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "x"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// storeAndCA is a real SQLite store and a P-256 CA in a temporary
// directory, with a funded account (name) whose user may skip approval,
// and a clock the test moves.
func storeAndCA(t *testing.T, name string) (*sqlite.Store, *ca.Hierarchy, account.Actor, *claimClock) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := ca.Open(ca.Config{Dir: filepath.Join(dir, "ca"), BaseURL: "http://ca.example.test/", RootKeyType: ca.KeyP256, IssuerKeyType: ca.KeyP256})
	if err != nil {
		t.Fatal(err)
	}
	acctID, userID, _ := storetest.SeedAccount(t, st, name)
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.ChargeBalance(ctx, acctID, 1<<40) }); err != nil {
		t.Fatal(err)
	}
	acct, _ := st.Account(ctx, acctID)
	acct.AllowSkipApproval = true
	user, _ := st.User(ctx, acctID, userID)
	actor := account.Actor{Account: acct, User: user, Key: &store.APIKey{AccountID: acctID, UserID: userID}}
	clock := &claimClock{t: time.Now().UTC()}
	return st, h, actor, clock
}

// pendingOrder sets up a service on a real store and CA with one approved
// DV order that is ready to issue, and returns what signing it needs.
func pendingOrder(t *testing.T) (*Service, *claimClock, account.Actor, *store.Order, catalog.Product) {
	t.Helper()
	ctx := context.Background()
	st, h, actor, clock := storeAndCA(t, "claim")
	acctID := actor.Account.ID
	v := &validation.Service{Store: st, Sandbox: true, Now: clock.now,
		SandboxRules: []validation.SandboxRule{{Match: "held.example.com", Outcome: validation.SandboxPending}}}
	s := &Service{Store: st, CA: h, Now: clock.now}
	s.UseValidation(v)
	body, _ := json.Marshal(map[string]any{
		"certificate":    map[string]any{"common_name": "www.held.example.com", "signature_hash": "sha256", "csr": claimCSR(t)},
		"validity_years": 1, "skip_approval": true, "payment_method": "balance", "dcv_method": "dns-txt-token",
	})
	var in CreateInput
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	res, err := s.CreateOrder(ctx, actor, "ssl_dv_geotrust", &in)
	if err != nil {
		t.Fatal(err)
	}
	v.SandboxRules = nil
	o, err := st.Order(ctx, acctID, res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	product, _ := catalog.Lookup(o.ProductNameID)
	return s, clock, actor, o, product
}

func signFor(t *testing.T, s *Service, actor account.Actor, o *store.Order, product catalog.Product) *issuedCert {
	t.Helper()
	pub, err := storedKey(o.CSR)
	if err != nil {
		t.Fatal(err)
	}
	ic, err := s.sign(context.Background(), actor, product, o, nil, pub, o.DNSNames, o.CertificateID, false)
	if err != nil {
		t.Fatal(err)
	}
	return ic
}

// A signer that stalled past its claim's lease is overtaken: the second
// signer's certificate is recorded, the first one's is not, even if the
// first reaches its recording transaction first.
func TestOvertakenSignerRecordsNothing(t *testing.T) {
	ctx := context.Background()
	s, clock, actor, o, product := pendingOrder(t)
	first := signFor(t, s, actor, o, product)
	clock.add(signingLease + time.Second) // the first signer stalls
	second := signFor(t, s, actor, o, product)
	if again, err := s.recordPending(ctx, actor, product, o, first); err != nil || again {
		t.Fatalf("recording the overtaken certificate: again=%v err=%v", again, err)
	}
	if cur, _ := s.Store.Order(ctx, o.AccountID, o.ID); cur.Status != store.OrderPending {
		t.Fatalf("the overtaken signer's certificate was recorded (order %s)", cur.Status)
	}
	if _, err := s.recordPending(ctx, actor, product, o, second); err != nil {
		t.Fatal(err)
	}
	cert, err := s.Store.Certificate(ctx, o.AccountID, o.CertificateID)
	if err != nil || cert.SerialNumber != second.serial {
		t.Fatalf("recorded certificate %v (%v), want the second signer's %s", cert.SerialNumber, err, second.serial)
	}
}

// A CSR replaced while the old one was being signed: the certificate for
// the old key is not recorded, and IssuePending signs the new one.
func TestReplacedCSRIsSignedAnew(t *testing.T) {
	ctx := context.Background()
	s, _, actor, o, product := pendingOrder(t)
	stale := signFor(t, s, actor, o, product)
	newCSR := claimCSR(t)
	if err := s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Order(ctx, o.AccountID, o.ID)
		if err != nil {
			return err
		}
		cur.CSR = newCSR
		return tx.UpdateOrder(ctx, cur)
	}); err != nil {
		t.Fatal(err)
	}
	again, err := s.recordPending(ctx, actor, product, o, stale)
	if err != nil || !again {
		t.Fatalf("recording the certificate of the replaced CSR: again=%v err=%v", again, err)
	}
	if err := s.IssuePending(ctx, actor, o.ID); err != nil {
		t.Fatal(err)
	}
	cert, err := s.Store.Certificate(ctx, o.AccountID, o.CertificateID)
	if err != nil || cert.Status != store.CertIssued {
		t.Fatalf("certificate %+v, %v: want issued", cert, err)
	}
	leaf, err := x509.ParseCertificate(cert.DER)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := storedKey(newCSR)
	if !leaf.PublicKey.(*ecdsa.PublicKey).Equal(want) {
		t.Fatal("the certificate carries the replaced key")
	}
}

// TestPendingOrderSignedOnce: an approved order that becomes ready is
// issued by whoever gets there first (the approver, the validation worker,
// another replica). Eight callers at once issue it once, and the key signs
// once: no second certificate is signed and left behind as an abandoned
// serial (the recording transaction alone would discard the second one
// only after it was signed).
func TestPendingOrderSignedOnce(t *testing.T) {
	ctx := context.Background()
	s, _, actor, o, _ := pendingOrder(t)
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
	cur, err := s.Store.Order(ctx, o.AccountID, o.ID)
	if err != nil || cur.Status != store.OrderIssued {
		t.Fatalf("order is %v (%v), want issued", cur, err)
	}
	left, err := s.Store.AbandonedIssuances(ctx, s.CA.DefaultIssuer().ID, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d more certificates were signed for the order and discarded: %+v", len(left), left)
	}
}
