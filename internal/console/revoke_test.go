package console_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// certStatus is the status of certificate id.
func (f *fixture) certStatus(id int64) string {
	f.t.Helper()
	c, err := f.srv.App.Store.Certificate(context.Background(), f.admin.Account.ID, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return c.Status
}

// issuedDuplicate waits for the first duplicate of order id to be
// issued and returns its certificate id.
func (f *fixture) issuedDuplicate(t *testing.T, id int64) int64 {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		dups, err := f.srv.App.Store.LinkedCertificates(ctx, f.admin.Account.ID, id, store.CertKindDuplicate)
		if err != nil {
			t.Fatal(err)
		}
		if len(dups) > 0 && dups[0].Status == store.CertIssued {
			return dups[0].ID
		}
		if time.Now().After(deadline) {
			t.Fatalf("no duplicate of order %d issued: %+v", id, dups)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRevokeOneCertificate: each issued certificate of an order has a
// revoke form of its own (PUT /certificate/{id}/revoke): a standard
// user's revocation of a duplicate is a request a manager approves, after
// which that certificate alone is revoked; an administrator may revoke at
// once; a certificate revoked already is refused on the page; a limited
// user of another container reaches none of it, nor another order's
// certificate through their own order.
func TestRevokeOneCertificate(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	east := f.container("East")
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	f.user("max", store.RoleManager, 0, "Max")
	lim := f.user("lim", store.RoleLimitedUser, east, "Lim")
	id := f.order(sam, "two.example.com", "")
	mine := f.order(lim, "lim.example.com", "")
	admin := f.signIn("admin")
	approveFirstRequest(t, f, admin, id)
	approveFirstRequest(t, f, admin, mine)
	o := f.waitStatus(id, store.OrderIssued)
	limOrder := f.waitStatus(mine, store.OrderIssued)
	orderPage := f.url("/console/orders/" + itoa(id))
	p := post(t, admin, orderPage, orderPage+"/duplicate", url.Values{"csr": {testenv.CSR(t, testenv.RSAKey(t), "x")}})
	requireStatus(t, p, http.StatusSeeOther, "duplicate")
	mgr := f.signIn("max")
	reqs := requestsOf(t, f, id)
	p = post(t, mgr, f.url("/console/requests"), f.url("/console/requests/"+itoa(reqs[len(reqs)-1].ID)), url.Values{"status": {"approved"}})
	requireStatus(t, p, http.StatusSeeOther, "approve the duplicate")
	dup := f.issuedDuplicate(t, id)
	certRevoke := func(order, cert int64) string {
		return f.url("/console/orders/" + itoa(order) + "/certificates/" + itoa(cert) + "/revoke")
	}

	b := f.signIn("sam")
	page := b.Get(orderPage)
	for _, c := range []int64{o.CertificateID, dup} {
		if !contains(page.Body, `action="/console/orders/`+itoa(id)+`/certificates/`+itoa(c)+`/revoke"`) {
			t.Errorf("no revoke form for certificate %d", c)
		}
	}
	if contains(page.Body, `name="skip_approval"`) {
		t.Error("a standard user is offered revocation without a request")
	}
	p = post(t, b, orderPage, certRevoke(id, dup), url.Values{"reason": {"superseded"}, "comments": {"old server"}})
	requireStatus(t, p, http.StatusSeeOther, "revoke the duplicate")
	reqs = requestsOf(t, f, id)
	rq := reqs[len(reqs)-1]
	if rq.Type != store.RequestRevoke || rq.Status != store.RequestPending || f.certStatus(dup) != store.CertIssued {
		t.Fatalf("after the form: request %+v, duplicate %s", rq, f.certStatus(dup))
	}
	p = post(t, mgr, f.url("/console/requests"), f.url("/console/requests/"+itoa(rq.ID)), url.Values{"status": {"approved"}})
	requireStatus(t, p, http.StatusSeeOther, "approve the revocation")
	if f.certStatus(dup) != store.CertRevoked || f.certStatus(o.CertificateID) != store.CertIssued {
		t.Fatalf("duplicate %s, primary %s", f.certStatus(dup), f.certStatus(o.CertificateID))
	}
	if o := f.waitStatus(id, store.OrderIssued); o.Status != store.OrderIssued {
		t.Fatal(o.Status)
	}
	page = b.Get(orderPage)
	if !contains(page.Body, "superseded") || contains(page.Body, `/certificates/`+itoa(dup)+`/revoke"`) {
		t.Errorf("the page after the revocation:\n%s", clip(page.Body))
	}
	// Revoked already: the rule's refusal on the order page.
	p = post(t, b, orderPage, certRevoke(id, dup), url.Values{"reason": {"superseded"}})
	requireStatus(t, p, http.StatusBadRequest, "revoke it again")
	if !contains(p.Body, "already revoked") {
		t.Errorf("the refusal:\n%s", clip(p.Body))
	}

	// A limited user of another container: not found, whichever way.
	lb := f.signIn("lim")
	token := lb.Get(f.url("/console/")).Hidden().Get("csrf_token")
	for _, path := range []string{certRevoke(id, o.CertificateID), certRevoke(mine, o.CertificateID), certRevoke(id, limOrder.CertificateID)} {
		p := lb.Post(path, url.Values{"csrf_token": {token}, "reason": {"key_compromise"}})
		requireStatus(t, p, http.StatusNotFound, path)
	}
	if f.certStatus(o.CertificateID) != store.CertIssued {
		t.Fatal("the limited user revoked another's certificate")
	}
	// Their own, as a request.
	p = post(t, lb, f.url("/console/orders/"+itoa(mine)), certRevoke(mine, limOrder.CertificateID), url.Values{"reason": {"unspecified"}})
	requireStatus(t, p, http.StatusSeeOther, "the limited user revokes their own")
	if reqs := requestsOf(t, f, mine); reqs[len(reqs)-1].Type != store.RequestRevoke {
		t.Errorf("the limited user's revocation made no request: %+v", reqs)
	}

	// An administrator revokes the primary at once.
	if !contains(admin.Get(orderPage).Body, `name="skip_approval"`) {
		t.Error("the administrator is not offered revocation without a request")
	}
	before := len(requestsOf(t, f, id))
	p = post(t, admin, orderPage, certRevoke(id, o.CertificateID), url.Values{"reason": {"key_compromise"}, "skip_approval": {"1"}})
	requireStatus(t, p, http.StatusSeeOther, "revoke at once")
	if f.certStatus(o.CertificateID) != store.CertRevoked || len(requestsOf(t, f, id)) != before {
		t.Errorf("primary %s, %d requests (had %d)", f.certStatus(o.CertificateID), len(requestsOf(t, f, id)), before)
	}
}
