package apitest

// Several certorder processes on one PostgreSQL database act as one CA
// (issue 7). Each replica has its own data directory holding a copy of the
// first one's ca/ directory.

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/app"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/testenv"
)

// startReplicas starts two servers of opts on its database, the second
// with a data directory of its own holding a copy of the first's ca/.
func startReplicas(t *testing.T, opts testenv.Options) (first, second *testenv.Server) {
	t.Helper()
	first = testenv.Start(t, opts)
	opts.DataDir = testenv.DataDir(t)
	if err := os.CopyFS(filepath.Join(opts.DataDir, "ca"), os.DirFS(filepath.Join(first.DataDir, "ca"))); err != nil {
		t.Fatal(err)
	}
	return first, testenv.Start(t, opts)
}

func TestReplicasOnPostgres(t *testing.T) {
	t.Parallel()
	db := testenv.PostgresDatabase(t) // skips, saying why, without a server
	e := &dcvEnv{dns: dcvtest.StartDNS(t)}
	first, second := startReplicas(t, testenv.Options{Database: db, DCVPoll: 100 * time.Millisecond,
		DCV: dcv.Config{Resolver: e.dns.Addr(), Timeout: time.Second, CAAIdentities: []string{caaIdentity}}})
	e.srv = first
	e.csr = testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example")
	on := func(srv *testenv.Server) *dcvEnv { return &dcvEnv{srv: srv, dns: e.dns, csr: e.csr} }

	t.Run("placed on one, approved on the other", func(t *testing.T) {
		status, hdr, body := dvcsPost(t, first, "ssl_dv_geotrust", map[string]any{
			"certificate":    map[string]any{"common_name": "replica-approve.com", "csr": e.csr},
			"order_validity": map[string]any{"years": 1}, "dcv_method": "dns-txt-token"})
		o := requireCreated(t, status, hdr, body)
		o.requireKeys(t, "id", "requests", "dcv_random_value")
		info, _ := fam2GetOrder(t, second, o.ID)
		if info.Status != "needs_approval" {
			t.Fatalf("the other replica sees order %d as %q, want needs_approval", o.ID, info.Status)
		}
		fam2PutRequest(t, second, o.Requests[0].ID, "approved")
		var rv struct {
			DCVRandomValue string `json:"dcv_random_value"`
		}
		if err := json.Unmarshal(body, &rv); err != nil || rv.DCVRandomValue == "" {
			t.Fatalf("201 without dcv_random_value: %s", clip(body))
		}
		e.dns.SetTXT("replica-approve.com", rv.DCVRandomValue)
		fam2WaitStatus(t, first, o.ID, "issued")
		domRequireLeaf(t, fam2IssuedChain(t, second, o.ID), "replica-approve.com")
	})

	t.Run("background validation issues each order once, serials unique", func(t *testing.T) {
		var ids []int64
		token := ""
		for i := range 10 {
			srv := first
			if i%2 == 1 {
				srv = second
			}
			o := on(srv).order(t, "ssl_dv_geotrust", "dns-cname-token", []string{fmt.Sprintf("h%d.replica-dcv.com", i)}, nil)
			ids = append(ids, o.ID)
			if token == "" {
				token = o.DCVRandomValue
			}
		}
		e.dns.SetCNAME("_"+token+".replica-dcv.com", dcv.DefaultCNAMETarget)
		serials := map[string]int64{}
		for _, id := range ids {
			fam2WaitStatus(t, second, id, "issued")
			leaf := fam2IssuedChain(t, first, id)[0]
			sn := leaf.SerialNumber.Text(16)
			if other, dup := serials[sn]; dup {
				t.Errorf("orders %d and %d share serial %s", other, id, sn)
			}
			serials[sn] = id
		}
		requireIssuedOnce(t, first, ids)
	})

	t.Run("a revocation on one replica reaches the other's OCSP and CRL", func(t *testing.T) {
		o := on(first).order(t, "ssl_dv_geotrust", "dns-cname-token", []string{"revoked.replica-dcv.com"}, nil)
		chain := fam2IssuedChain(t, second, o.ID)
		leaf, inter := chain[0], chain[1]
		status := func() int {
			return ocspClean(t, ocspVia(t, http.MethodPost, second.URL+"/ocsp", leaf, inter), leaf, inter).Status
		}
		if st := status(); st != ocsp.Good { // now cached as good on the second replica
			t.Fatalf("OCSP before revocation: %d, want good", st)
		}
		code, _, body := first.Do("PUT", rvOrderPath(o.ID), rvSkip("key_compromise"))
		rvNoContent(t, code, body)
		deadline := time.Now().Add(15 * time.Second)
		for status() != ocsp.Revoked {
			if time.Now().After(deadline) {
				t.Fatal("the second replica's OCSP never said revoked")
			}
			time.Sleep(100 * time.Millisecond)
		}
		u, err := url.Parse(leaf.CRLDistributionPoints[0])
		if err != nil {
			t.Fatal(err)
		}
		for listed := false; !listed; {
			rl := fetchCRL(t, second.URL+u.Path, inter)
			for _, e := range rl.RevokedCertificateEntries {
				listed = listed || e.SerialNumber.Cmp(leaf.SerialNumber) == 0
			}
			if !listed && time.Now().After(deadline) {
				t.Fatal("the second replica's CRL never listed the revoked certificate")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("a replica with a CA of its own refuses to start", func(t *testing.T) {
		_, err := app.Open(context.Background(), app.Config{DataDir: testenv.DataDir(t), Database: db, PublicURL: "http://127.0.0.1:1",
			DCV: dcv.Config{Resolver: e.dns.Addr()}})
		if err == nil || !strings.Contains(err.Error(), "not the CA of the database") {
			t.Fatalf("app.Open with another CA: %v, want a refusal naming the CA", err)
		}
	})
	if status, _, _ := second.Do("GET", "/healthz", ""); status != http.StatusOK {
		t.Errorf("second replica unhealthy: %d", status)
	}
}

// TestReplicasShareCRLs: of two replicas on one database, the holder of
// the CRL lease alone signs CRLs and both serve the same bytes; a
// revocation made on the other replica reaches both CRLs; when the holder
// stops, the other takes the lease over and publishes greater numbers.
func TestReplicasShareCRLs(t *testing.T) {
	t.Parallel()
	db := testenv.PostgresDatabase(t) // skips, saying why, without a server
	first, second := startReplicas(t, testenv.Options{Database: db, Sandbox: true})

	var holder, other *testenv.Server
	for deadline := time.Now().Add(10 * time.Second); holder == nil; time.Sleep(20 * time.Millisecond) {
		a, b := first.App.Revocation.HoldsLease(), second.App.Revocation.HoldsLease()
		switch {
		case a && b:
			t.Fatal("both replicas hold the CRL lease")
		case a:
			holder, other = first, second
		case b:
			holder, other = second, first
		case time.Now().After(deadline):
			t.Fatal("no replica took the CRL lease")
		}
	}
	signed := func(srv *testenv.Server) int64 { return srv.App.Revocation.CRLs.Signed() }
	raw := func(srv *testenv.Server, path string) []byte {
		t.Helper()
		code, hdr, der := srv.DoKey("", "GET", path, "")
		if code != http.StatusOK || hdr.Get("Content-Type") != "application/pkix-crl" {
			t.Fatalf("GET %s: %d %q", path, code, hdr.Get("Content-Type"))
		}
		return der
	}
	// crlIssuer is the certificate that signs the CRL at path.
	crlIssuer := func(path string) *x509.Certificate {
		t.Helper()
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/crl/"), ".crl")
		if id == "root" {
			return holder.App.CA.Root()
		}
		iss, ok := holder.App.CA.Issuer(id)
		if !ok {
			t.Fatalf("no issuer %q for CRL %s", id, path)
		}
		return iss.Cert
	}
	// sameCRL polls both replicas until they serve byte-identical CRLs at
	// path for which ok holds, and returns that CRL.
	sameCRL := func(path string, what string, ok func(*x509.RevocationList) bool) *x509.RevocationList {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			a, b := raw(holder, path), raw(other, path)
			rl := testenv.RequireCRLClean(t, a, crlIssuer(path))
			if bytes.Equal(a, b) && ok(rl) {
				return rl
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the replicas' CRLs %s differ or are not so (holder's number %s)", what, path, rl.Number)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	anyCRL := func(*x509.RevocationList) bool { return true }

	paths := []string{"/crl/root.crl"}
	for _, iss := range holder.App.CA.Issuers() {
		paths = append(paths, "/crl/"+iss.ID+".crl")
	}
	for _, p := range paths {
		sameCRL(p, "at start", anyCRL)
	}
	if signed(other) != 0 || signed(holder) < int64(len(paths)) {
		t.Fatalf("the holder signed %d CRLs, the other replica %d; want every one (%d) by the holder only",
			signed(holder), signed(other), len(paths))
	}

	// A revocation on the replica without the lease.
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, other, "ssl_securesite", baseBody(csr))
	chain := placed.requireChain(t, "example.com")
	leaf, inter := chain[0], chain[1]
	u, err := url.Parse(leaf.CRLDistributionPoints[0])
	if err != nil {
		t.Fatal(err)
	}
	status, _, body := other.Do("PUT", rvCertPath(itoa(placed.CertificateID)), rvSkip("key_compromise"))
	rvNoContent(t, status, body)
	lists := func(rl *x509.RevocationList) bool {
		for _, e := range rl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
				return true
			}
		}
		return false
	}
	last := sameCRL(u.Path, "after a revocation on the replica without the lease", lists)
	if err := last.CheckSignatureFrom(inter); err != nil {
		t.Fatalf("CRL signature: %v", err)
	}
	if signed(other) != 0 {
		t.Fatalf("the replica without the lease signed %d CRLs", signed(other))
	}

	// The holder stops: the other takes over and signs greater numbers.
	holder.Stop()
	for deadline := time.Now().Add(20 * time.Second); !other.App.Revocation.HoldsLease(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the remaining replica never took the CRL lease")
		}
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		rl := testenv.RequireCRLClean(t, raw(other, u.Path), inter)
		if rl.Number.Cmp(last.Number) > 0 && lists(rl) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the new holder serves CRL number %s, want above %s and listing the revocation", rl.Number, last.Number)
		}
	}
	if signed(other) == 0 {
		t.Fatal("the new holder signed no CRL")
	}
}
