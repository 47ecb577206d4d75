package console_test

import (
	"context"
	"crypto/elliptic"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web/webtest"
)

// fieldError returns the error shown under input name, "" when none.
func fieldError(body, name string) string {
	m := regexp.MustCompile(`id="err-` + regexp.QuoteMeta(name) + `"><p class="field-error">([^<]+)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// requireFieldErrors fails unless every input of want shows an error and
// no other input does.
func requireFieldErrors(t *testing.T, p webtest.Page, want ...string) {
	t.Helper()
	if p.Status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400:\n%s", p.Status, clip(p.Body))
	}
	got := map[string]bool{}
	for _, m := range regexp.MustCompile(`id="err-([a-z0-9_.]+)"><p class="field-error">`).FindAllStringSubmatch(p.Body, -1) {
		got[m[1]] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("no error under %s", w)
		}
		delete(got, w)
	}
	for g := range got {
		t.Errorf("an error under %s too: %s", g, fieldError(p.Body, g))
	}
	if t.Failed() {
		t.Logf("the page:\n%s", clip(p.Body))
	}
}

// orderCount is how many orders the account has.
func (f *fixture) orderCount() int {
	f.t.Helper()
	_, n, err := f.srv.App.Store.Orders(context.Background(), f.admin.Account.ID, store.OrderFilter{}, store.Page{Limit: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// placeOrder posts the order form of product and returns the placed
// order, failing unless it was placed.
func (f *fixture) placeOrder(b *webtest.Browser, product string, form url.Values) *store.Order {
	f.t.Helper()
	path := f.url("/console/products/" + product)
	p := post(f.t, b, path, path, form)
	requireStatus(f.t, p, http.StatusSeeOther, "place a "+product+" order")
	o, err := f.srv.App.Store.Order(context.Background(), f.admin.Account.ID, mustID(f.t, p.Header.Get("Location")))
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

// with is a copy of base with the values kv gives (name, value, ...): a
// name given replaces base's values of it, a name given twice has both.
func with(base url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range base {
		out[k] = slices.Clone(v)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Del(kv[i])
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Add(kv[i], kv[i+1])
	}
	return out
}

// TestOrderFormFollowsProduct: each product's form shows the inputs its
// rules read and none other: IP addresses and key usages for X9, email
// validation scopes for DV, approvers for EV, a billing address for an X9
// card payment, the account's custom fields everywhere.
func TestOrderFormFollowsProduct(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	if _, err := f.srv.App.Console.Accounts.CreateMetadata(ctx, f.admin, "Cost center", "int", true, true); err != nil {
		t.Fatal(err)
	}
	b := f.signIn("admin")
	all := []string{"common_name", "dns_names", "ip_addresses", "key_usages", "extended_key_usages", "emails", "organization", "ev_approver",
		"dcv_method", "dcv_emails", "cs_provisioning_method", "server_platform", "payment_method", "card_number", "cardholder_name",
		"billing_address", "billing_country", "vat_number", "custom_field_1", "csr", "signature_hash"}
	common := []string{"payment_method", "card_number", "cardholder_name", "custom_field_1", "csr", "signature_hash"}
	for _, tc := range []struct {
		product string
		want    []string
	}{
		{"ssl_securesite", []string{"common_name", "organization", "dcv_method"}},
		{"ssl_securesite_multi_domain", []string{"common_name", "dns_names", "organization", "dcv_method"}},
		{"ssl_ev_securesite", []string{"common_name", "organization", "ev_approver", "dcv_method"}},
		{"ssl_dv_geotrust", []string{"common_name", "dns_names", "dcv_method", "dcv_emails"}},
		{"x9_pki", []string{"common_name", "dns_names", "ip_addresses", "key_usages", "extended_key_usages", "organization", "dcv_method",
			"billing_address", "billing_country", "vat_number"}},
		{"code_signing", []string{"organization", "cs_provisioning_method", "server_platform"}},
		{"code_signing_ev", []string{"organization", "ev_approver", "cs_provisioning_method", "server_platform"}},
		{"client_premium", []string{"common_name", "emails", "organization"}},
		{"class1_smime", []string{"common_name", "emails", "organization"}},
	} {
		p := b.Get(f.url("/console/products/" + tc.product))
		requireStatus(t, p, http.StatusOK, tc.product)
		want := append(slices.Clone(common), tc.want...)
		for _, name := range all {
			has := contains(p.Body, `name="`+name+`"`) || name == "ev_approver" && contains(p.Body, `id="err-ev_approver"`)
			if has != slices.Contains(want, name) {
				t.Errorf("%s: input %s shown = %v", tc.product, name, has)
			}
		}
	}
	// Checked by default: what the rules take when none is given.
	p := b.Get(f.url("/console/products/x9_pki"))
	for _, box := range []string{`id="ku-digital_signature" name="key_usages" value="digital_signature" checked`,
		`id="eku-server_authentication" name="extended_key_usages" value="server_authentication" checked`,
		`id="eku-client_authentication" name="extended_key_usages" value="client_authentication" checked`} {
		if !contains(p.Body, box) {
			t.Errorf("the X9 form lacks %s", box)
		}
	}
	if contains(p.Body, `value="key_agreement_encipherment" checked`) {
		t.Error("key_agreement_encipherment is ticked on a new form")
	}
}

// TestOrderFormX9: the X9 form's IP addresses and key usages reach the
// rules; what the form cannot read and what the rules refuse come back
// together, each under its input, and nothing is placed; a good order is
// placed with its usages.
func TestOrderFormX9(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	f.user("sam", store.RoleStandardUser, 0, "Sam")
	b := f.signIn("sam")
	form := url.Values{"common_name": {"bank.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "validity_years": {"1"}}
	path := f.url("/console/products/x9_pki")
	before := f.orderCount()
	for _, tc := range []struct {
		name string
		form url.Values
		want []string
	}{
		{"an entry that is no IP address, and no CSR", with(form, "ip_addresses", "93.184.216.34\nbank.example.org"), []string{"ip_addresses", "csr"}},
		{"a private address", with(form, "ip_addresses", "10.0.0.1", "csr", testenv.CSR(t, testenv.RSAKey(t), "x")), []string{"ip_addresses"}},
		{"a bad name and a bad address", with(form, "dns_names", "bad..name", "ip_addresses", "127.0.0.1", "csr", testenv.CSR(t, testenv.RSAKey(t), "x")),
			[]string{"dns_names", "ip_addresses"}},
		{"a key usage the product does not know", with(form, "key_usages", "cert_sign", "extended_key_usages", "code_signing", "csr", testenv.CSR(t, testenv.RSAKey(t), "x")),
			[]string{"key_usages", "extended_key_usages"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			requireFieldErrors(t, post(t, b, path, path, tc.form), tc.want...)
		})
	}
	if n := f.orderCount(); n != before {
		t.Fatalf("refused forms placed %d orders", n-before)
	}
	key := testenv.ECKey(t, elliptic.P256())
	o := f.placeOrder(b, "x9_pki", with(form, "dns_names", "www.bank.example.com", "ip_addresses", "93.184.216.34\n2606:4700:4700::1111",
		"key_usages", "digital_signature", "key_usages", "key_agreement_encipherment", "extended_key_usages", "server_authentication",
		"csr", testenv.CSR(t, key, "ignored")))
	if !slices.Equal(o.IPAddresses, []string{"93.184.216.34", "2606:4700:4700::1111"}) || !slices.Equal(o.DNSNames, []string{"bank.example.com", "www.bank.example.com"}) {
		t.Errorf("names %v, addresses %v", o.DNSNames, o.IPAddresses)
	}
	if !slices.Equal(o.Extra.KeyUsages, []string{"digital_signature", "key_agreement_encipherment"}) || !slices.Equal(o.Extra.ExtendedKeyUsages, []string{"server_authentication"}) {
		t.Errorf("usages %v, extended %v", o.Extra.KeyUsages, o.Extra.ExtendedKeyUsages)
	}
	// The certificate carries them once the order is approved.
	admin := f.signIn("admin")
	approveFirstRequest(t, f, admin, o.ID)
	o = f.waitStatus(o.ID, store.OrderIssued)
	c, err := f.srv.App.Store.Certificate(context.Background(), f.admin.Account.ID, o.CertificateID)
	if err != nil {
		t.Fatal(err)
	}
	requireX9Cert(t, c.DER)
}

// requireX9Cert checks the certificate the X9 tests order: lint clean,
// its two addresses, keyAgreement beside digitalSignature, serverAuth only.
func requireX9Cert(t *testing.T, der []byte) {
	t.Helper()
	testenv.RequireLintClean(t, der)
	x, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, ip := range x.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"93.184.216.34", "2606:4700:4700::1111"}) || !x.IPAddresses[0].Equal(net.ParseIP("93.184.216.34")) {
		t.Errorf("certificate addresses %v", ips)
	}
	if x.KeyUsage != x509.KeyUsageDigitalSignature|x509.KeyUsageKeyAgreement || !slices.Equal(x.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("certificate key usage %b, extended %v", x.KeyUsage, x.ExtKeyUsage)
	}
}

// TestOrderFormPayment: a card payment reaches the rules with its fields
// (X9 adds the cardholder and billing address), refusals show under the
// card's inputs, the number is never shown back, and only its last four
// digits are kept; an account whose balance cannot pay is told under the
// payment input.
func TestOrderFormPayment(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	csr := testenv.CSR(t, testenv.RSAKey(t), "x")
	year := strconv.Itoa(time.Now().Year() + 2)
	x9 := url.Values{"common_name": {"pay.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "csr": {csr}, "validity_years": {"1"}, "payment_method": {"card"}}
	card := with(x9, "card_number", "4111 1111 1111 1111", "card_month", "12", "card_year", year, "card_cvv", "123")
	billing := with(card, "cardholder_name", "Pat Payer", "billing_address", "1 Main St", "billing_city", "Lehi", "billing_country", "us")
	path := f.url("/console/products/x9_pki")
	for _, tc := range []struct {
		name string
		form url.Values
		want []string
	}{
		{"a number that fails its check digit", with(x9, "card_number", "4111111111111112", "card_month", "12", "card_year", year), []string{"credit_card"}},
		{"an expired card", with(x9, "card_number", "4111111111111111", "card_month", "1", "card_year", "2001"), []string{"credit_card"}},
		{"X9 without the cardholder", card, []string{"cardholder_name"}},
		{"X9 without a billing city", with(card, "cardholder_name", "Pat Payer", "billing_address", "1 Main St", "billing_country", "us"), []string{"billing_city"}},
		{"X9 with a country that is no code", with(card, "cardholder_name", "Pat Payer", "billing_address", "1 Main St", "billing_city", "Lehi", "billing_country", "USA"), []string{"billing_country"}},
		{"a payment method the API does not take", with(url.Values{"common_name": {"pay.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "csr": {csr}, "validity_years": {"1"}}, "payment_method", "cash"), []string{"payment_method"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := post(t, b, path, path, tc.form)
			requireFieldErrors(t, p, tc.want...)
			if contains(p.Body, "4111") {
				t.Error("the card number is shown back")
			}
		})
	}
	o := f.placeOrder(b, "x9_pki", billing)
	if o.PaymentMethod != "card" || o.CardLast4 != "1111" || o.Extra.CardholderName != "Pat Payer" || o.Extra.BillingAddress == nil || o.Extra.BillingAddress.City != "Lehi" {
		t.Errorf("order paid by %s, card %q, holder %q, billing %+v", o.PaymentMethod, o.CardLast4, o.Extra.CardholderName, o.Extra.BillingAddress)
	}
	// Other products take a card without the X9 extras.
	o = f.placeOrder(b, "ssl_securesite", url.Values{"common_name": {"card.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "csr": {csr},
		"validity_years": {"1"}, "payment_method": {"card"}, "card_number": {"4111111111111111"}, "card_month": {"12"}, "card_year": {year}})
	if o.PaymentMethod != "card" || o.CardLast4 != "1111" || o.Extra.BillingAddress != nil {
		t.Errorf("Secure Site order paid by %s, card %q, billing %+v", o.PaymentMethod, o.CardLast4, o.Extra.BillingAddress)
	}

	poor := start(t, testenv.Options{Sandbox: true, InitialBalanceCents: 100})
	pb := poor.signIn("admin")
	path = poor.url("/console/products/ssl_securesite")
	p := post(t, pb, path, path, url.Values{"common_name": {"poor.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "csr": {csr}, "validity_years": {"1"}})
	requireFieldErrors(t, p, "payment_method")
}

// TestOrderFormCustomFields: the account's custom fields are inputs of
// every order form; a required one left out, or a value of the wrong
// type, is refused under its own input, and the values are kept with
// the order.
func TestOrderFormCustomFields(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	cost, err := f.srv.App.Console.Accounts.CreateMetadata(ctx, f.admin, "Cost center", "int", true, true)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := f.srv.App.Console.Accounts.CreateMetadata(ctx, f.admin, "Owner", "email_address", false, true)
	if err != nil {
		t.Fatal(err)
	}
	f.user("lim", store.RoleLimitedUser, 0, "Lim")
	b := f.signIn("lim")
	costIn, ownerIn := "custom_field_"+itoa(cost), "custom_field_"+itoa(owner)
	form := url.Values{"common_name": {"fields.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "validity_years": {"1"},
		"csr": {testenv.CSR(t, testenv.RSAKey(t), "x")}}
	path := f.url("/console/products/ssl_securesite")
	if p := b.Get(path); !contains(p.Body, "Cost center *") || contains(p.Body, "Owner *") {
		t.Errorf("the form does not mark the required field alone:\n%s", clip(p.Body))
	}
	for _, tc := range []struct {
		name string
		form url.Values
		want []string
	}{
		{"the required field left out", form, []string{costIn}},
		{"values of the wrong type", with(form, costIn, "ten", ownerIn, "not an address"), []string{costIn, ownerIn}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := post(t, b, path, path, tc.form)
			requireFieldErrors(t, p, tc.want...)
			if !contains(fieldError(p.Body, costIn), "Cost center") {
				t.Errorf("the error under the field does not name it: %q", fieldError(p.Body, costIn))
			}
		})
	}
	o := f.placeOrder(b, "ssl_securesite", with(form, costIn, "42", ownerIn, "owner@example.com"))
	if !slices.Equal(o.CustomFields, []store.CustomField{{MetadataID: cost, Value: "42"}, {MetadataID: owner, Value: "owner@example.com"}}) {
		t.Errorf("custom fields kept: %+v", o.CustomFields)
	}
}

// TestOrderFormEVApprovers: an EV order's form offers the verified
// contacts of the organizations' EV validations; the one ticked is the
// order's approver, and an address that is no verified contact (a forged
// form) is refused under the approvers.
func TestOrderFormEVApprovers(t *testing.T) {
	t.Parallel()
	// Outside the sandbox, which takes any approver as given.
	f := start(t, testenv.Options{})
	ctx := context.Background()
	err := f.srv.App.Validation.SubmitOrgValidation(ctx, f.admin, 1, &validation.OrgValidationsInput{Validations: []validation.OrgValidationInput{{Type: "ev",
		VerifiedUsers: []validation.VerifiedUserInput{{ContactInput: validation.ContactInput{FirstName: "Vera", LastName: "Fied", Email: "vera@example.com"}},
			{ID: flex.NewInt(f.admin.User.ID)}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.App.Validation.GrantOrgValidation(ctx, f.admin, 1, "ev", time.Time{}); err != nil {
		t.Fatal(err)
	}
	b := f.signIn("admin")
	path := f.url("/console/products/ssl_ev_securesite")
	p := b.Get(path)
	for _, want := range []string{`name="ev_approver" value="vera@example.com"`, `name="ev_approver" value="admin@example.com"`, "Vera Fied"} {
		if !contains(p.Body, want) {
			t.Errorf("the EV form lacks %s", want)
		}
	}
	form := url.Values{"common_name": {"ev.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "validity_years": {"1"},
		"csr": {testenv.CSR(t, testenv.RSAKey(t), "x")}}
	requireFieldErrors(t, post(t, b, path, path, with(form, "ev_approver", "mallory@example.com")), "ev_approver")
	o := f.placeOrder(b, "ssl_ev_securesite", with(form, "ev_approver", "vera@example.com"))
	if !slices.Equal(o.Extra.EVApprovers, []string{"vera@example.com"}) {
		t.Errorf("approvers %v", o.Extra.EVApprovers)
	}
}

// TestOrderFormDCVEmails: a DV order's email validation scopes, one a
// line; a line the form cannot read and a scope the rules refuse show
// under the input, and good ones are kept with the order.
func TestOrderFormDCVEmails(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	b := f.signIn("admin")
	form := url.Values{"common_name": {"shop.example.com"}, "dns_names": {"www.shop.example.com"}, "dcv_method": {"email"}, "validity_years": {"1"},
		"csr": {testenv.CSR(t, testenv.RSAKey(t), "x")}}
	path := f.url("/console/products/ssl_dv_geotrust")
	requireFieldErrors(t, post(t, b, path, path, with(form, "dcv_emails", "shop.example.com")), "dcv_emails")
	requireFieldErrors(t, post(t, b, path, path, with(form, "dcv_emails", "other.example.org example.org")), "dcv_emails")
	requireFieldErrors(t, post(t, b, path, path, with(form, "dcv_emails", "shop.example.com example.com admin@example.org")), "dcv_emails")
	o := f.placeOrder(b, "ssl_dv_geotrust", with(form, "dcv_emails", "shop.example.com example.com admin@example.com\n\nwww.shop.example.com shop.example.com"))
	want := []store.DCVEmailScope{{DNSName: "shop.example.com", EmailDomain: "example.com", Email: "admin@example.com"},
		{DNSName: "www.shop.example.com", EmailDomain: "shop.example.com"}}
	if !slices.Equal(o.Extra.DCVEmails, want) {
		t.Errorf("dcv_emails kept: %+v", o.Extra.DCVEmails)
	}
}

// TestOrderFormContainers: a limited user's form offers only the
// containers they see, and naming another is refused under its input.
func TestOrderFormContainers(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	east, west := f.container("East"), f.container("West")
	f.container("East") // a sibling of the same name, in no way theirs
	sub, err := f.srv.App.Console.Accounts.CreateContainer(context.Background(), f.admin, east, "parent", &account.ContainerInput{Name: "East Sub"})
	if err != nil {
		t.Fatal(err)
	}
	f.user("lim", store.RoleLimitedUser, east, "Lim")
	b := f.signIn("lim")
	path := f.url("/console/products/ssl_securesite")
	p := b.Get(path)
	if !contains(p.Body, `<option value="`+itoa(sub.ID)+`"`) || contains(p.Body, `<option value="`+itoa(west)+`"`) {
		t.Errorf("the container choice:\n%s", clip(p.Body))
	}
	form := url.Values{"common_name": {"lim.example.com"}, "organization": {"1"}, "signature_hash": {"sha256"}, "validity_years": {"1"},
		"csr": {testenv.CSR(t, testenv.RSAKey(t), "x")}}
	requireFieldErrors(t, post(t, b, path, path, with(form, "container", itoa(west))), "container")
	if o := f.placeOrder(b, "ssl_securesite", with(form, "container", itoa(sub.ID))); o.ContainerID != sub.ID {
		t.Errorf("placed in container %d", o.ContainerID)
	}
}
