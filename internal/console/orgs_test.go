package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
)

var orgForm = url.Values{"name": {"Acme Corp"}, "address": {"1 Main St"}, "city": {"Lehi"}, "state": {"Utah"}, "zip": {"84043"}, "country": {"us"}}

// idFrom is the id a redirect after a form names: /console/<what>/<id>?done=...
func idFrom(t *testing.T, loc, what string) int64 {
	t.Helper()
	m := regexp.MustCompile(`^/console/` + what + `/(\d+)\?done=`).FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("sent to %q, want a %s page", loc, what)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// TestOrganizationForms: a manager adds an organization with its contacts
// and submits it for validation with verified users, through the rules of
// POST /organization and POST /organization/{id}/validation; the rules'
// errors show by input, an identical organization is not added twice.
func TestOrganizationForms(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	mgr := f.user("mgr", store.RoleManager, 0, "Max")
	b := f.signIn("mgr")
	if p := b.Get(f.url("/console/organizations")); !contains(p.Body, `href="/console/organizations/new"`) {
		t.Error("the list offers no new organization to a manager")
	}
	path := f.url("/console/organizations/new")
	for _, tc := range []struct {
		name string
		form url.Values
		want []string
	}{
		{"nothing", url.Values{}, []string{"name", "address", "city", "state", "zip", "country"}},
		{"a bad country and contact", with(url.Values{"name": {"Acme"}, "address": {"1 Main St"}, "city": {"Lehi"}, "state": {"Utah"}, "zip": {"1"}},
			"country", "USA", "organization_contact.first_name", "Jo", "organization_contact.email", "jo@", "technical_contact.email", "tech@example.com"),
			[]string{"country", "organization_contact.email", "organization_contact.last_name", "technical_contact.first_name", "technical_contact.last_name"}},
		{"EV without verified users", with(orgForm, "validation", "ev"), []string{"verified_users"}},
		{"an unknown type", with(orgForm, "validation", "dv"), []string{"validations"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := post(t, b, path, path, tc.form)
			requireFieldErrors(t, p, tc.want...)
		})
	}
	form := with(orgForm, "organization_contact.first_name", "Olga", "organization_contact.last_name", "Org", "organization_contact.email", "olga@acme.example",
		"organization_contact.telephone", "+1 801 555 0102", "jurisdiction_country", "us", "business_category", "Private Organization", "registration_number", "42",
		"validation", "ov", "validation", "ev", "verified_user", itoa(mgr.ID), "verified_user.first_name", "Vera", "verified_user.last_name", "Fied",
		"verified_user.email", "vera@acme.example")
	p := post(t, b, path, path, form)
	requireStatus(t, p, http.StatusSeeOther, "add the organization")
	id := idFrom(t, p.Header.Get("Location"), "organizations")
	org, err := f.srv.App.Store.Organization(context.Background(), f.admin.Account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if org.OrganizationContact == nil || org.OrganizationContact.Email != "olga@acme.example" || org.RegistrationNumber != "42" {
		t.Errorf("organization %+v", org)
	}
	page := b.Get(f.url(p.Header.Get("Location")))
	for _, want := range []string{"Created.", "Vera Fied &lt;vera@acme.example&gt;", "Max Tester &lt;mgr@example.com&gt;", "Olga Org"} {
		if !contains(page.Body, want) {
			t.Errorf("the organization's page lacks %q", want)
		}
	}
	// The same organization again is the one there.
	p = post(t, b, path, path, with(orgForm))
	requireStatus(t, p, http.StatusSeeOther, "add it again")
	if again := idFrom(t, p.Header.Get("Location"), "organizations"); again != id || !contains(p.Header.Get("Location"), "done=reused") {
		t.Errorf("added again as %s", p.Header.Get("Location"))
	}
	// Submitted for code signing from its page; the errors show there.
	orgPage := f.url("/console/organizations/" + itoa(id))
	requireFieldErrors(t, post(t, b, orgPage, orgPage+"/validation", url.Values{"validation": {"cs"}}), "verified_users")
	requireFieldErrors(t, post(t, b, orgPage, orgPage+"/validation", url.Values{"validation": {"cs"}, "verified_user.first_name": {"Nemo"}}), "verified_users")
	p = post(t, b, orgPage, orgPage+"/validation", url.Values{"validation": {"cs"}, "verified_user": {itoa(mgr.ID)}})
	requireStatus(t, p, http.StatusSeeOther, "submit for cs")
	org, _ = f.srv.App.Store.Organization(context.Background(), f.admin.Account.ID, id)
	if !slices.ContainsFunc(org.Validations, func(v store.OrgValidation) bool {
		return v.Type == "cs" && len(v.VerifiedContacts) == 1 && v.VerifiedContacts[0].UserID == mgr.ID
	}) {
		t.Errorf("validations after the cs submission: %+v", org.Validations)
	}
	// A manager grants nothing: the form is not offered.
	if contains(b.Get(orgPage).Body, "/grant") {
		t.Error("a manager is offered the grant")
	}
}

// TestDomainForms: a domain added with its organization, method and
// types shows its instructions; its method changes and it is submitted
// again, each through the rule of the API's route, errors by input.
func TestDomainForms(t *testing.T) {
	t.Parallel()
	// Outside the sandbox, so the domain waits and shows instructions.
	f := start(t, testenv.Options{})
	b := f.signIn("admin")
	path := f.url("/console/domains/new")
	requireFieldErrors(t, post(t, b, path, path, url.Values{"dcv_method": {"email"}}), "name", "organization", "validations")
	requireFieldErrors(t, post(t, b, path, path, url.Values{"name": {"*.example.com"}, "organization": {"99"}, "validation": {"dv"}, "dcv_method": {"carrier-pigeon"}}),
		"name", "organization", "validations", "dcv_method")
	p := post(t, b, path, path, url.Values{"name": {"www.shop.example.com"}, "organization": {"1"}, "validation": {"ov"}, "dcv_method": {"dns-txt-token"}})
	requireStatus(t, p, http.StatusSeeOther, "add the domain")
	id := idFrom(t, p.Header.Get("Location"), "domains")
	ctx := context.Background()
	d, err := f.srv.App.Store.Domain(ctx, f.admin.Account.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "shop.example.com" || d.DCVMethod != "dns-txt-token" || d.OrganizationID != 1 || d.DCVToken == "" {
		t.Fatalf("domain %+v", d)
	}
	domPage := f.url("/console/domains/" + itoa(id))
	page := b.Get(domPage)
	for _, want := range []string{"_dnsauth.shop.example.com", d.DCVToken, "Example Inc."} {
		if !contains(page.Body, want) {
			t.Errorf("the domain's page lacks %q", want)
		}
	}
	requireFieldErrors(t, post(t, b, path, path, url.Values{"name": {"shop.example.com"}, "organization": {"1"}, "validation": {"ov"}}), "name")

	requireFieldErrors(t, post(t, b, domPage, domPage+"/method", url.Values{"dcv_method": {"carrier-pigeon"}}), "dcv_method")
	p = post(t, b, domPage, domPage+"/method", url.Values{"dcv_method": {"http-token"}})
	requireStatus(t, p, http.StatusSeeOther, "change the method")
	d, _ = f.srv.App.Store.Domain(ctx, f.admin.Account.ID, id)
	if d.DCVMethod != "http-token" {
		t.Errorf("method %s after the change", d.DCVMethod)
	}
	if page := b.Get(domPage); !contains(page.Body, "/.well-known/pki-validation/") || !contains(page.Body, d.DCVToken) {
		t.Errorf("the page after the change:\n%s", clip(page.Body))
	}
	requireFieldErrors(t, post(t, b, domPage, domPage+"/validation", url.Values{"validation": {"dv"}}), "validations")
	p = post(t, b, domPage, domPage+"/validation", url.Values{"validation": {"ev"}})
	requireStatus(t, p, http.StatusSeeOther, "submit again")
	d, _ = f.srv.App.Store.Domain(ctx, f.admin.Account.ID, id)
	if !slices.Equal(d.ValidationTypes, []string{"ov", "ev"}) {
		t.Errorf("types %v after the resubmission", d.ValidationTypes)
	}
}

// TestOrgDomainPermissions: every organization and domain form does, for
// each role, what the API lets a key of that user (unrestricted) do: the
// console's 303 is the API's 2xx, its 403 the API's 403. The console acts
// for its user with an unrestricted key: a manager whose only key is view
// only is refused by the API with that key, and does in the console what
// the manager role allows. A limited user, like every role that only
// reads them, is offered no form.
func TestOrgDomainPermissions(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	dom, err := f.srv.App.Validation.AddDomain(ctx, f.admin, &validation.DomainInput{Name: "perm.example.com", Organization: &flex.IDInput{ID: flex.NewInt(1)},
		Validations: []validation.DomainValidationInput{{Type: "ov"}}})
	if err != nil {
		t.Fatal(err)
	}
	d := itoa(dom.ID)
	key := func(u *store.User, role int) string {
		_, k, err := f.srv.App.Console.Accounts.CreateAPIKey(ctx, f.admin, u.ID, "k", flex.NewInt(int64(role)))
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	type action struct {
		name, page, console string
		form                url.Values
		method, api, body   string
	}
	actions := func(who string) []action {
		return []action{
			{"add an organization", "/console/organizations/new", "/console/organizations/new", with(orgForm, "name", "Console "+who),
				"POST", "/services/v2/organization", fmt.Sprintf(`{"name":"API %s","address":"1 Main St","city":"Lehi","state":"Utah","zip":"84043","country":"us"}`, who)},
			{"submit an organization", "/console/organizations/1", "/console/organizations/1/validation", url.Values{"validation": {"ov"}},
				"POST", "/services/v2/organization/1/validation", `{"validations":[{"type":"ov"}]}`},
			{"add a domain", "/console/domains", "/console/domains/new", url.Values{"name": {"c-" + who + ".example.com"}, "organization": {"1"}, "validation": {"ov"}},
				"POST", "/services/v2/domain", fmt.Sprintf(`{"name":"a-%s.example.com","organization":{"id":1},"validations":[{"type":"ov"}]}`, who)},
			{"change a domain's method", "/console/domains/" + d, "/console/domains/" + d + "/method", url.Values{"dcv_method": {"dns-txt-token"}},
				"PUT", "/services/v2/domain/" + d + "/dcv/method", `{"dcv_method":"dns-txt-token"}`},
			{"submit a domain again", "/console/domains/" + d, "/console/domains/" + d + "/validation", url.Values{},
				"POST", "/services/v2/domain/" + d + "/validation", `{}`},
			{"grant an organization", "/console/organizations/1", "/console/organizations/1/grant", url.Values{"type": {"ov"}},
				"PUT", "/services/v2/organization/1/validation/ov", ``},
			{"grant a domain", "/console/domains/" + d, "/console/domains/" + d + "/grant", url.Values{},
				"PUT", "/services/v2/domain/" + d + "/dcv/approve", ``},
		}
	}
	outcome := func(status int) string {
		switch {
		case status == http.StatusSeeOther || status >= 200 && status < 300:
			return "done"
		case status == http.StatusForbidden:
			return "refused"
		}
		return "status " + strconv.Itoa(status)
	}
	for _, tc := range []struct {
		who  string
		role int
	}{
		{"admin", store.RoleAdministrator}, {"mgr", store.RoleManager}, {"std", store.RoleStandardUser},
		{"lim", store.RoleLimitedUser}, {"fin", store.RoleFinanceManager},
	} {
		t.Run(tc.who, func(t *testing.T) {
			var u *store.User
			if tc.who == "admin" {
				u = f.admin.User
			} else {
				u = f.user(tc.who, tc.role, 0, "U")
			}
			inherit := key(u, account.KeyRoleInherit)
			viewOnly := key(u, account.KeyRoleViewOnly)
			b := f.signIn(tc.who)
			writes := tc.role == store.RoleAdministrator || tc.role == store.RoleManager
			for _, path := range []string{"/console/organizations", "/console/organizations/1", "/console/domains", "/console/domains/" + d} {
				p := b.Get(f.url(path))
				requireStatus(t, p, http.StatusOK, path)
				if offered := contains(p.Body, `method="post" action="/console/organizations`) || contains(p.Body, `method="post" action="/console/domains`) ||
					contains(p.Body, `/new"`); offered != writes {
					t.Errorf("%s: forms offered = %v", path, offered)
				}
			}
			for _, path := range []string{"/console/organizations/new", "/console/domains/new"} {
				if want := map[bool]int{true: http.StatusOK, false: http.StatusForbidden}[writes]; b.Get(f.url(path)).Status != want {
					t.Errorf("GET %s: want %d", path, want)
				}
			}
			token := b.Get(f.url("/console/")).Hidden().Get("csrf_token")
			for _, a := range actions(tc.who) {
				form := with(a.form, "csrf_token", token)
				console := outcome(b.Post(f.url(a.console), form).Status)
				status, _, body := f.srv.DoKey(inherit, a.method, a.api, a.body)
				if api := outcome(status); console != api {
					t.Errorf("%s: the console's %s, the API's %s (%s)", a.name, console, api, clip(string(body)))
				}
				if status, _, _ := f.srv.DoKey(viewOnly, a.method, a.api, a.body); status != http.StatusForbidden {
					t.Errorf("%s: a view-only key got %d", a.name, status)
				}
				grant := a.name == "grant an organization" || a.name == "grant a domain"
				if want := map[bool]string{true: "done", false: "refused"}[tc.role == store.RoleAdministrator || writes && !grant]; console != want {
					t.Errorf("%s: %s, want %s", a.name, console, want)
				}
			}
		})
	}
}
