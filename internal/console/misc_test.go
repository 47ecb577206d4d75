package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
)

// TestDashboard: orders by status, the expiry chart drawn as SVG with
// its numbers also in a table, and the requests waiting for the viewer.
func TestDashboard(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	waiting := f.order(sam, "waiting.example.com", "")
	f.order(sam, "second.example.com", "")
	b := f.signIn("admin")
	approveFirstRequest(t, f, b, waiting)
	f.waitStatus(waiting, store.OrderIssued)
	p := b.Get(f.url("/console/"))
	requireStatus(t, p, http.StatusOK, "dashboard")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`<span class="count">1</span> <span>needs approval</span>`),
		regexp.MustCompile(`<span class="count">1</span> <span>issued</span>`),
		regexp.MustCompile(`<svg class="chart" role="img"`),
		regexp.MustCompile(`<td><a href="[^"]+">90 days</a></td><td>0</td>`),
		regexp.MustCompile(`second\.example\.com</a>`),
	} {
		if !want.MatchString(p.Body) {
			t.Errorf("dashboard lacks %s", want)
		}
	}
	// Sam, who does not approve, sees his own request waiting.
	if p := f.signIn("sam").Get(f.url("/console/")); !contains(p.Body, "Your requests waiting") || !contains(p.Body, "second.example.com") {
		t.Errorf("sam's dashboard:\n%s", clip(p.Body))
	}
}

// TestAuditLog: administrators read who did what, filtered by user,
// action family and date.
func TestAuditLog(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	f.order(sam, "audited.example.com", "")
	b := f.signIn("admin")
	all := b.Get(f.url("/console/audit"))
	requireStatus(t, all, http.StatusOK, "audit log")
	if !contains(all.Body, "user.created") || !contains(all.Body, "order.created") {
		t.Fatalf("the log lacks events:\n%s", clip(all.Body))
	}
	p := b.Get(f.url("/console/audit?" + url.Values{"user": {itoa(sam.ID)}, "action": {"order."}}.Encode()))
	requireStatus(t, p, http.StatusOK, "filtered audit log")
	if !contains(p.Body, "order.created") || contains(p.Body, "user.created") || contains(p.Body, "user.password_set") {
		t.Errorf("filtered log:\n%s", clip(p.Body))
	}
	requireStatus(t, b.Get(f.url("/console/audit?date=not-a-date")), http.StatusBadRequest, "a bad date filter")
	requireStatus(t, b.Get(f.url("/console/audit?date=2001-01-01")), http.StatusOK, "a date filter")
	if p := b.Get(f.url("/console/audit?date=2001-01-01")); contains(p.Body, "order.created") {
		t.Error("a date filter kept events of another day")
	}
}

// TestKeyShownOnce: a new key is on the answer to the form and nowhere
// afterwards; revoking it from the page stops it.
func TestKeyShownOnce(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	p := post(t, b, f.url("/console/keys"), f.url("/console/keys"), url.Values{"name": {"ci"}, "role": {"102"}})
	requireStatus(t, p, http.StatusCreated, "create key")
	m := regexp.MustCompile(`id="key-value" value="([A-Z2-7]{40,})"`).FindStringSubmatch(p.Body)
	if m == nil {
		t.Fatalf("no key shown:\n%s", clip(p.Body))
	}
	key := m[1]
	if status, _, _ := f.srv.DoKey(key, "GET", "/services/v2/order/certificate", ""); status != http.StatusOK {
		t.Fatalf("the new key reads orders: %d", status)
	}
	if status, _, _ := f.srv.DoKey(key, "POST", "/services/v2/order/certificate/ssl_securesite", "{}"); status != http.StatusForbidden {
		t.Fatalf("the view-only key wrote: %d", status)
	}
	if contains(b.Get(f.url("/console/keys")).Body, key) {
		t.Error("the key is shown again")
	}
	keys, _ := f.srv.App.Store.APIKeys(context.Background(), f.admin.Account.ID, 0)
	last := keys[len(keys)-1]
	p = post(t, b, f.url("/console/keys"), f.url("/console/keys/"+itoa(last.ID)+"/revoke"), nil)
	requireStatus(t, p, http.StatusSeeOther, "revoke key")
	if status, _, _ := f.srv.DoKey(key, "GET", "/services/v2/order/certificate", ""); status != http.StatusForbidden {
		t.Errorf("a revoked key still reads: %d", status)
	}
}

// TestUsersPages: an administrator adds a user (errors by input), changes
// their role and container, and deletes them; a manager cannot make an
// administrator.
func TestUsersPages(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	div := f.container("Division")
	b := f.signIn("admin")
	p := post(t, b, f.url("/console/users/new"), f.url("/console/users/new"), url.Values{"username": {"bad name"}, "role": {"5"}})
	requireStatus(t, p, http.StatusBadRequest, "a bad user")
	for _, input := range []string{"username", "first_name", "email"} {
		if !regexp.MustCompile(`id="err-` + input + `"><p class="field-error">`).MatchString(p.Body) {
			t.Errorf("no error under %s", input)
		}
	}
	p = post(t, b, f.url("/console/users/new"), f.url("/console/users/new"), url.Values{"username": {"new.user"}, "first_name": {"New"},
		"last_name": {"User"}, "email": {"new.user@example.com"}, "role": {"5"}, "container": {itoa(f.top)}})
	requireStatus(t, p, http.StatusSeeOther, "add a user")
	u, err := f.srv.App.Store.UserByUsername(context.Background(), "new.user")
	if err != nil {
		t.Fatal(err)
	}
	p = post(t, b, f.url("/console/users/"+itoa(u.ID)), f.url("/console/users/"+itoa(u.ID)), url.Values{"role": {"4"}, "container": {itoa(div)}})
	requireStatus(t, p, http.StatusSeeOther, "edit the user")
	if u, _ = f.srv.App.Store.User(context.Background(), u.AccountID, u.ID); u.AccessRole != store.RoleManager || u.ContainerID != div {
		t.Errorf("after the edit: role %d container %d", u.AccessRole, u.ContainerID)
	}
	// A manager may not hand out the administrator role.
	f.user("mgr", store.RoleManager, 0, "Max")
	m := f.signIn("mgr")
	p = post(t, m, f.url("/console/users/"+itoa(u.ID)), f.url("/console/users/"+itoa(u.ID)), url.Values{"role": {"1"}, "container": {itoa(div)}})
	if p.Status == http.StatusSeeOther {
		t.Error("a manager made an administrator")
	}
	p = post(t, b, f.url("/console/users/"+itoa(u.ID)), f.url("/console/users/"+itoa(u.ID)+"/delete"), nil)
	requireStatus(t, p, http.StatusSeeOther, "delete the user")
	requireStatus(t, b.Get(f.url("/console/users/"+itoa(u.ID))), http.StatusNotFound, "a deleted user's page")
}

// TestValidationPages: an administrator grants an organization
// validation and a domain validation; the domain page tells what to
// publish and checks it now.
func TestValidationPages(t *testing.T) {
	t.Parallel()
	// Outside the sandbox: a domain waits for its record.
	f := start(t, testenv.Options{})
	ctx := context.Background()
	d, err := f.srv.App.Validation.AddDomain(ctx, f.admin, &validation.DomainInput{Name: "held.example.com", DCVMethod: "dns-txt-token",
		Organization: &flex.IDInput{ID: flex.NewInt(1)}, Validations: []validation.DomainValidationInput{{Type: "ov"}}})
	if err != nil {
		t.Fatal(err)
	}
	b := f.signIn("admin")
	p := b.Get(f.url("/console/domains/" + itoa(d.ID)))
	requireStatus(t, p, http.StatusOK, "domain page")
	if !contains(p.Body, "_dnsauth.held.example.com. IN TXT") {
		t.Fatalf("no TXT instructions:\n%s", clip(p.Body))
	}
	p = post(t, b, f.url("/console/domains/"+itoa(d.ID)), f.url("/console/domains/"+itoa(d.ID)+"/check"), nil)
	requireStatus(t, p, http.StatusBadRequest, "check a domain without its record")
	if !contains(p.Body, "Domain control validation of held.example.com failed") {
		t.Errorf("the check's finding is not shown:\n%s", clip(p.Body))
	}
	p = post(t, b, f.url("/console/domains/"+itoa(d.ID)), f.url("/console/domains/"+itoa(d.ID)+"/grant"), url.Values{"dcv_method": {""}})
	requireStatus(t, p, http.StatusSeeOther, "grant the domain")
	if d, _ = f.srv.App.Store.Domain(ctx, d.AccountID, d.ID); d.DCVStatus != store.DCVComplete {
		t.Errorf("granted domain is %s", d.DCVStatus)
	}
	org, err := f.srv.App.Validation.CreateOrganization(ctx, f.admin, &validation.OrgCreateInput{OrganizationInput: validation.OrganizationInput{Name: "Granted Ltd", Address: "1 Road", City: "Town",
		State: "Shire", Zip: "12345", Country: "us", Telephone: "+1 555 0100",
		OrganizationContact: &validation.ContactInput{FirstName: "A", LastName: "B", Email: "a@example.com", JobTitle: "CEO", Telephone: "+1 555 0101"}}})
	if err != nil {
		t.Fatal(err)
	}
	page := "/console/organizations/" + itoa(org.ID)
	p = post(t, b, f.url(page), f.url(page+"/grant"), url.Values{"type": {"ev"}, "until": {"not a date"}})
	requireStatus(t, p, http.StatusBadRequest, "a bad date")
	p = post(t, b, f.url(page), f.url(page+"/grant"), url.Values{"type": {"ev"}})
	requireStatus(t, p, http.StatusSeeOther, "grant ev")
	if p := b.Get(f.url(page)); !regexp.MustCompile(`<td>ev</td><td>active</td>`).MatchString(p.Body) {
		t.Errorf("the granted validation is not shown:\n%s", clip(p.Body))
	}
	// A manager reaches the pages but is offered no grant (the rule is
	// administrators').
	f.user("mgr", store.RoleManager, 0, "Max")
	if p := f.signIn("mgr").Get(f.url(page)); contains(p.Body, "Grant a validation") {
		t.Error("a manager is offered a grant")
	}
}

// TestSandboxPage: the outbox and the clock, for administrators.
func TestSandboxPage(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	p := post(t, b, f.url("/console/sandbox"), f.url("/console/sandbox/clock"), url.Values{"advance": {"2d"}})
	requireStatus(t, p, http.StatusSeeOther, "move the clock")
	if off, _ := f.srv.App.Clock.Offset(context.Background()); off.Hours() != 48 {
		t.Errorf("offset after moving 2d: %v", off)
	}
	p = post(t, b, f.url("/console/sandbox"), f.url("/console/sandbox/clock"), url.Values{"advance": {"soon"}})
	requireStatus(t, p, http.StatusBadRequest, "a bad duration")
	if p := b.Get(f.url("/console/sandbox")); !contains(p.Body, "offset 48h0m0s") {
		t.Errorf("the sandbox page does not show the offset:\n%s", clip(p.Body))
	}
	outside := start(t, testenv.Options{})
	requireStatus(t, outside.signIn("admin").Get(outside.url("/console/sandbox")), http.StatusNotFound, "the sandbox page outside the sandbox")
	_ = account.AreaSandbox
}

// TestSandboxFaultsAndConformancePage: an administrator adds a fault rule
// from the page (a bad one is shown with its field's error), sees it work
// and deletes it; the page shows the conformance findings of a key's
// calls, and clears them.
func TestSandboxFaultsAndConformancePage(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	p := post(t, b, f.url("/console/sandbox"), f.url("/console/sandbox/faults"), url.Values{"fault": {"error"}, "status": {"418"}})
	requireStatus(t, p, http.StatusBadRequest, "a rule with a bad status")
	if !contains(p.Body, `id="status" name="status" value="418" aria-describedby="err-status" aria-invalid="true"`) {
		t.Errorf("the refused rule's field is not marked:\n%s", clip(p.Body))
	}
	p = post(t, b, f.url("/console/sandbox"), f.url("/console/sandbox/faults"),
		url.Values{"fault": {"rate_limit"}, "route": {"GET /user/me"}, "retry_after": {"7s"}, "count": {"1"}})
	requireStatus(t, p, http.StatusSeeOther, "add a rule")
	status, hdr, _ := f.srv.Do("GET", "/services/v2/user/me", "")
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "7" {
		t.Errorf("the console's rule: %d Retry-After %q", status, hdr.Get("Retry-After"))
	}
	// A GET with a body, for the report.
	req, _ := http.NewRequest("GET", f.srv.URL+"/services/v2/product", strings.NewReader(`{"x":1}`))
	req.Header.Set("X-DC-DEVKEY", f.srv.AdminKey)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	page := b.Get(f.url("/console/sandbox"))
	for _, want := range []string{"<code>GET /user/me</code>", "rate_limit · Retry-After 7s", "<td>1</td><td>1</td><td>spent</td>",
		"<b>ignored_retry_after</b>", "<b>get_with_body</b>"} {
		if !contains(page.Body, want) {
			t.Errorf("the sandbox page lacks %q:\n%s", want, clip(page.Body))
		}
	}
	p = post(t, b, f.url("/console/sandbox"), f.url("/console/sandbox/faults/1/delete"), url.Values{})
	requireStatus(t, p, http.StatusSeeOther, "delete the rule")
	p = post(t, b, f.url("/console/sandbox"), f.url("/console/sandbox/conformance/reset"), url.Values{})
	requireStatus(t, p, http.StatusSeeOther, "clear the report")
	page = b.Get(f.url("/console/sandbox"))
	if !contains(page.Body, "No rule is in force.") || !contains(page.Body, "No API key has called yet.") {
		t.Errorf("after delete and clear:\n%s", clip(page.Body))
	}
}
