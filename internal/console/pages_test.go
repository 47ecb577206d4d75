package console_test

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// TestLimitedUserSeesOnlyTheirOwn: a limited user sees, on every page,
// only the orders they placed in their container: another container's
// order, or a colleague's, is not found or not listed, whichever page,
// link or form is tried.
func TestLimitedUserSeesOnlyTheirOwn(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	east, west := f.container("East"), f.container("West")
	limited := f.user("lim.east", store.RoleLimitedUser, east, "Lim")
	colleague := f.user("std.east", store.RoleStandardUser, east, "Col")
	other := f.user("std.west", store.RoleStandardUser, west, "Wes")
	mine := f.order(limited, "mine.example.com", "")
	theirs := f.order(other, "west-secret.example.com", "")
	colleagues := f.order(colleague, "colleague-secret.example.com", "")
	// Issue the west order, so that its certificate has downloads.
	adminBrowser := f.signIn("admin")
	approveFirstRequest(t, f, adminBrowser, theirs)
	west0 := f.waitStatus(theirs, store.OrderIssued)

	b := f.signIn("lim.east")
	for _, path := range []string{"/console/", "/console/orders", "/console/orders?filters[search]=%25secret", "/console/requests",
		"/console/requests?filters[status]=approved", "/console/orders?filters[status]=issued"} {
		p := b.Get(f.url(path))
		requireStatus(t, p, http.StatusOK, path)
		for _, secret := range []string{"west-secret", "colleague-secret"} {
			if contains(p.Body, secret) {
				t.Errorf("%s shows %s", path, secret)
			}
		}
	}
	if p := b.Get(f.url("/console/orders")); !contains(p.Body, "mine.example.com") {
		t.Errorf("the limited user's own order is not listed")
	}
	for _, id := range []int64{theirs, colleagues} {
		for _, path := range []string{"/console/orders/" + itoa(id), "/console/orders/" + itoa(id) + "/certificates/" + itoa(west0.CertificateID) + "/pem_all"} {
			requireStatus(t, b.Get(f.url(path)), http.StatusNotFound, path)
		}
		token := b.Get(f.url("/console/orders")).Hidden().Get("csrf_token")
		for _, action := range []string{"revoke", "cancel", "reissue", "duplicate"} {
			p := b.Post(f.url("/console/orders/"+itoa(id)+"/"+action), url.Values{"csrf_token": {token}, "reason": {"unspecified"}, "note": {"x"}})
			if p.Status != http.StatusNotFound {
				t.Errorf("%s of order %d: %d, want 404", action, id, p.Status)
			}
		}
	}
	// The certificate of the west order through the limited user's own order.
	requireStatus(t, b.Get(f.url("/console/orders/"+itoa(mine)+"/certificates/"+itoa(west0.CertificateID)+"/pem_all")), http.StatusNotFound,
		"another order's certificate under one's own order")
	if o, _ := f.srv.App.Store.Order(context.Background(), f.admin.Account.ID, theirs); o.Status != store.OrderIssued {
		t.Errorf("the west order is %s after the limited user's refused posts", o.Status)
	}
	// And its requests cannot be decided by them (nor by anyone who does not approve).
	for _, rq := range requestsOf(t, f, colleagues) {
		p := b.Post(f.url("/console/requests/"+itoa(rq.ID)), url.Values{"csrf_token": {b.Get(f.url("/console/")).Hidden().Get("csrf_token")}, "status": {"approved"}})
		if p.Status == http.StatusSeeOther {
			t.Errorf("the limited user approved request %d", rq.ID)
		}
	}
}

func requestsOf(t *testing.T, f *fixture, orderID int64) []store.Request {
	t.Helper()
	reqs, err := f.srv.App.Store.RequestsForOrder(context.Background(), f.admin.Account.ID, orderID)
	if err != nil {
		t.Fatal(err)
	}
	return reqs
}

// approveFirstRequest approves an order's first request in the queue.
func approveFirstRequest(t *testing.T, f *fixture, b *webtest.Browser, orderID int64) {
	t.Helper()
	rq := firstRequest(t, f, orderID)
	p := post(t, b, f.url("/console/requests"), f.url("/console/requests/"+itoa(rq.ID)), url.Values{"status": {"approved"}})
	requireStatus(t, p, http.StatusSeeOther, "approve request")
}

// TestRolesReachTheirPagesOnly: each role reaches exactly the pages the
// permission table gives it; the menu shows only those.
func TestRolesReachTheirPagesOnly(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	f.user("std", store.RoleStandardUser, 0, "Sam")
	f.user("fin", store.RoleFinanceManager, 0, "Fin")
	f.user("mgr", store.RoleManager, 0, "Max")
	pages := []string{"/console/orders", "/console/requests", "/console/organizations", "/console/domains", "/console/users",
		"/console/keys", "/console/audit", "/console/sandbox", "/console/products", "/console/account"}
	reach := map[string][]string{
		"admin": pages,
		"mgr":   {"/console/orders", "/console/requests", "/console/organizations", "/console/domains", "/console/users", "/console/keys", "/console/products", "/console/account"},
		"fin":   {"/console/orders", "/console/requests", "/console/organizations", "/console/domains", "/console/keys", "/console/account"},
		"std":   {"/console/orders", "/console/requests", "/console/organizations", "/console/domains", "/console/keys", "/console/products", "/console/account"},
	}
	for who, ok := range reach {
		b := f.signIn(who)
		home := b.Get(f.url("/console/"))
		for _, path := range pages {
			want := http.StatusForbidden
			for _, p := range ok {
				if p == path {
					want = http.StatusOK
				}
			}
			requireStatus(t, b.Get(f.url(path)), want, who+" "+path)
			if path != "/console/products" && path != "/console/account" {
				if linked := contains(home.Body, `href="`+path+`"`); linked != (want == http.StatusOK) {
					t.Errorf("%s: menu links %s = %v", who, path, linked)
				}
			}
		}
	}
	// Writes the role does not have are refused before any rule runs.
	b := f.signIn("std")
	token := b.Get(f.url("/console/")).Hidden().Get("csrf_token")
	for _, path := range []string{"/console/users/new", "/console/sandbox/clock", "/console/organizations/1/grant", "/console/users/1/delete"} {
		p := b.Post(f.url(path), url.Values{"csrf_token": {token}, "username": {"x"}, "advance": {"1d"}, "type": {"ov"}})
		requireStatus(t, p, http.StatusForbidden, "standard user posts "+path)
	}
}

var scriptName = `<script>alert("x")</script>`

// TestValuesAreEscaped: what users type (names, comments, common names)
// is shown as text on every page it appears on, never as markup.
func TestValuesAreEscaped(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	u := f.user("mallory", store.RoleStandardUser, 0, scriptName)
	id := f.order(u, "escape.example.com", scriptName)
	b := f.signIn("admin")
	for _, path := range []string{"/console/", "/console/users", "/console/users/" + itoa(u.ID), "/console/orders/" + itoa(id),
		"/console/requests", "/console/audit", "/console/orders?filters[search]=" + url.QueryEscape(scriptName)} {
		p := b.Get(f.url(path))
		requireStatus(t, p, http.StatusOK, path)
		if contains(p.Body, "<script>alert") {
			t.Errorf("%s renders a user's script", path)
		}
	}
	p := b.Get(f.url("/console/orders/" + itoa(id)))
	if !contains(p.Body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Errorf("the order page does not show the comment as text:\n%s", clip(p.Body))
	}
	// The layout's only scripts come from the console's own assets.
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(p.Body, -1) {
		if m != `<script src="/assets/console.js" defer>` {
			t.Errorf("unexpected script tag %s", m)
		}
	}
	// The assets are embedded in the binary: served with no file beside it.
	for path, ctype := range map[string]string{"/assets/console.js": "text/javascript", "/assets/console.css": "text/css"} {
		a := b.Get(f.url(path))
		if a.Status != http.StatusOK || !strings.HasPrefix(a.Header.Get("Content-Type"), ctype) || len(a.Body) == 0 {
			t.Errorf("%s: %d %s, %d bytes", path, a.Status, a.Header.Get("Content-Type"), len(a.Body))
		}
	}
}

func firstRequest(t *testing.T, f *fixture, orderID int64) store.Request {
	t.Helper()
	reqs := requestsOf(t, f, orderID)
	if len(reqs) == 0 {
		t.Fatalf("order %d has no request", orderID)
	}
	return reqs[0]
}

// TestOrderLifecycleInPages: a standard user places an order with the
// form, a manager approves it on the requests page, the certificate is
// shown decoded and downloads in every format, and the user revokes it.
func TestOrderLifecycleInPages(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	f.user("sam", store.RoleStandardUser, 0, "Sam")
	f.user("max", store.RoleManager, 0, "Max")
	sam := f.signIn("sam")
	form := "/console/products/ssl_securesite"
	// The rules' errors come back by input.
	p := post(t, sam, f.url(form), f.url(form), url.Values{"common_name": {"shop.example.com"}, "organization": {"1"}, "validity_years": {"1"}})
	requireStatus(t, p, http.StatusBadRequest, "an order without a CSR")
	if !regexp.MustCompile(`id="err-csr"><p class="field-error">[^<]+</p>`).MatchString(p.Body) {
		t.Errorf("no error under the CSR input:\n%s", clip(p.Body))
	}
	if !contains(p.Body, `value="shop.example.com"`) {
		t.Error("the form lost what was typed")
	}
	csr := testenv.CSR(t, testenv.RSAKey(t), "ignored.example.com")
	p = post(t, sam, f.url(form), f.url(form), url.Values{"common_name": {"shop.example.com"}, "organization": {"1"}, "validity_years": {"1"},
		"signature_hash": {"sha256"}, "csr": {csr}, "comments": {"for the shop"}})
	requireStatus(t, p, http.StatusSeeOther, "place the order")
	loc := p.Header.Get("Location")
	id := mustID(t, loc)
	f.waitStatus(id, store.OrderNeedsApproval)

	max := f.signIn("max")
	q := max.Get(f.url("/console/requests"))
	if !contains(q.Body, "shop.example.com") || !contains(q.Body, ">Approve</button>") {
		t.Fatalf("the manager's queue does not offer the order:\n%s", clip(q.Body))
	}
	rq := firstRequest(t, f, id)
	p = max.Post(f.url("/console/requests/"+itoa(rq.ID)), url.Values{"csrf_token": {q.Hidden().Get("csrf_token")}, "status": {"approved"}, "comment": {"looks right"}})
	requireStatus(t, p, http.StatusSeeOther, "approve")
	o := f.waitStatus(id, store.OrderIssued)
	if rq := firstRequest(t, f, id); rq.ProcessorComment != "looks right" || rq.Status != store.RequestApproved {
		t.Errorf("the approved request %+v: want the approver's comment", rq)
	}

	page := sam.Get(f.url(loc))
	requireStatus(t, page, http.StatusOK, "order page")
	for _, want := range []string{"CN=shop.example.com", "Serial number", "RSA 2048 bits", "2.23.140.1.2.2", "approved"} {
		if !contains(page.Body, want) {
			t.Errorf("order page lacks %q", want)
		}
	}
	// The certificate as issued, decoded: issuer, serial, validity, names.
	cert, err := f.srv.App.Store.Certificate(context.Background(), f.admin.Account.ID, o.CertificateID)
	if err != nil {
		t.Fatal(err)
	}
	x, err := x509.ParseCertificate(cert.DER)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{x.Issuer.CommonName, ca.SerialHex(x.SerialNumber), x.NotBefore.UTC().Format("2006-01-02"),
		x.NotAfter.UTC().Format("2006-01-02"), x.DNSNames[len(x.DNSNames)-1]} {
		if !contains(page.Body, want) {
			t.Errorf("order page lacks the certificate's %q", want)
		}
	}
	for _, format := range []string{"pem_all", "pem_noroot", "pem_nointermediate", "p7b", "cer", "default", "default_pem", "default_cer", "apache"} {
		dl := sam.Get(f.url("/console/orders/" + itoa(id) + "/certificates/" + itoa(o.CertificateID) + "/" + format))
		requireStatus(t, dl, http.StatusOK, "download "+format)
		if !strings.HasPrefix(dl.Header.Get("Content-Disposition"), "attachment;") {
			t.Errorf("%s: Content-Disposition %q", format, dl.Header.Get("Content-Disposition"))
		}
		if format == "pem_all" {
			chain := testenv.ParsePEMChain(t, []byte(dl.Body))
			testenv.RequireLintClean(t, chain[0].Raw)
		}
	}
	p = post(t, sam, f.url(loc), f.url("/console/orders/"+itoa(id)+"/revoke"), url.Values{"reason": {"key_compromise"}, "comments": {"lost laptop"}})
	requireStatus(t, p, http.StatusSeeOther, "revoke")
	// A standard user's revocation is a request; the manager approves it.
	if o, _ := f.srv.App.Store.Order(context.Background(), f.admin.Account.ID, id); o.Status != store.OrderRevoked {
		reqs := requestsOf(t, f, id)
		last := reqs[len(reqs)-1]
		if last.Type != store.RequestRevoke {
			t.Fatalf("after revoke, order %s and last request %+v", o.Status, last)
		}
		p = max.Post(f.url("/console/requests/"+itoa(last.ID)), url.Values{"csrf_token": {q.Hidden().Get("csrf_token")}, "status": {"approved"}, "back": {loc}})
		requireStatus(t, p, http.StatusSeeOther, "approve the revocation")
		f.waitStatus(id, store.OrderRevoked)
	}
	if page := sam.Get(f.url(loc)); !contains(page.Body, "key compromise") {
		t.Errorf("the revocation is not in the order's history:\n%s", clip(page.Body))
	}
}

func mustID(t *testing.T, loc string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^/console/orders/(\d+)\?done=placed$`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("placed order sent to %q", loc)
	}
	var id int64
	for _, c := range m[1] {
		id = id*10 + int64(c-'0')
	}
	return id
}

// TestTwoStepApproval: on a two-step account the queue offers the first
// approval, then the second to someone else only.
func TestTwoStepApproval(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true, ApprovalMode: "two_step"})
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	f.user("max", store.RoleManager, 0, "Max")
	id := f.order(sam, "twostep.example.com", "")
	rq := firstRequest(t, f, id)
	max := f.signIn("max")
	q := max.Get(f.url("/console/requests?filters[status]=submitted"))
	if !contains(q.Body, `value="pending">Approve (first of two)`) {
		t.Fatalf("the queue does not offer the first approval:\n%s", clip(q.Body))
	}
	p := max.Post(f.url("/console/requests/"+itoa(rq.ID)), url.Values{"csrf_token": {q.Hidden().Get("csrf_token")}, "status": {"pending"}})
	requireStatus(t, p, http.StatusSeeOther, "first approval")
	if q := max.Get(f.url("/console/requests")); contains(q.Body, `action="/console/requests/`+itoa(rq.ID)+`"`) {
		t.Error("the first approver is offered the second approval")
	}
	admin := f.signIn("admin")
	p = post(t, admin, f.url("/console/requests"), f.url("/console/requests/"+itoa(rq.ID)), url.Values{"status": {"approved"}})
	requireStatus(t, p, http.StatusSeeOther, "second approval")
	f.waitStatus(id, store.OrderIssued)
}

// TestEveryRouteChecksThePermissionTable: every page and form behind
// sign-in, taken from the console's own route list, refuses with 403
// each role the permission table (account.Allowed, what the API asks for
// a key) refuses its area, to read for a GET and to write otherwise, and
// lets through each role it allows.
func TestEveryRouteChecksThePermissionTable(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	users := map[string]*store.User{
		"mgr": f.user("mgr", store.RoleManager, 0, "Max"),
		"fin": f.user("fin", store.RoleFinanceManager, 0, "Fin"),
		"std": f.user("std", store.RoleStandardUser, 0, "Sam"),
		"lim": f.user("lim", store.RoleLimitedUser, 0, "Lim"),
	}
	admin, _ := f.srv.App.Store.UserByUsername(context.Background(), "admin")
	users["admin"] = admin
	concrete := strings.NewReplacer("{product}", "ssl_securesite", "{format}", "pem_all", "{id}", "1", "{cert}", "1")
	routes := f.srv.App.Console.Routes()
	if len(routes) < 40 {
		t.Fatalf("only %d routes", len(routes))
	}
	refused := 0
	for who, u := range users {
		b := f.signIn(who)
		token := b.Get(f.url("/console/account")).Hidden().Get("csrf_token")
		actor := f.actor(u)
		for _, rt := range routes {
			path := concrete.Replace(strings.TrimSuffix(rt.Path, "{$}"))
			var p webtest.Page
			if rt.Method == http.MethodGet {
				p = b.Get(f.url(path))
			} else {
				// Nothing that would change anything if it were let through:
				// only the permission answer is looked at.
				p = b.Post(f.url(path), url.Values{"csrf_token": {token}})
			}
			allowed := account.Allowed(actor, rt.Area, !rt.Write) == nil
			if !allowed {
				refused++
			}
			if !allowed && p.Status != http.StatusForbidden {
				t.Errorf("%s: %s %s answered %d; the permission table refuses %s", who, rt.Method, rt.Path, p.Status, account.AreaNames[rt.Area])
			}
			if allowed && p.Status == http.StatusForbidden && contains(p.Body, "does not allow this call") {
				t.Errorf("%s: %s %s refused by the permission table, which allows %s", who, rt.Method, rt.Path, account.AreaNames[rt.Area])
			}
		}
	}
	if refused < 50 {
		t.Errorf("only %d refusals checked", refused)
	}
}
