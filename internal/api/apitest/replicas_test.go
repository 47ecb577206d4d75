package apitest

// Several certorder processes on one PostgreSQL database act as one CA
// (issue 7). Each replica has its own data directory holding a copy of the
// first one's ca/ directory.

import (
	"context"
	"crypto/elliptic"
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

func TestReplicasOnPostgres(t *testing.T) {
	t.Parallel()
	db := testenv.PostgresDatabase(t) // skips, saying why, without a server
	e := &dcvEnv{dns: dcvtest.StartDNS(t)}
	opts := testenv.Options{Database: db, DCVPoll: 100 * time.Millisecond,
		DCV: dcv.Config{Resolver: e.dns.Addr(), Timeout: time.Second, CAAIdentities: []string{caaIdentity}}}
	first := testenv.Start(t, opts)
	opts.DataDir = testenv.DataDir(t)
	if err := os.CopyFS(filepath.Join(opts.DataDir, "ca"), os.DirFS(filepath.Join(first.DataDir, "ca"))); err != nil {
		t.Fatal(err)
	}
	second := testenv.Start(t, opts)
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
			resp, err := ocsp.ParseResponse(ocspVia(t, http.MethodPost, second.URL+"/ocsp", leaf, inter), inter)
			if err != nil {
				t.Fatal(err)
			}
			return resp.Status
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
