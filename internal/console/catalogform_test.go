package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
)

// selectOptions are the values of the options of the select name.
func selectOptions(body, name string) []string {
	m := regexp.MustCompile(`(?s)<select id="[^"]*" name="` + regexp.QuoteMeta(name) + `"[^>]*>(.*?)</select>`).FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var out []string
	for _, o := range regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(o[1]))
	}
	return out
}

// minimum is the least a product's order needs, as form values (what a
// browser sends for the form filled in that far, its selects left at their
// first option) and as the API's JSON body with the same values.
func minimum(p catalog.Product, csr string) (url.Values, map[string]any) {
	form := url.Values{"signature_hash": {p.HashTypes[0]}, "payment_method": {"balance"}}
	cert := map[string]any{"signature_hash": p.HashTypes[0]}
	body := map[string]any{"certificate": cert, "payment_method": "balance"}
	years := p.ValidityYears[0]
	form.Set("validity_years", strconv.Itoa(years))
	if p.OrderValidity {
		body["order_validity"] = map[string]any{"years": years}
	} else {
		body["validity_years"] = years
	}
	switch p.Family {
	case catalog.FamilyClient:
		form.Set("common_name", "Jane Doe")
		form.Set("emails", "jane.doe@example.com")
		cert["common_name"], cert["emails"] = "Jane Doe", []string{"jane.doe@example.com"}
	case catalog.FamilyCodeSigning:
		// Installed with the client app (the default, or the first choice
		// where one must be made), which names its platform.
		form.Set("server_platform", "-1")
		cert["server_platform"] = map[string]any{"id": -1}
		if p.ValidationType == "ev_cs" {
			form.Set("cs_provisioning_method", "client_app")
			body["cs_provisioning_method"] = "client_app"
		}
	default:
		cn := strings.ReplaceAll(p.NameID, "_", "-") + ".example.com"
		if p.Wildcards == catalog.WildcardRequired || p.Wildcards == catalog.WildcardCovered {
			cn = "*." + cn
		}
		form.Set("common_name", cn)
		cert["common_name"] = cn
	}
	if p.CSRRequired {
		form.Set("csr", csr)
		cert["csr"] = csr
	}
	if p.Family != catalog.FamilyDV {
		form.Set("organization", "1")
		body["organization"] = map[string]any{"id": 1}
	}
	if p.DCVRequired {
		form.Set("dcv_method", p.DCVMethods[0])
		body["dcv_method"] = p.DCVMethods[0]
	}
	if p.Family == catalog.FamilyX9 {
		form.Set("csa_agreed_to", "1")
		body["csa_agreed_to"] = true
	}
	return form, body
}

// comparable is what an order is, less what differs between two placed
// one after the other (ids, times, random values).
func comparable(t *testing.T, o *store.Order) map[string]any {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ID", "CreatedAt", "UpdatedAt", "OrderValidTill", "CertValidTill", "DCVRandomValue", "DCVRandomExpires",
		"CertificateID", "CommonName", "DNSNames"} {
		delete(m, k)
	}
	return m
}

// TestOrderFormEveryProduct: for every product of the catalogue, the
// order form
//   - has the inputs the catalogue entry asks for, with its choices
//     (hashes, validities, DCV methods) and required marks;
//   - sent empty, shows every error the API gives for an empty order
//     under an input of the form: no field the rules require is missing
//     from it;
//   - sent with the least the product needs, places the order the API
//     places for the same fields (order.Service.CreateOrder, the same
//     call), alike but for ids and times.
func TestOrderFormEveryProduct(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	csr := testenv.CSR(t, testenv.RSAKey(t), "ignored.example.com")
	products := f.srv.App.Orders.Products()
	var ids []string
	for _, p := range products.All() {
		if _, ok := products.Orderable(p.NameID); ok {
			ids = append(ids, p.NameID)
		}
	}
	if len(ids) < 30 {
		t.Fatalf("only %d orderable products", len(ids))
	}
	for _, id := range ids {
		p, _ := products.Orderable(id)
		t.Run(id, func(t *testing.T) {
			path := f.url("/console/products/" + id)
			page := b.Get(path)
			requireStatus(t, page, http.StatusOK, "the form")
			has := func(name string) bool { return contains(page.Body, `name="`+name+`"`) }
			for name, want := range map[string]bool{
				"csr": true, "signature_hash": true, "validity_years": len(p.ValidityYears) > 0, "payment_method": true,
				"common_name": p.Family != catalog.FamilyCodeSigning, "emails": p.Family == catalog.FamilyClient,
				"ip_addresses": p.IPAddresses, "dns_names": p.MaxNames > 2 || p.MultiDomain || p.Wildcards != catalog.WildcardNone,
				"organization": p.Family != catalog.FamilyDV, "dcv_method": len(p.DCVMethods) > 0,
				"cs_provisioning_method": p.Family == catalog.FamilyCodeSigning,
				"ship_info.addr1":        p.Family == catalog.FamilyCodeSigning, "csa_agreed_to": p.Family == catalog.FamilyX9,
				"key_usages": p.Family == catalog.FamilyX9, "extended_key_usages": p.Family == catalog.FamilyX9,
				"organization_contact.first_name": p.Family == catalog.FamilyX9, "technical_contact.first_name": p.Family == catalog.FamilyX9 || p.Family == catalog.FamilyDV,
				"server_platform": p.Family != catalog.FamilyClient, "dcv_emails": p.Family == catalog.FamilyDV && slices.Contains(p.DCVMethods, "email"),
			} {
				if has(name) != want {
					t.Errorf("input %s shown: %v, want %v", name, has(name), want)
				}
			}
			if ev := validation.EVApprovalType(p) != ""; contains(page.Body, `id="err-ev_approver"`) != ev {
				t.Errorf("approvers shown: %v, want %v", !ev, ev)
			}
			if got := selectOptions(page.Body, "signature_hash"); !slices.Equal(got, p.HashTypes) {
				t.Errorf("hashes %v, the catalogue's %v", got, p.HashTypes)
			}
			var years []string
			for _, y := range p.ValidityYears {
				years = append(years, strconv.Itoa(y))
			}
			if got := selectOptions(page.Body, "validity_years"); !slices.Equal(got, years) {
				t.Errorf("validities %v, the catalogue's %v", got, years)
			}
			if len(p.DCVMethods) > 0 {
				want := slices.Clone(p.DCVMethods)
				if !p.DCVRequired {
					want = append([]string{""}, want...) // the product's default
				}
				if got := selectOptions(page.Body, "dcv_method"); !slices.Equal(got, want) {
					t.Errorf("DCV methods %v, want %v", got, want)
				}
			}
			if p.Family == catalog.FamilyCodeSigning {
				if dflt := slices.Contains(selectOptions(page.Body, "cs_provisioning_method"), ""); dflt == (p.ValidationType == "ev_cs") {
					t.Errorf("provisioning offers the default: %v (EV code signing must name one)", dflt)
				}
			}
			if csrMark := contains(page.Body, `or paste the CSR (PEM) *`); csrMark != p.CSRRequired {
				t.Errorf("the CSR marked required: %v, the catalogue says %v", csrMark, p.CSRRequired)
			}

			// Sent empty: every error of the API's for an empty order is
			// shown under an input.
			status, _, raw := f.srv.Do("POST", "/services/v2/order/certificate/"+id, `{"certificate":{}}`)
			var api struct {
				Errors []struct{ Code, Message string }
			}
			if err := json.Unmarshal(raw, &api); err != nil || status != http.StatusBadRequest || len(api.Errors) == 0 {
				t.Fatalf("the API's answer to an empty order: %d %s", status, raw)
			}
			empty := post(t, b, path, path, url.Values{})
			requireStatus(t, empty, http.StatusBadRequest, "the form sent empty")
			under := fieldErrorsOf(empty.Body)
			delete(under, "(list)")
			for _, e := range api.Errors {
				input := ""
				for in, msg := range under {
					if strings.Contains(msg, e.Message) {
						input = in
					}
				}
				if input == "" {
					t.Errorf("the API's %s (%q) is under no input of the form", e.Code, e.Message)
					continue
				}
				if !contains(empty.Body, `aria-describedby="err-`+input+`"`) && !regexp.MustCompile(`aria-describedby="[^"]*\berr-`+regexp.QuoteMeta(input)+`\b`).MatchString(empty.Body) {
					t.Errorf("the error under %s belongs to no control", input)
				}
			}

			// The least the product needs, through the form and the API.
			form, body := minimum(p, csr)
			placedForm := post(t, b, path, path, form)
			if placedForm.Status != http.StatusSeeOther {
				t.Fatalf("the least the product needs, through the form: %d; errors: %v", placedForm.Status, fieldErrorsOf(placedForm.Body))
			}
			viaForm, err := f.srv.App.Store.Order(context.Background(), f.admin.Account.ID, mustID(t, placedForm.Header.Get("Location")))
			if err != nil {
				t.Fatal(err)
			}
			js, _ := json.Marshal(body)
			status, _, raw = f.srv.Do("POST", "/services/v2/order/certificate/"+id, string(js))
			if status != http.StatusCreated {
				t.Fatalf("the API refused the same order: %d %s", status, raw)
			}
			var placed struct{ ID int64 }
			if err := json.Unmarshal(raw, &placed); err != nil {
				t.Fatal(err)
			}
			viaAPI, err := f.srv.App.Store.Order(context.Background(), f.admin.Account.ID, placed.ID)
			if err != nil {
				t.Fatal(err)
			}
			got, want := comparable(t, viaForm), comparable(t, viaAPI)
			for k := range want {
				if g, w := mustJSON(t, got[k]), mustJSON(t, want[k]); g != w {
					t.Errorf("%s: the form's order has %s, the API's %s", k, g, w)
				}
			}
			if viaForm.CommonName != viaAPI.CommonName || !slices.Equal(viaForm.DNSNames, viaAPI.DNSNames) {
				t.Errorf("names: the form's %q %v, the API's %q %v", viaForm.CommonName, viaForm.DNSNames, viaAPI.CommonName, viaAPI.DNSNames)
			}
		})
	}
}

// fieldErrorsOf are the errors a page shows, by input.
func fieldErrorsOf(body string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`id="err-([^"]+)"><p class="field-error">([^<]+)</p>`).FindAllStringSubmatch(body, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	if m := regexp.MustCompile(`(?s)<div class="errors"[^>]*>(.*?)</div>`).FindStringSubmatch(body); m != nil {
		out["(list)"] = html.UnescapeString(m[1])
	}
	return out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOrderFormFamilyFields: the inputs only some products have reach the
// rules, and the rules' errors come back under them: X9's subscriber
// agreement and contacts (a user of the account, or a new contact), DV's
// technical contact, code signing's platform and shipping address, and the
// renewal inputs (auto_renew a count for code signing).
func TestOrderFormFamilyFields(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	b := f.signIn("admin")
	csr := testenv.CSR(t, testenv.RSAKey(t), "x")
	x9 := url.Values{"common_name": {"bank.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "validity_years": {"1"}, "csr": {csr},
		"csa_agreed_to": {"1"}}
	dv := url.Values{"common_name": {"dv.example.com"}, "signature_hash": {"sha256"}, "validity_years": {"1"}, "csr": {csr}, "dcv_method": {"dns-txt-token"}}
	cs := url.Values{"organization": {"1"}, "signature_hash": {"sha256"}, "validity_years": {"1"}, "cs_provisioning_method": {"ship_token"}}
	ship := with(cs, "ship_info.name", "Erin Guerra", "ship_info.addr1", "360 Taylor Street", "ship_info.city", "Richmond", "ship_info.state", "va",
		"ship_info.zip", "69662", "ship_info.country", "us", "ship_info.method", "EXPEDITED")
	before := f.orderCount()
	for _, tc := range []struct {
		name, product string
		form          url.Values
		want          []string
	}{
		{"X9 without the agreement", "x9_pki", with(x9, "csa_agreed_to", ""), []string{"csa_agreed_to"}},
		{"X9 with half a new contact", "x9_pki", with(x9, "technical_contact.first_name", "Jill"), []string{"technical_contact.last_name"}},
		{"X9 with a contact's bad address", "x9_pki", with(x9, "organization_contact.first_name", "Jill", "organization_contact.last_name", "V",
			"organization_contact.email", "not an address"), []string{"organization_contact.email"}},
		{"X9 naming a user who is not one", "x9_pki", with(x9, "organization_contact.user_id", "99999"), []string{"organization_contact.user_id"}},
		{"DV with a technical contact without a telephone", "ssl_dv_geotrust", with(dv, "technical_contact.first_name", "Tim",
			"technical_contact.last_name", "Tech", "technical_contact.email", "tim@example.com"), []string{"technical_contact.telephone"}},
		{"code signing installed by the client app without a platform", "code_signing", with(cs, "cs_provisioning_method", "client_app"), []string{"server_platform"}},
		{"EV code signing without a provisioning method", "code_signing_ev", with(ship, "cs_provisioning_method", ""), []string{"cs_provisioning_method", "server_platform"}},
		{"a shipping address without its city", "code_signing_ev", with(ship, "ship_info.city", ""), []string{"ship_info.city"}},
		{"a shipping method the API does not know", "code_signing", with(ship, "ship_info.method", "OVERNIGHT"), []string{"ship_info"}},
		{"an additional address that is none", "ssl_securesite", url.Values{"common_name": {"a.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"},
			"validity_years": {"1"}, "csr": {csr}, "additional_emails": {"ops@example.com\nnot-an-address"}}, []string{"additional_emails"}},
		{"a renewal of an order that does not exist", "ssl_securesite", url.Values{"common_name": {"a.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"},
			"validity_years": {"1"}, "csr": {csr}, "renewal_of_order_id": {"424242"}}, []string{"renewal_of_order_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := f.url("/console/products/" + tc.product)
			requireFieldErrors(t, post(t, b, path, path, tc.form), tc.want...)
		})
	}
	if n := f.orderCount(); n != before {
		t.Fatalf("refused forms placed %d orders", n-before)
	}

	o := f.placeOrder(b, "x9_pki", with(x9, "organization_contact.user_id", itoa(sam.ID), "technical_contact.first_name", "Jill",
		"technical_contact.last_name", "Valentine", "technical_contact.email", "jill@example.com", "technical_contact.telephone", "8017019600",
		"promo_code", "SPRING", "certificate_dcv_scope", "fqdn", "locale", "de", "auto_renew", "1", "custom_renewal_message", "Keep it renewed.",
		"additional_emails", "ops@example.com"))
	if c := o.Extra.OrganizationContact; c == nil || c.UserID != sam.ID {
		t.Errorf("organization contact %+v, want user %d", c, sam.ID)
	}
	if c := o.Extra.TechnicalContact; c == nil || c.Email != "jill@example.com" || c.Telephone != "8017019600" {
		t.Errorf("technical contact %+v", c)
	}
	if !o.Extra.CSAAgreedTo || o.Extra.PromoCode != "SPRING" || o.Extra.CertificateDCVScope != "fqdn" || o.Locale != "de" || o.AutoRenew != 1 ||
		o.CustomRenewalMessage != "Keep it renewed." || !slices.Equal(o.AdditionalEmails, []string{"ops@example.com"}) {
		t.Errorf("X9 order %+v", o)
	}
	o = f.placeOrder(b, "code_signing_ev", with(ship, "auto_renew", "2", "organization_units", "Release Engineering, EMEA\nBuild"))
	if si := o.Extra.ShipInfo; si == nil || si.City != "Richmond" || si.Method != "EXPEDITED" || o.Extra.CSProvisioningMethod != "ship_token" {
		t.Errorf("EV code signing shipping %+v, method %s", si, o.Extra.CSProvisioningMethod)
	}
	if o.AutoRenew != 2 || !slices.Equal(o.OrganizationUnits, []string{"Release Engineering, EMEA", "Build"}) {
		t.Errorf("EV code signing renewals %d, units %q", o.AutoRenew, o.OrganizationUnits)
	}
	o = f.placeOrder(b, "ssl_dv_geotrust", with(dv, "technical_contact.first_name", "Tim", "technical_contact.last_name", "Tech",
		"technical_contact.email", "tim@example.com", "technical_contact.telephone", "555 0100", "server_platform", "2"))
	if c := o.Extra.TechnicalContact; c == nil || c.Telephone != "555 0100" || o.ServerPlatformID != 2 {
		t.Errorf("DV technical contact %+v, platform %d", c, o.ServerPlatformID)
	}
}
