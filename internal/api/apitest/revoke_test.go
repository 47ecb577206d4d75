package apitest

// Revocation (issue 5, spec §4.4): PUT /certificate/{id}/revoke and
// PUT /order/certificate/{id}/revoke, the revoke request and its approval
// through PUT /request/{id}/status. Helpers start with rv.

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/api"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// rvHook records the issuers OnRevoke is called with, keeping any hook
// the application set (the CRL side).
type rvHook struct {
	mu      sync.Mutex
	issuers []string
}

func rvWatch(srv *testenv.Server) *rvHook {
	h := &rvHook{}
	prev := srv.App.Orders.OnRevoke
	srv.App.Orders.OnRevoke = func(ids []string) {
		h.mu.Lock()
		h.issuers = append(h.issuers, ids...)
		h.mu.Unlock()
		if prev != nil {
			prev(ids)
		}
	}
	return h
}

func (h *rvHook) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.issuers
	h.issuers = nil
	return out
}

func rvCertPath(id string) string { return "/services/v2/certificate/" + id + "/revoke" }
func rvOrderPath(id int64) string { return orderPath + itoa(id) + "/revoke" }
func rvSkip(reason string) string {
	return `{"revocation_reason":"` + reason + `","skip_approval":true,"comments":"gone"}`
}
func rvAsk(comments string) string {
	return `{"revocation_reason":"superseded","comments":"` + comments + `"}`
}

// rvNoContent requires 204 with an empty body.
func rvNoContent(t *testing.T, status int, body []byte) {
	t.Helper()
	if status != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("status = %d, want 204 with an empty body; body: %s", status, clip(body))
	}
}

// rvRequest is the 201 of a revoke call.
type rvRequest struct {
	ID        int64  `json:"id"`
	Date      string `json:"date"`
	Type      string `json:"type"`
	Status    string `json:"status"`
	Requester *struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"requester"`
	Comments string `json:"comments"`
}

// rvCreated checks the 201 shape of spec §4.4 exactly.
func rvCreated(t *testing.T, status int, hdr http.Header, body []byte, wantStatus, wantComments string) rvRequest {
	t.Helper()
	if status != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body: %s", status, clip(body))
	}
	requireJSON(t, hdr)
	var keys map[string]json.RawMessage
	var r rvRequest
	if err := json.Unmarshal(body, &keys); err != nil || json.Unmarshal(body, &r) != nil {
		t.Fatalf("201 body: %v %s", err, clip(body))
	}
	var got []string
	for k := range keys {
		got = append(got, k)
	}
	sort.Strings(got)
	want := []string{"date", "id", "requester", "status", "type"}
	if wantComments != "" {
		want = []string{"comments", "date", "id", "requester", "status", "type"}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("201 keys = %q, want %q: %s", got, want, clip(body))
	}
	if r.ID <= 0 || r.Type != "revoke" || r.Status != wantStatus || r.Comments != wantComments {
		t.Fatalf("revoke request = %+v, want type revoke, status %s, comments %q", r, wantStatus, wantComments)
	}
	if _, err := time.Parse(time.RFC3339, r.Date); err != nil {
		t.Errorf("date %q is not RFC 3339", r.Date)
	}
	if r.Requester == nil || r.Requester.ID <= 0 || r.Requester.Email == "" {
		t.Errorf("requester missing: %s", clip(body))
	}
	return r
}

// rvRevocation reads the stored revocation of a certificate of the first
// account, if any.
func rvRevocation(t *testing.T, srv *testenv.Server, certID int64) *store.Revocation {
	t.Helper()
	r, err := srv.App.Store.Revocation(t.Context(), 1, certID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("read revocation of %d: %v", certID, err)
	}
	return r
}

func rvOrderStatus(t *testing.T, srv *testenv.Server, id int64) string {
	t.Helper()
	o, _ := getOrder(t, srv, id)
	return o.Status
}

// rvCertStatus is a certificate's status as the duplicate/reissue lists
// show it, or "" when it is in neither.
func rvCertStatus(t *testing.T, srv *testenv.Server, orderID, certID int64) string {
	t.Helper()
	for _, kind := range []string{"reissue", "duplicate"} {
		for _, c := range lcList(t, srv, orderID, kind) {
			if c.ID == certID {
				return c.Status
			}
		}
	}
	return ""
}

// TestRevokeFamilies: a certificate of each product family revoked with
// skip_approval answers 204, revokes at once (revocation recorded with the
// reason and the certificate's serial and issuer, the hook told; the order
// stays issued, spec §4.4) and creates no request; downloads still work; a
// second revocation is refused; the order call then revokes the order
// alone, and only once.
func TestRevokeFamilies(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	hook := rvWatch(srv)
	reasons := []struct {
		name string
		code int
	}{{"key_compromise", 1}, {"superseded", 4}, {"unspecified", 0}, {"cessation_of_operation", 5}, {"affiliation_changed", 3}}
	for i, fam := range lcFamilies {
		t.Run(fam.product, func(t *testing.T) {
			_, csr := lcKey(t)
			m, cn := fam.body(t, srv, csr)
			placed := lcIssuedAnswer(t, srv, fam.product, m)
			chain := placed.requireChain(t, cn)
			before := counts(t, srv)
			reason := reasons[i%len(reasons)]

			status, _, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), rvSkip(reason.name))
			rvNoContent(t, status, body)
			requireTally(t, srv, before, tally{})
			fam2Must(t, rvOrderStatus(t, srv, placed.ID) == "issued", "order %d is %q after revoking its only certificate, want issued", placed.ID, rvOrderStatus(t, srv, placed.ID))
			rv := rvRevocation(t, srv, placed.CertificateID)
			if rv == nil {
				t.Fatalf("no revocation recorded for certificate %d", placed.CertificateID)
			}
			wantSerial := strings.ToUpper(chain[0].SerialNumber.Text(16))
			if rv.Reason != reason.code || strings.TrimLeft(rv.SerialNumber, "0") != wantSerial || rv.OrderID != placed.ID ||
				rv.RequestID != 0 || rv.Comments != "gone" || rv.IssuerID == "" || time.Since(rv.RevokedAt) > time.Minute {
				t.Errorf("revocation = %+v, want reason %d, serial %s", rv, reason.code, wantSerial)
			}
			if got := hook.take(); !slices.Equal(got, []string{rv.IssuerID}) {
				t.Errorf("OnRevoke issuers = %q, want [%s]", got, rv.IssuerID)
			}
			// Relying parties see it: the CRL and the OCSP responder the
			// certificate names, read with Go's parsers and with openssl.
			leaf, inter, root := chain[0], chain[1], chain[2]
			if len(leaf.CRLDistributionPoints) != 1 || len(leaf.OCSPServer) != 1 {
				t.Fatalf("certificate names CRLs %q and OCSP %q, want one of each", leaf.CRLDistributionPoints, leaf.OCSPServer)
			}
			var onCRL bool
			rl := rvFreshCRL(t, leaf.CRLDistributionPoints[0], inter, leaf.SerialNumber)
			for _, e := range rl.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
					onCRL = e.ReasonCode == reason.code
				}
			}
			fam2Must(t, onCRL, "CRL %s lacks serial %s with reason %d", leaf.CRLDistributionPoints[0], wantSerial, reason.code)
			for _, method := range []string{"GET", "POST"} {
				resp := ocspClean(t, ocspVia(t, method, leaf.OCSPServer[0], leaf, inter), leaf, inter)
				if resp.Status != ocsp.Revoked || resp.RevocationReason != reason.code {
					t.Errorf("OCSP %s: %+v; want revoked with reason %d", method, resp, reason.code)
				}
			}
			if out := opensslOCSP(t, leaf.OCSPServer[0], leaf, inter, root); out != "" && !strings.Contains(out, ": revoked") {
				t.Errorf("openssl ocsp does not report the certificate revoked:\n%s", out)
			}
			_, _, der := httpGet(t, leaf.CRLDistributionPoints[0])
			opensslCRL(t, der, inter, root)

			// Downloads of a revoked certificate still work.
			dl := dvcsDownload(t, srv, placed.CertificateID)
			fam2Must(t, lcThumb(dl[0]) == lcThumb(chain[0]), "download by id is another certificate")
			byOrder := fam2IssuedChain(t, srv, placed.ID)
			fam2Must(t, lcThumb(byOrder[0]) == lcThumb(chain[0]), "download by order is another certificate")

			before = counts(t, srv)
			status, hdr, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), rvSkip("unspecified"))
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_certificate_status")
			status, _, body = srv.Do("PUT", rvOrderPath(placed.ID), rvSkip("unspecified"))
			rvNoContent(t, status, body)
			fam2Must(t, rvOrderStatus(t, srv, placed.ID) == "revoked", "the order call left the order %q", rvOrderStatus(t, srv, placed.ID))
			status, hdr, body = srv.Do("PUT", rvOrderPath(placed.ID), rvSkip("unspecified"))
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")
			requireTally(t, srv, before, tally{})
			if again := rvRevocation(t, srv, placed.CertificateID); again == nil || again.Reason != reason.code {
				t.Errorf("the refused second revocation changed the first: %+v", again)
			}
			if got := hook.take(); len(got) != 0 {
				t.Errorf("OnRevoke called for a refused revocation: %q", got)
			}
		})
	}
}

// rvFreshCRL fetches a CRL until it lists serial: the CRL is rebuilt in
// the background after a revocation, promptly but not within the request.
func rvFreshCRL(t *testing.T, u string, issuer *x509.Certificate, serial *big.Int) *x509.RevocationList {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rl := fetchCRL(t, u, issuer)
		for _, e := range rl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(serial) == 0 {
				return rl
			}
		}
		if time.Now().After(deadline) {
			return rl
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRevokeApproval: without skip_approval a revoke call answers the 201
// revoke request ("submitted" to an administrator's key, pending in GET
// /request); nothing is revoked until it is approved through PUT
// /request/{id}/status, and the order stays issued; a rejected request
// revokes nothing. The certificate may be named by its serial number in
// hex.
func TestRevokeApproval(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	hook := rvWatch(srv)
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	placed.requireChain(t, "example.com")

	before := counts(t, srv)
	status, hdr, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), rvAsk("please revoke"))
	req := rvCreated(t, status, hdr, body, "submitted", "please revoke")
	requireTally(t, srv, before, tally{requests: 1})
	fam2Must(t, rvOrderStatus(t, srv, placed.ID) == "issued", "order moved before approval")
	fam2Must(t, rvRevocation(t, srv, placed.CertificateID) == nil, "revoked before approval")
	got := lcGetRequest(t, srv, req.ID)
	fam2Must(t, got.Type == "revoke" && got.Status == "pending" && got.Order.ID == placed.ID, "request view = %+v", got)
	status, _, body = srv.Do("GET", "/services/v2/request?filters[type]=revoke", "")
	fam2Must(t, status == http.StatusOK && strings.Contains(string(body), `"type":"revoke"`), "revoke request not listed: %s", clip(body))

	fam2PutRequest(t, srv, req.ID, "approved")
	fam2Must(t, rvOrderStatus(t, srv, placed.ID) == "issued", "order %d is %q after its certificate's revocation, want issued", placed.ID, rvOrderStatus(t, srv, placed.ID))
	rv := rvRevocation(t, srv, placed.CertificateID)
	if rv == nil || rv.RequestID != req.ID || rv.Reason != 4 || rv.Comments != "please revoke" {
		t.Fatalf("revocation after approval = %+v", rv)
	}
	if got := hook.take(); !slices.Equal(got, []string{rv.IssuerID}) {
		t.Errorf("OnRevoke issuers = %q, want [%s]", got, rv.IssuerID)
	}
	got = lcGetRequest(t, srv, req.ID)
	fam2Must(t, got.Type == "revoke" && got.Status == "approved", "request after approval = %+v", got)
	// Approving again is the usual idempotent no-op.
	fam2PutRequest(t, srv, req.ID, "approved")
	fam2Must(t, len(hook.take()) == 0, "a repeated approval revoked again")
	fam2IssuedChain(t, srv, placed.ID)

	// Rejected: nothing is revoked. The certificate is named by serial
	// (lower case, with colons).
	_, csr2 := lcKey(t)
	second := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr2))
	leaf := second.requireChain(t, "example.com")[0]
	hexSerial := strings.ToLower(fmt.Sprintf("%X", leaf.SerialNumber.Bytes()))
	var colon []string
	for i := 0; i < len(hexSerial); i += 2 {
		colon = append(colon, hexSerial[i:min(i+2, len(hexSerial))])
	}
	status, hdr, body = srv.Do("PUT", rvCertPath(strings.Join(colon, ":")), `{"comment":"by serial"}`)
	rej := rvCreated(t, status, hdr, body, "submitted", "by serial")
	code, _, b := srv.Do("PUT", "/services/v2/request/"+itoa(rej.ID)+"/status", `{"status":"rejected","processor_comment":"no"}`)
	rvNoContent(t, code, b)
	fam2Must(t, rvOrderStatus(t, srv, second.ID) == "issued", "order %d moved after a rejected revoke", second.ID)
	fam2Must(t, rvRevocation(t, srv, second.CertificateID) == nil, "rejected revoke request revoked")
	fam2Must(t, len(hook.take()) == 0, "OnRevoke called for a rejection")
	got = lcGetRequest(t, srv, rej.ID)
	fam2Must(t, got.Status == "rejected" && got.ProcessorComment == "no", "rejected request = %+v", got)

	// The same certificate by its serial in upper case, skipped: revoked.
	status, _, body = srv.Do("PUT", rvCertPath(fmt.Sprintf("%X", leaf.SerialNumber.Bytes())), rvSkip("key_compromise"))
	rvNoContent(t, status, body)
	fam2Must(t, rvRevocation(t, srv, second.CertificateID) != nil, "revoke by serial recorded nothing")
}

// TestRevokeOrder: the order call revokes every certificate of the order:
// the primary, the one a reissue replaced, and the duplicates; through an
// approved request as well as with skip_approval.
func TestRevokeOrder(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	hook := rvWatch(srv)

	// Primary + duplicate, through a request.
	_, csr := lcKey(t)
	a := lcIssuedAnswer(t, srv, "ssl_dv_geotrust", dvBase(csr))
	a.requireChain(t, "example.com")
	_, dupCSR := lcKey(t)
	dup := lcOpOK(t, srv, a.ID, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}, "skip_approval": true})
	dup.requireChain(t, "example.com")
	status, hdr, body := srv.Do("PUT", rvOrderPath(a.ID), `{"comments":"whole order"}`)
	req := rvCreated(t, status, hdr, body, "submitted", "whole order")
	fam2Must(t, rvRevocation(t, srv, a.CertificateID) == nil && rvRevocation(t, srv, dup.CertificateID) == nil, "revoked before approval")
	fam2PutRequest(t, srv, req.ID, "approved")
	for _, id := range []int64{a.CertificateID, dup.CertificateID} {
		rv := rvRevocation(t, srv, id)
		if rv == nil || rv.RequestID != req.ID || rv.Reason != 0 {
			t.Errorf("certificate %d: revocation %+v", id, rv)
		}
	}
	fam2Must(t, rvOrderStatus(t, srv, a.ID) == "revoked", "order not revoked")
	fam2Must(t, rvCertStatus(t, srv, a.ID, dup.CertificateID) == "revoked", "duplicate list does not show it revoked")
	if got := hook.take(); len(got) != 1 {
		t.Errorf("OnRevoke issuers = %q, want the one TLS issuer once", got)
	}

	// Primary replaced by a reissue, plus a duplicate, skipped; the order
	// is named by its primary certificate's thumbprint.
	_, csr = lcKey(t)
	b := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	b.requireChain(t, "example.com")
	_, reCSR := lcKey(t)
	re := lcOpOK(t, srv, b.ID, "reissue", map[string]any{"certificate": map[string]any{"csr": reCSR}, "skip_approval": true})
	reLeaf := re.requireChain(t, "example.com")[0]
	_, dupCSR = lcKey(t)
	dup2 := lcOpOK(t, srv, b.ID, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}, "skip_approval": true})
	dup2.requireChain(t, "example.com")
	before := counts(t, srv)
	status, _, body = srv.Do("PUT", orderPath+lcThumb(reLeaf)+"/revoke", rvSkip("cessation_of_operation"))
	rvNoContent(t, status, body)
	requireTally(t, srv, before, tally{})
	for _, id := range []int64{b.CertificateID, re.CertificateID, dup2.CertificateID} {
		if rv := rvRevocation(t, srv, id); rv == nil || rv.Reason != 5 || rv.OrderID != b.ID {
			t.Errorf("certificate %d: revocation %+v", id, rv)
		}
	}
	fam2Must(t, rvOrderStatus(t, srv, b.ID) == "revoked", "order not revoked")
	status, hdr, body = srv.Do("PUT", rvOrderPath(b.ID), rvSkip("unspecified"))
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")

	// Revoking a duplicate alone leaves the order issued.
	_, csr = lcKey(t)
	c := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	c.requireChain(t, "example.com")
	_, dupCSR = lcKey(t)
	dup3 := lcOpOK(t, srv, c.ID, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}, "skip_approval": true})
	dup3.requireChain(t, "example.com")
	status, _, body = srv.Do("PUT", rvCertPath(itoa(dup3.CertificateID)), rvSkip("superseded"))
	rvNoContent(t, status, body)
	fam2Must(t, rvOrderStatus(t, srv, c.ID) == "issued", "revoking a duplicate moved the order")
	fam2Must(t, rvRevocation(t, srv, c.CertificateID) == nil, "revoking a duplicate revoked the primary")
	fam2Must(t, rvCertStatus(t, srv, c.ID, dup3.CertificateID) == "revoked", "duplicate not shown revoked")

	// A duplicate request still waiting when the order is revoked is
	// rejected with it: a revoked order takes no new certificate.
	_, dupCSR = lcKey(t)
	waiting := lcOpOK(t, srv, c.ID, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}})
	if len(waiting.Requests) != 1 || waiting.Requests[0].Status != "pending" {
		t.Fatalf("duplicate without skip_approval: requests %+v, want one pending", waiting.Requests)
	}
	status, _, body = srv.Do("PUT", rvOrderPath(c.ID), rvSkip("cessation_of_operation"))
	rvNoContent(t, status, body)
	fam2Must(t, rvOrderStatus(t, srv, c.ID) == "revoked", "order not revoked")
	got := lcGetRequest(t, srv, waiting.Requests[0].ID)
	fam2Must(t, got.Status == "rejected" && got.ProcessorComment != "", "waiting duplicate request after the revocation = %+v", got)
}

// TestRevokeRefusals: every refusal has its exact status and code and
// writes nothing: no request, no revocation, no status change.
func TestRevokeRefusals(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	hook := rvWatch(srv)
	_, csr := lcKey(t)
	issued := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	issued.requireChain(t, "example.com")

	// An order with a pending reissue.
	_, csr = lcKey(t)
	rp := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	rp.requireChain(t, "example.com")
	_, reCSR := lcKey(t)
	lcOpOK(t, srv, rp.ID, "reissue", map[string]any{"certificate": map[string]any{"csr": reCSR}}).requireKeys(t, "id", "requests")
	fam2Must(t, rvOrderStatus(t, srv, rp.ID) == "reissue_pending", "order is not reissue_pending")

	// An order waiting for approval (no certificate issued), and a
	// duplicate waiting for approval (a pending certificate).
	_, csr = lcKey(t)
	waiting := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
	_, csr = lcKey(t)
	withDup := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	withDup.requireChain(t, "example.com")
	_, dupCSR := lcKey(t)
	lcOpOK(t, srv, withDup.ID, "duplicate", map[string]any{"certificate": map[string]any{"csr": dupCSR}})
	dups := lcList(t, srv, withDup.ID, "duplicate")
	if len(dups) != 1 || dups[0].Status != "pending" {
		t.Fatalf("pending duplicate list = %+v", dups)
	}

	// Another account's administrator.
	other := "OTHERREVOKEKEY" + strings.Repeat("8", 40)
	ctx := t.Context()
	now := time.Now().UTC()
	err := srv.App.Store.InTx(ctx, func(tx store.Tx) error {
		a := &store.Account{Name: "other", ApprovalMode: "one_step", AllowSkipApproval: true, CreatedAt: now}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		c := &store.Container{AccountID: a.ID, Name: "other", IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: a.ID, ContainerID: c.ID, Username: "other.revoker", FirstName: "O", LastName: "R", Email: "o@example.com",
			AccessRole: store.RoleAdministrator, Status: "active", CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, &store.APIKey{AccountID: a.ID, UserID: u.ID, Hash: api.HashKey(other), CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	_, viewKey := usrKey(t, srv, usrUser(t, srv, 1, 1), 102)

	cert, ord := itoa(issued.CertificateID), issued.ID
	cases := []struct {
		name, key, path, body string
		status                int
		codes                 []string
	}{
		{"bad reason", "", rvCertPath(cert), `{"revocation_reason":"stolen","skip_approval":true}`, 400, []string{"invalid_value:revocation_reason"}},
		{"bad reason, order", "", rvOrderPath(ord), `{"revocation_reason":"privilege_withdrawn"}`, 400, []string{"invalid_value:revocation_reason"}},
		{"reason of the wrong type", "", rvCertPath(cert), `{"revocation_reason":4}`, 400, []string{"invalid_value:revocation_reason"}},
		{"skip_approval not a boolean", "", rvCertPath(cert), `{"skip_approval":"perhaps"}`, 400, []string{"invalid_value:skip_approval"}},
		{"two errors at once", "", rvCertPath(cert), `{"revocation_reason":"x","skip_approval":"perhaps"}`, 400,
			[]string{"invalid_value:revocation_reason", "invalid_value:skip_approval"}},
		{"body not JSON", "", rvCertPath(cert), `{revoke`, 400, []string{"bad_request_format"}},
		{"pending reissue, certificate", "", rvCertPath(itoa(rp.CertificateID)), rvSkip("superseded"), 400, []string{"invalid_order_status"}},
		{"pending reissue, order", "", rvOrderPath(rp.ID), rvAsk("x"), 400, []string{"invalid_order_status"}},
		{"order not issued", "", rvOrderPath(waiting.ID), rvSkip("unspecified"), 400, []string{"invalid_order_status"}},
		{"certificate not issued", "", rvCertPath(itoa(dups[0].ID)), rvSkip("unspecified"), 400, []string{"invalid_certificate_status"}},
		{"unknown certificate id", "", rvCertPath("999999"), rvSkip("unspecified"), 404, []string{"not_found|certificate"}},
		{"unknown serial", "", rvCertPath("0123456789ABCDEF0123456789ABCDEF"), rvSkip("unspecified"), 404, []string{"not_found|certificate"}},
		{"neither id nor serial", "", rvCertPath("not-a-serial"), rvSkip("unspecified"), 404, []string{"not_found|certificate"}},
		{"unknown order", "", rvOrderPath(999999), rvSkip("unspecified"), 404, []string{"not_found|order"}},
		{"other account, certificate", other, rvCertPath(cert), rvSkip("unspecified"), 404, []string{"not_found|certificate"}},
		{"other account, order", other, rvOrderPath(ord), rvSkip("unspecified"), 404, []string{"not_found|order"}},
		{"view-only key", viewKey, rvCertPath(cert), rvSkip("unspecified"), 403, []string{"access_denied|missing_permission"}},
		{"no key", "-", rvCertPath(cert), rvSkip("unspecified"), 403, []string{"access_denied|access_denied_invalid_key"}},
		{"wrong method", "", rvCertPath(cert), "", 404, []string{"not_found|route"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := counts(t, srv)
			key := srv.AdminKey
			switch c.key {
			case "-":
				key = ""
			case "":
			default:
				key = c.key
			}
			method := "PUT"
			if c.name == "wrong method" {
				method = "POST"
			}
			status, hdr, body := srv.DoKey(key, method, c.path, c.body)
			requireErrors(t, status, hdr, body, c.status, c.codes...)
			requireTally(t, srv, before, tally{})
		})
	}
	for _, id := range []int64{issued.CertificateID, rp.CertificateID, dups[0].ID} {
		fam2Must(t, rvRevocation(t, srv, id) == nil, "certificate %d was revoked by a refused call", id)
	}
	fam2Must(t, rvOrderStatus(t, srv, issued.ID) == "issued", "order moved")
	fam2Must(t, rvOrderStatus(t, srv, rp.ID) == "reissue_pending", "reissue_pending order moved")
	fam2Must(t, len(hook.take()) == 0, "OnRevoke called by a refusal")

	// A revoke request made before a reissue cannot be approved while the
	// reissue waits: 400 invalid_order_status, and the request stays pending.
	_, csr = lcKey(t)
	late := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	late.requireChain(t, "example.com")
	status, hdr, body := srv.Do("PUT", rvCertPath(itoa(late.CertificateID)), rvAsk("later"))
	lateReq := rvCreated(t, status, hdr, body, "submitted", "later")
	_, reCSR = lcKey(t)
	lcOpOK(t, srv, late.ID, "reissue", map[string]any{"certificate": map[string]any{"csr": reCSR}})
	status, hdr, body = srv.Do("PUT", "/services/v2/request/"+itoa(lateReq.ID)+"/status", `{"status":"approved"}`)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")
	fam2Must(t, lcGetRequest(t, srv, lateReq.ID).Status == "pending", "refused approval moved the request")
	fam2Must(t, rvRevocation(t, srv, late.CertificateID) == nil, "refused approval revoked")
}

// TestRevokeRoles: skip_approval needs an administrator. A manager's or a
// standard user's skip_approval is ignored and a revoke request is made
// (as for orders); a standard user cannot approve it, a manager can.
func TestRevokeRoles(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, mgrKey := usrKey(t, srv, usrUser(t, srv, 4, 1), 0)
	_, stdKey := usrKey(t, srv, usrUser(t, srv, 5, 1), 0)
	_, ordersKey := usrKey(t, srv, usrUser(t, srv, 1, 1), 100)

	for _, key := range []struct{ name, key string }{{"manager", mgrKey}, {"standard user", stdKey}} {
		t.Run(key.name, func(t *testing.T) {
			_, csr := lcKey(t)
			placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
			placed.requireChain(t, "example.com")
			status, hdr, body := srv.DoKey(key.key, "PUT", rvCertPath(itoa(placed.CertificateID)), rvSkip("key_compromise"))
			req := rvCreated(t, status, hdr, body, "pending", "gone")
			fam2Must(t, rvRevocation(t, srv, placed.CertificateID) == nil, "non-administrator skip_approval revoked at once")
			status, hdr, body = srv.DoKey(stdKey, "PUT", "/services/v2/request/"+itoa(req.ID)+"/status", `{"status":"approved"}`)
			requireErrors(t, status, hdr, body, http.StatusForbidden, "access_denied|missing_permission")
			fam2Must(t, rvRevocation(t, srv, placed.CertificateID) == nil, "a standard user's approval revoked")
			status, _, body = srv.DoKey(mgrKey, "PUT", "/services/v2/request/"+itoa(req.ID)+"/status", `{"status":"approved"}`)
			rvNoContent(t, status, body)
			if rv := rvRevocation(t, srv, placed.CertificateID); rv == nil || rv.Reason != 1 || rv.RequestID != req.ID {
				t.Errorf("revocation after the manager's approval = %+v", rv)
			}
		})
	}
	// An administrator's key restricted to orders (role 100) may skip.
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	placed.requireChain(t, "example.com")
	status, _, body := srv.DoKey(ordersKey, "PUT", rvOrderPath(placed.ID), rvSkip("superseded"))
	rvNoContent(t, status, body)
	fam2Must(t, rvOrderStatus(t, srv, placed.ID) == "revoked", "order not revoked")
}

// TestRevokeApprovalModes: on an auto-approve account an approver's revoke
// request is approved at once and the certificate revoked (the order stays
// issued); the 201 says "submitted" (sent straight to revocation), the
// request reads approved.
// Without skip rights (--allow-skip-approval=false) an administrator's
// skip_approval also becomes a request.
func TestRevokeApprovalModes(t *testing.T) {
	t.Parallel()
	t.Run("auto", func(t *testing.T) {
		t.Parallel()
		srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: "auto"})
		_, csr := lcKey(t)
		placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
		placed.requireChain(t, "example.com")
		status, hdr, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), `{"revocation_reason":"superseded"}`)
		req := rvCreated(t, status, hdr, body, "submitted", "")
		rv := rvRevocation(t, srv, placed.CertificateID)
		if rv == nil || rv.RequestID != req.ID || rv.Reason != 4 {
			t.Fatalf("revocation on an auto account = %+v", rv)
		}
		fam2Must(t, rvOrderStatus(t, srv, placed.ID) == "issued", "order moved by its certificate's revocation")
		fam2Must(t, lcGetRequest(t, srv, req.ID).Status == "approved", "auto request is not approved")
		// A client approving it anyway (Keyfactor's flow) gets the no-op 204.
		fam2PutRequest(t, srv, req.ID, "approved")
	})
	t.Run("two_step", func(t *testing.T) {
		t.Parallel()
		srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: "two_step"})
		_, mgrKey := usrKey(t, srv, usrUser(t, srv, 4, 1), 0)
		_, csr := lcKey(t)
		placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
		placed.requireChain(t, "example.com")
		status, hdr, body := srv.Do("PUT", rvOrderPath(placed.ID), `{"comments":"two people"}`)
		req := rvCreated(t, status, hdr, body, "submitted", "two people")
		fam2PutRequest(t, srv, req.ID, "pending")
		fam2Must(t, rvRevocation(t, srv, placed.CertificateID) == nil, "revoked after the first of two approvals")
		status, hdr, body = srv.Do("PUT", "/services/v2/request/"+itoa(req.ID)+"/status", `{"status":"approved"}`)
		requireErrors(t, status, hdr, body, http.StatusForbidden, "access_denied|missing_permission")
		fam2Must(t, rvRevocation(t, srv, placed.CertificateID) == nil, "the first approver's second approval revoked")
		status, _, body = srv.DoKey(mgrKey, "PUT", "/services/v2/request/"+itoa(req.ID)+"/status", `{"status":"approved"}`)
		rvNoContent(t, status, body)
		fam2Must(t, rvRevocation(t, srv, placed.CertificateID) != nil, "not revoked after the second approval")
		fam2Must(t, rvOrderStatus(t, srv, placed.ID) == "revoked", "order not revoked")
	})
	t.Run("skip disallowed", func(t *testing.T) {
		t.Parallel()
		srv := testenv.Start(t, testenv.Options{Sandbox: true, DisallowSkipApproval: true})
		_, csr := lcKey(t)
		placed := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
		placed.requirePending(t)
		fam2PutRequest(t, srv, placed.Requests[0].ID, "approved")
		fam2IssuedChain(t, srv, placed.ID)
		info := fam2WaitStatus(t, srv, placed.ID, "issued")
		certID := info.Certificate.ID
		status, hdr, body := srv.Do("PUT", rvCertPath(itoa(certID)), rvSkip("superseded"))
		req := rvCreated(t, status, hdr, body, "submitted", "gone")
		fam2Must(t, rvRevocation(t, srv, certID) == nil, "revoked although skipping is disallowed")
		fam2PutRequest(t, srv, req.ID, "approved")
		fam2Must(t, rvRevocation(t, srv, certID) != nil, "not revoked after approval")
	})
}

// TestRevokeRestart: a revocation, and a pending revoke request with its
// target, survive a restart.
func TestRevokeRestart(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	done := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	done.requireChain(t, "example.com")
	status, _, body := srv.Do("PUT", rvCertPath(itoa(done.CertificateID)), rvSkip("key_compromise"))
	rvNoContent(t, status, body)
	_, csr = lcKey(t)
	waiting := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	waiting.requireChain(t, "example.com")
	status, hdr, body := srv.Do("PUT", rvCertPath(itoa(waiting.CertificateID)), `{"revocation_reason":"affiliation_changed","comments":"after restart"}`)
	req := rvCreated(t, status, hdr, body, "submitted", "after restart")

	srv.Restart()

	fam2Must(t, rvOrderStatus(t, srv, done.ID) == "issued", "order of the revoked certificate is %q after restart", rvOrderStatus(t, srv, done.ID))
	if rv := rvRevocation(t, srv, done.CertificateID); rv == nil || rv.Reason != 1 {
		t.Fatalf("revocation after restart = %+v", rv)
	}
	status, hdr, body = srv.Do("PUT", rvCertPath(itoa(done.CertificateID)), rvSkip("unspecified"))
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_certificate_status")
	fam2PutRequest(t, srv, req.ID, "approved")
	if rv := rvRevocation(t, srv, waiting.CertificateID); rv == nil || rv.Reason != 3 || rv.RequestID != req.ID || rv.Comments != "after restart" {
		t.Fatalf("revocation approved after restart = %+v", rv)
	}
	fam2Must(t, rvOrderStatus(t, srv, waiting.ID) == "issued", "order moved by its certificate's revocation")
}

// TestRevokeClient: the Go client's revoke calls, by serial (request,
// approved with the client) and by order (skipped: no answer).
func TestRevokeClient(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	ctx := t.Context()
	c := client.New(srv.URL, srv.AdminKey)
	_, csr := lcKey(t)
	a := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	leaf := a.requireChain(t, "example.com")[0]
	req, err := c.RevokeCertificateBySerial(ctx, fmt.Sprintf("%x", leaf.SerialNumber), &client.Revoke{
		RevocationReason: client.ReasonKeyCompromise, Comments: "client"})
	if err != nil || req == nil || req.Type != "revoke" || req.Status != client.RequestSubmitted || req.Comments != "client" || req.Requester == nil {
		t.Fatalf("RevokeCertificateBySerial = %+v, %v", req, err)
	}
	if err := c.UpdateRequestStatus(ctx, req.ID, client.RequestApproved, ""); err != nil {
		t.Fatal(err)
	}
	if rv := rvRevocation(t, srv, a.CertificateID); rv == nil || rv.Reason != 1 {
		t.Fatalf("revocation = %+v", rv)
	}
	_, err = c.RevokeCertificate(ctx, a.CertificateID, &client.Revoke{SkipApproval: true})
	if e := client.AsAPIError(err); e == nil || !e.Has("invalid_certificate_status") {
		t.Fatalf("second revocation: %v", err)
	}

	_, csr = lcKey(t)
	b := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	b.requireChain(t, "example.com")
	got, err := c.RevokeOrder(ctx, b.ID, &client.Revoke{RevocationReason: client.ReasonSuperseded, SkipApproval: true})
	if err != nil || got != nil {
		t.Fatalf("RevokeOrder skipped = %+v, %v", got, err)
	}
	fam2Must(t, rvOrderStatus(t, srv, b.ID) == "revoked", "order not revoked")
}

// TestRevokeCRL: a revocation reaches its issuer's CRL (through OnRevoke
// or on the CRL's next build) with its reason code.
func TestRevokeCRL(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	chain := placed.requireChain(t, "example.com")
	leaf, inter := chain[0], chain[1]
	status, _, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), rvSkip("key_compromise"))
	rvNoContent(t, status, body)
	rv := rvRevocation(t, srv, placed.CertificateID)
	if rv == nil {
		t.Fatal("no revocation recorded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, _, der := srv.DoKey("", "GET", "/crl/"+rv.IssuerID+".crl", "")
		if code == http.StatusOK {
			crl := testenv.RequireCRLClean(t, der, inter)
			for _, e := range crl.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
					if e.ReasonCode != 1 {
						t.Errorf("CRL reason = %d, want 1 (keyCompromise)", e.ReasonCode)
					}
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serial %X not in the CRL of %s (last status %d)", leaf.SerialNumber, rv.IssuerID, code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
