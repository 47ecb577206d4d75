package apitest

// Black-box tests of organizations (spec §6.1–6.5, §6.7) and of the
// administrator's organization validation grant. Helper names start with
// org.

import (
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

const organizationPath = "/services/v2/organization"

// orgBody is a complete POST /organization body; extra keys are merged.
func orgBody(name string, extra map[string]any) map[string]any {
	m := map[string]any{
		"name": name, "assumed_name": "Widgets", "address": "1 Main Street", "address2": "Suite 2",
		"city": "Springfield", "state": "Oregon", "zip": "97477", "country": "us", "telephone": "+1 541 555 0100",
		"jurisdiction_country": "us", "jurisdiction_state": "Oregon", "business_category": "Private Organization",
		"registration_number": "OR-1234",
		"organization_contact": map[string]any{"first_name": "Ada", "last_name": "Lovelace", "email": "ada@widgets.example.com",
			"job_title": "CTO", "telephone": "+1 541 555 0101"},
		"technical_contact": map[string]any{"first_name": "Alan", "last_name": "Turing", "email": "alan@widgets.example.com"},
		"unknown_field":     "ignored",
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// orgCreate posts an organization and requires 201 {"id"}.
func orgCreate(t *testing.T, srv *testenv.Server, body map[string]any) int64 {
	t.Helper()
	status, hdr, b := srv.Do("POST", organizationPath, mustJSON(t, body))
	var v struct {
		ID int64 `json:"id"`
	}
	keys := domDecode(t, status, http.StatusCreated, hdr, b, &v)
	if v.ID <= 0 || !slices.Equal(keys, []string{"id"}) {
		t.Fatalf("POST /organization answered %s, want {\"id\": N}", clip(b))
	}
	return v.ID
}

type orgVal struct {
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	DateCreated    string `json:"date_created"`
	ValidatedUntil string `json:"validated_until"`
	Status         string `json:"status"`
	VerifiedUsers  []struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Email     string `json:"email"`
	} `json:"verified_users"`
}

// orgValidations is GET /organization/{id}/validation.
func orgValidations(t *testing.T, srv *testenv.Server, id int64) []orgVal {
	t.Helper()
	status, hdr, b := srv.Do("GET", fmt.Sprintf("%s/%d/validation", organizationPath, id), "")
	var v struct {
		Validations []orgVal `json:"validations"`
	}
	domDecode(t, status, http.StatusOK, hdr, b, &v)
	if v.Validations == nil {
		t.Fatalf("validations is not an array: %s", clip(b))
	}
	return v.Validations
}

func orgValidation(t *testing.T, srv *testenv.Server, id int64, typ string) *orgVal {
	t.Helper()
	for _, v := range orgValidations(t, srv, id) {
		if v.Type == typ {
			return &v
		}
	}
	return nil
}

type orgInfo struct {
	ID                  int64  `json:"id"`
	Name                string `json:"name"`
	DisplayName         string `json:"display_name"`
	IsActive            bool   `json:"is_active"`
	Country             string `json:"country"`
	OrganizationContact *struct {
		FirstName string `json:"first_name"`
		Email     string `json:"email"`
	} `json:"organization_contact"`
	TechnicalContact *struct {
		LastName string `json:"last_name"`
	} `json:"technical_contact"`
	VerifiedContacts []struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		Email     string `json:"email"`
		Status    string `json:"status"`
	} `json:"verified_contacts"`
	Validations []orgVal `json:"validations"`
}

func orgGet(t *testing.T, srv *testenv.Server, id int64) (orgInfo, []byte) {
	t.Helper()
	status, hdr, b := srv.Do("GET", fmt.Sprintf("%s/%d", organizationPath, id), "")
	var o orgInfo
	domDecode(t, status, http.StatusOK, hdr, b, &o)
	return o, b
}

func orgStatuses(vals []orgVal) map[string]string {
	out := map[string]string{}
	for _, v := range vals {
		out[v.Type] = v.Status
	}
	return out
}

// TestOrganizations: create with contacts and a pre-validation request,
// the duplicate check, submission for every type, the administrator's
// grant and the views.
func TestOrganizations(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	newContact := map[string]any{"first_name": "Grace", "last_name": "Hopper", "email": "grace@widgets.example.com", "job_title": "CEO"}
	b := counts(t, srv)
	id := orgCreate(t, srv, orgBody("Acme Orgs Ltd", map[string]any{"validations": []any{
		map[string]any{"type": "ov"},
		map[string]any{"type": "ev", "verified_users": []any{map[string]any{"id": 1}, newContact}},
	}}))
	requireTally(t, srv, b, tally{orgs: 1})

	o, raw := orgGet(t, srv, id)
	if o.Name != "Acme Orgs Ltd" || o.DisplayName != "Acme Orgs Ltd (Widgets)" || !o.IsActive || o.Country != "us" ||
		o.OrganizationContact == nil || o.OrganizationContact.Email != "ada@widgets.example.com" ||
		o.TechnicalContact == nil || o.TechnicalContact.LastName != "Turing" {
		t.Errorf("organization info: %s", clip(raw))
	}
	if got := orgStatuses(o.Validations); len(got) != 2 || got["ov"] != "pending" || got["ev"] != "pending" {
		t.Errorf("validations = %v, want ov and ev pending", got)
	}
	if len(o.VerifiedContacts) != 2 || o.VerifiedContacts[0].ID != 1 || o.VerifiedContacts[1].Email != "grace@widgets.example.com" ||
		o.VerifiedContacts[1].ID != 0 || o.VerifiedContacts[0].Status != "pending" {
		t.Errorf("verified_contacts = %+v", o.VerifiedContacts)
	}
	if strings.Contains(string(raw), "null") {
		t.Errorf("organization info holds null: %s", clip(raw))
	}
	ev := orgValidation(t, srv, id, "ev")
	if ev == nil || ev.Name != "EV" || ev.Description != "Extended Organization Validation (EV)" || ev.DateCreated == "" ||
		ev.ValidatedUntil != "" || len(ev.VerifiedUsers) != 2 || ev.VerifiedUsers[0].FirstName == "" {
		t.Errorf("ev validation = %+v", ev)
	}

	t.Run("duplicate check", func(t *testing.T) {
		b := counts(t, srv)
		same := orgBody(" ACME ORGS LTD ", map[string]any{"city": "springfield", "organization_contact": nil})
		if again := orgCreate(t, srv, same); again != id {
			t.Errorf("identical organization: id %d, want %d", again, id)
		}
		requireTally(t, srv, b, tally{})
		same["skip_duplicate_org_check"] = true
		if forced := orgCreate(t, srv, same); forced == id {
			t.Errorf("skip_duplicate_org_check reused %d", id)
		}
		requireTally(t, srv, b, tally{orgs: 1})
		// An order's inline organization meets the same check.
		csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")
		m := baseBody(csr)
		m["organization"] = orgBody("Acme Orgs Ltd", nil)
		if got := createOK(t, srv, "ssl_securesite", mustJSON(t, m)); got.Organization != nil {
			t.Errorf("order created an organization %d instead of reusing %d", got.Organization.ID, id)
		}
	})

	t.Run("submit every type", func(t *testing.T) {
		body := `{"validations":[{"type":"cs","verified_users":[{"id":"1"}]},{"type":"ev_cs","verified_users":[{"id":1}]},{"type":"ov"}]}`
		domNoContent(t, srv, "POST", fmt.Sprintf("%s/%d/validation", organizationPath, id), body)
		got := orgStatuses(orgValidations(t, srv, id))
		want := map[string]string{"ov": "pending", "ev": "pending", "cs": "pending", "ev_cs": "pending"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("statuses = %v, want %v", got, want)
		}
	})

	t.Run("grant", func(t *testing.T) {
		until := time.Now().UTC().AddDate(0, 6, 0).Format("2006-01-02")
		domNoContent(t, srv, "PUT", fmt.Sprintf("%s/%d/validation/ev", organizationPath, id), `{"validated_until":"`+until+`"}`)
		domNoContent(t, srv, "PUT", fmt.Sprintf("%s/%d/validation/cs", organizationPath, id), "")
		ev := orgValidation(t, srv, id, "ev")
		if ev.Status != "active" || !strings.HasPrefix(ev.ValidatedUntil, until) || len(ev.VerifiedUsers) != 2 {
			t.Errorf("granted ev = %+v, want active until %s with its verified users", ev, until)
		}
		cs := orgValidation(t, srv, id, "cs")
		if cs.Status != "active" || domParseStamp(t, cs.ValidatedUntil).Sub(time.Now()) < 824*24*time.Hour {
			t.Errorf("granted cs = %+v, want active for 825 days", cs)
		}
		// Resubmitting a validation in force keeps it active.
		domNoContent(t, srv, "POST", fmt.Sprintf("%s/%d/validation", organizationPath, id), `{"validations":[{"type":"ev","verified_users":[{"id":1}]}]}`)
		if ev := orgValidation(t, srv, id, "ev"); ev.Status != "active" || len(ev.VerifiedUsers) != 1 {
			t.Errorf("resubmitted ev = %+v, want still active with one verified user", ev)
		}
		o, _ := orgGet(t, srv, id)
		if len(o.VerifiedContacts) != 1 || o.VerifiedContacts[0].Status != "active" {
			t.Errorf("verified_contacts after the grant = %+v", o.VerifiedContacts)
		}
	})

	t.Run("list", func(t *testing.T) {
		status, hdr, b := srv.Do("GET", organizationPath+"?sort=-id&limit=1", "")
		var v struct {
			Organizations []orgInfo `json:"organizations"`
		}
		domDecode(t, status, http.StatusOK, hdr, b, &v)
		if len(v.Organizations) != 1 || v.Organizations[0].Validations == nil {
			t.Errorf("GET /organization: %s", clip(b))
		}
	})
}

// TestOrganizationsSandbox: a new organization holds every validation at once.
func TestOrganizationsSandbox(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	id := orgCreate(t, srv, orgBody("Sandbox Orgs Ltd", nil))
	got := orgStatuses(orgValidations(t, srv, id))
	want := map[string]string{"ov": "active", "ev": "active", "cs": "active", "ev_cs": "active"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sandbox organization validations = %v, want %v", got, want)
	}
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")
	m := baseBody(csr)
	m["organization"] = map[string]any{"id": id}
	m["skip_approval"] = true
	createOK(t, srv, "ssl_ev_securesite", mustJSON(t, m)).requireChain(t, "example.com")
}

// TestOrganizationRefusals: exact envelopes, and nothing written.
func TestOrganizationRefusals(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	const s400, s404 = http.StatusBadRequest, http.StatusNotFound
	with := func(k string, v any) map[string]any { return orgBody("Refused Orgs Ltd", map[string]any{k: v}) }
	val := func(vs ...any) map[string]any { return with("validations", append([]any{}, vs...)) }
	one := func(c ...string) []string { return c }
	org1 := organizationPath + "/1"
	cases := []callRefusal{
		{"create/empty body", "POST", organizationPath, "", s400, one("bad_request_format")},
		{"create/array", "POST", organizationPath, "[]", s400, one("bad_request_format")},
		{"create/nothing", "POST", organizationPath, "{}", s400, one("missing_field:name", "missing_field:address", "missing_field:city",
			"missing_field:state", "missing_field:zip", "missing_field:country")},
		{"create/blank name", "POST", organizationPath, with("name", "  "), s400, one("missing_field:name")},
		{"create/name number", "POST", organizationPath, with("name", 5), s400, one("invalid_value:name")},
		{"create/name too long", "POST", organizationPath, orgBody(strings.Repeat("n", 65), map[string]any{"assumed_name": ""}), s400, one("invalid_value:name")},
		{"create/assumed name too long", "POST", organizationPath, with("assumed_name", strings.Repeat("a", 50)), s400, one("invalid_value:assumed_name")},
		{"create/country", "POST", organizationPath, with("country", "USA"), s400, one("invalid_value:country")},
		{"create/jurisdiction country", "POST", organizationPath, with("jurisdiction_country", "U1"), s400, one("invalid_value:jurisdiction_country")},
		{"create/contact without names", "POST", organizationPath, with("organization_contact", map[string]any{"email": "x@widgets.example.com"}), s400,
			one("missing_field:organization_contact.first_name", "missing_field:organization_contact.last_name")},
		{"create/contact bad email", "POST", organizationPath, with("technical_contact", map[string]any{"first_name": "A", "last_name": "B", "email": "nope"}), s400,
			one("invalid_value:technical_contact")},
		{"create/validations empty", "POST", organizationPath, val(), s400, one("missing_field:validations")},
		{"create/validation type evcs", "POST", organizationPath, val(map[string]any{"type": "evcs", "verified_users": []any{map[string]any{"id": 1}}}), s400,
			one("invalid_value:validations")},
		{"create/validation without type", "POST", organizationPath, val(map[string]any{}), s400, one("missing_field:validations.type")},
		{"create/ev without verified users", "POST", organizationPath, val(map[string]any{"type": "ev"}), s400, one("missing_field:verified_users")},
		{"create/cs without verified users", "POST", organizationPath, val(map[string]any{"type": "cs", "verified_users": []any{}}), s400, one("missing_field:verified_users")},
		{"create/ev_cs unknown user", "POST", organizationPath, val(map[string]any{"type": "ev_cs", "verified_users": []any{map[string]any{"id": 999}}}), s400,
			one("invalid_value:verified_users")},
		{"create/verified contact without email", "POST", organizationPath, val(map[string]any{"type": "ev", "verified_users": []any{map[string]any{"first_name": "A", "last_name": "B"}}}), s400,
			one("invalid_value:verified_users")},
		{"create/verified user id word", "POST", organizationPath, val(map[string]any{"type": "ev", "verified_users": []any{map[string]any{"id": "x"}}}), s400,
			one("invalid_value:verified_users")},
		{"create/type twice", "POST", organizationPath, val(map[string]any{"type": "ov"}, map[string]any{"type": "OV"}), s400, one("invalid_value:validations")},
		{"create/everything wrong", "POST", organizationPath, map[string]any{"name": "X", "country": "usa", "validations": []any{map[string]any{"type": "ev"}}}, s400,
			one("missing_field:address", "missing_field:city", "missing_field:state", "missing_field:zip", "invalid_value:country", "missing_field:verified_users")},
		{"info/unknown", "GET", organizationPath + "/999", nil, s404, one("not_found|organization")},
		{"validation/unknown org", "GET", organizationPath + "/999/validation", nil, s404, one("not_found|organization")},
		{"submit/unknown org", "POST", organizationPath + "/999/validation", `{"validations":[{"type":"ov"}]}`, s404, one("not_found|organization")},
		{"submit/no validations", "POST", org1 + "/validation", "{}", s400, one("missing_field:validations")},
		{"submit/empty body", "POST", org1 + "/validation", "", s400, one("bad_request_format")},
		{"submit/ev without users", "POST", org1 + "/validation", `{"validations":[{"type":"ev"}]}`, s400, one("missing_field:verified_users")},
		{"submit/ds", "POST", org1 + "/validation", `{"validations":[{"type":"ds"}]}`, s400, one("invalid_value:validations")},
		{"submit/validations object", "POST", org1 + "/validation", `{"validations":{"type":"ov"}}`, s400, one("invalid_value:validations")},
		{"grant/unknown type", "PUT", org1 + "/validation/evcs", "", s400, one("invalid_value:type")},
		{"grant/unknown org", "PUT", organizationPath + "/999/validation/ov", "", s404, one("not_found|organization")},
		{"grant/org not a number", "PUT", organizationPath + "/one/validation/ov", "", s404, one("not_found|organization")},
		{"grant/past date", "PUT", org1 + "/validation/ov", `{"validated_until":"2020-01-01"}`, s400, one("invalid_value:validated_until")},
		{"grant/too long", "PUT", org1 + "/validation/ev", `{"validated_until":"2099-01-01"}`, s400, one("invalid_value:validated_until")},
		{"grant/bad date", "PUT", org1 + "/validation/ov", `{"validated_until":"soon"}`, s400, one("invalid_value:validated_until")},
		{"grant/not json", "PUT", org1 + "/validation/ov", `{`, s400, one("bad_request_format")},
	}
	before := counts(t, srv)
	_, org1Before := orgGet(t, srv, 1)
	sendRefusals(t, srv, cases)
	requireTally(t, srv, before, tally{})
	if _, after := orgGet(t, srv, 1); string(after) != string(org1Before) {
		t.Errorf("a refused request changed organization 1:\nbefore %s\nafter  %s", org1Before, after)
	}
	var probe map[string]any
	if err := json.Unmarshal(org1Before, &probe); err != nil || probe["verified_contacts"] == nil {
		t.Errorf("organization info lacks verified_contacts: %s", clip(org1Before))
	}
}

// TestOrganizationDelete: an unused organization goes, with its
// validations; the first organization and one an order or a domain names
// stay.
func TestOrganizationDelete(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	unused := orgCreate(t, srv, orgBody("Unused Orgs Ltd", map[string]any{"validations": []any{map[string]any{"type": "ov"}}}))
	onOrder := orgCreate(t, srv, orgBody("Ordered Orgs Ltd", nil))
	onDomain := orgCreate(t, srv, orgBody("Domain Orgs Ltd", nil))
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")
	m := baseBody(csr)
	m["organization"] = map[string]any{"id": onOrder}
	createOK(t, srv, "ssl_securesite", mustJSON(t, m))
	domAdd(t, srv, domBody("domain-orgs.com", onDomain, "", "ov"))

	refusals := []struct {
		name   string
		path   string
		status int
		code   string
	}{
		{"first organization", organizationPath + "/1", http.StatusBadRequest, "cannot_delete_organization"},
		{"used by an order", fmt.Sprintf("%s/%d", organizationPath, onOrder), http.StatusBadRequest, "cannot_delete_organization"},
		{"used by a domain", fmt.Sprintf("%s/%d", organizationPath, onDomain), http.StatusBadRequest, "cannot_delete_organization"},
		{"unknown", organizationPath + "/999", http.StatusNotFound, "not_found|organization"},
	}
	before := counts(t, srv)
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			status, hdr, b := srv.Do("DELETE", tc.path, "")
			requireErrors(t, status, hdr, b, tc.status, tc.code)
		})
	}
	requireTally(t, srv, before, tally{})
	domNoContent(t, srv, "DELETE", fmt.Sprintf("%s/%d", organizationPath, unused), "")
	requireTally(t, srv, before, tally{orgs: -1})
	status, hdr, b := srv.Do("GET", fmt.Sprintf("%s/%d", organizationPath, unused), "")
	requireErrors(t, status, hdr, b, http.StatusNotFound, "not_found|organization")
	// The duplicate check no longer finds it.
	if again := orgCreate(t, srv, orgBody("Unused Orgs Ltd", nil)); again == unused {
		t.Errorf("re-created organization reused the deleted id %d", unused)
	}
}
