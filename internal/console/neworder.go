package console

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

type productGroup struct {
	Name     string
	Products []catalog.Product
}

var familyNames = map[catalog.Family]string{
	catalog.FamilyTLS: "TLS/SSL, organization validated", catalog.FamilyDV: "TLS/SSL, domain validated",
	catalog.FamilyCodeSigning: "Code signing", catalog.FamilyClient: "Client and S/MIME", catalog.FamilyX9: "X9 financial PKI",
}

// products lists every orderable product of the catalogue, by family.
func (s *Server) products(w http.ResponseWriter, r *http.Request, v *visit) error {
	var groups []productGroup
	for _, fam := range []catalog.Family{catalog.FamilyTLS, catalog.FamilyDV, catalog.FamilyCodeSigning, catalog.FamilyClient, catalog.FamilyX9} {
		g := productGroup{Name: familyNames[fam]}
		for _, p := range s.Orders.Products().All() {
			if p.Family == fam {
				g.Products = append(g.Products, p)
			}
		}
		if len(g.Products) > 0 {
			groups = append(groups, g)
		}
	}
	s.render(w, r, v, http.StatusOK, "products", groups)
	return nil
}

// orderForm is the form of one product, shaped by its catalogue entry:
// the inputs it takes, the choices it allows, what it requires. An input
// the product's rules do not read is not shown.
type orderForm struct {
	Product catalog.Product
	// CommonName: the product reads certificate.common_name (a code
	// signing certificate is named after its organization instead).
	CommonName  bool
	MultiName   bool
	Emails      bool
	CSRRequired bool
	CodeSigning bool
	Hashes      []string
	Years       []int
	// NeedsOrg: every product but DV names an organization.
	NeedsOrg      bool
	Organizations []option
	DCVMethods    []string
	// DCVEmails: DV orders choose the addresses of email validation
	// (dcv_emails).
	DCVEmails bool
	// IPs, KeyUsages, EKUs: X9 certificates carry IP addresses and the key
	// usages their subscriber picks.
	IPs       bool
	KeyUsages []string
	EKUs      []string
	Payments  []string
	// CardBilling: a card payment also names the cardholder and a billing
	// address, and may carry a VAT number (seed 004).
	CardBilling bool
	// EVType is the organization validation whose verified contacts
	// approve the order (ev, ev_cs), "" when none does; Approvers are
	// those contacts, by organization.
	EVType       string
	Approvers    []approverGroup
	CustomFields []customField
	Containers   []option
	Platforms    []option
	CanSkip      bool
}

type approverGroup struct {
	OrgID, Org string
	Contacts   []option
}

// customField is one of the account's custom order fields (metadata).
type customField struct {
	ID       int64
	Name     string // the input's name
	Label    string
	Required bool
	Type     string // the input's type
	Hint     string
}

func (s *Server) orderForm(r *http.Request, v *visit) (*orderForm, error) {
	p, ok := s.Orders.Products().Orderable(r.PathValue("product"))
	if !ok {
		return nil, errs.NotFoundf("product", "There is no product %q to order.", r.PathValue("product"))
	}
	f := &orderForm{Product: p, CommonName: p.Family != catalog.FamilyCodeSigning,
		MultiName: p.MaxNames > 2 || p.MultiDomain || p.Wildcards != catalog.WildcardNone,
		Emails:    p.Family == catalog.FamilyClient, CSRRequired: p.CSRRequired, CodeSigning: p.Family == catalog.FamilyCodeSigning,
		Hashes: p.HashTypes, Years: p.ValidityYears, DCVMethods: p.DCVMethods, NeedsOrg: p.Family != catalog.FamilyDV,
		DCVEmails: p.Family == catalog.FamilyDV && slices.Contains(p.DCVMethods, "email"),
		IPs:       p.IPAddresses, Payments: order.PaymentMethods, CardBilling: p.Family == catalog.FamilyX9,
		EVType: validation.EVApprovalType(p), CanSkip: account.CanSkipApproval(v.Actor)}
	if p.Family == catalog.FamilyX9 {
		f.KeyUsages, f.EKUs = order.X9KeyUsages, order.X9ExtendedKeyUsages
	}
	ctx := r.Context()
	acct := v.Actor.Account.ID
	if f.NeedsOrg {
		orgs, _, err := s.Store.Organizations(ctx, acct, store.Page{Limit: 500})
		if err != nil {
			return nil, errs.Internalf(err, "list organizations")
		}
		for _, o := range orgs {
			if !o.IsActive {
				continue
			}
			id := strconv.FormatInt(o.ID, 10)
			f.Organizations = append(f.Organizations, option{id, o.Name})
			if f.EVType != "" {
				if g := approversOf(&o, f.EVType); len(g.Contacts) > 0 {
					f.Approvers = append(f.Approvers, g)
				}
			}
		}
	}
	defs, err := s.Store.Metadata(ctx, acct)
	if err != nil {
		return nil, errs.Internalf(err, "list custom fields")
	}
	for _, d := range defs {
		if d.IsActive {
			f.CustomFields = append(f.CustomFields, customFieldOf(d))
		}
	}
	cs, err := s.Store.Containers(ctx, acct)
	if err != nil {
		return nil, errs.Internalf(err, "list containers")
	}
	for _, c := range cs {
		if c.IsActive {
			f.Containers = append(f.Containers, option{strconv.FormatInt(c.ID, 10), c.Name})
		}
	}
	for _, pl := range catalog.Platforms {
		f.Platforms = append(f.Platforms, option{strconv.Itoa(pl.ID), pl.Name})
	}
	return f, nil
}

// approversOf lists the verified contacts of o's validation of typ that
// may approve an order (one submitted while the validation was in force
// approves nothing until it is granted again).
func approversOf(o *store.Organization, typ string) approverGroup {
	g := approverGroup{OrgID: strconv.FormatInt(o.ID, 10), Org: o.Name}
	for _, ov := range o.Validations {
		if ov.Type != typ {
			continue
		}
		for _, c := range ov.VerifiedContacts {
			if c.Unverified || strings.TrimSpace(c.Email) == "" {
				continue
			}
			g.Contacts = append(g.Contacts, option{c.Email, strings.TrimSpace(c.FirstName + " " + c.LastName + " <" + c.Email + ">")})
		}
	}
	return g
}

func customFieldOf(d store.Metadata) customField {
	f := customField{ID: d.ID, Name: "custom_field_" + strconv.FormatInt(d.ID, 10), Label: d.Label, Required: d.IsRequired, Type: "text"}
	switch d.DataType {
	case "int":
		f.Hint = "A whole number."
	case "email_address":
		f.Type = "email"
	case "email_list":
		f.Hint = "Email addresses, separated by commas."
	}
	return f
}

func (s *Server) newOrderPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, err := s.orderForm(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "neworder", f)
	return nil
}

// orderAliases send the rules' field names to the form's inputs; a full
// name (billing_address.city) is looked up before its first part.
var orderAliases = map[string]string{
	"order_validity": "validity_years", "order_validity.years": "validity_years", "certificate": "common_name",
	"server_platform.id": "server_platform", "organization.id": "organization",
	"insufficient": "payment_method", "credit_card.cardholder_name": "cardholder_name",
	"billing_address": "billing_country", "billing_address.address": "billing_address", "billing_address.city": "billing_city",
	"billing_address.country": "billing_country",
}

// lines splits a text area into its non-empty lines (commas separate too).
func lines(v string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(v, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// orderInput turns the form into the API's order body. What the form
// alone finds wrong (a line of the IP addresses that is no address, a
// malformed email validation line) goes to bad; such an entry is left out
// of the body.
func orderInput(r *http.Request, f *orderForm, csr string, bad *errs.List) *order.CreateInput {
	p := f.Product
	in := &order.CreateInput{
		Certificate:          &order.CertificateInput{CSR: csr, SignatureHash: r.PostFormValue("signature_hash")},
		Comments:             r.PostFormValue("comments"),
		DCVMethod:            r.PostFormValue("dcv_method"),
		CSProvisioningMethod: r.PostFormValue("cs_provisioning_method"),
		SkipApproval:         flex.Bool{V: r.PostFormValue("skip_approval") == "1", Set: r.PostFormValue("skip_approval") != ""},
		PaymentMethod:        r.PostFormValue("payment_method"),
	}
	c := in.Certificate
	if f.CommonName {
		c.CommonName = strings.TrimSpace(r.PostFormValue("common_name"))
	}
	if f.MultiName {
		c.DNSNames = lines(r.PostFormValue("dns_names"))
	}
	if f.Emails {
		c.Emails = lines(r.PostFormValue("emails"))
	}
	if f.IPs {
		// The API takes IP addresses among dns_names (seed 004); the form
		// has an input of their own, so a DNS name typed there is refused
		// rather than certified as a name.
		for _, ip := range lines(r.PostFormValue("ip_addresses")) {
			if _, err := netip.ParseAddr(strings.Trim(ip, "[]")); err != nil {
				bad.Add(errs.InvalidValue("ip_addresses", "%q is not an IP address.", ip))
				continue
			}
			c.DNSNames = append(c.DNSNames, ip)
		}
	}
	if f.KeyUsages != nil {
		c.KeyUsages = r.PostForm["key_usages"]
		c.ExtendedKeyUsages = r.PostForm["extended_key_usages"]
	}
	if f.DCVEmails {
		for _, l := range strings.FieldsFunc(r.PostFormValue("dcv_emails"), func(r rune) bool { return r == '\n' || r == '\r' }) {
			parts := strings.Fields(l)
			switch len(parts) {
			case 0:
				continue
			case 2, 3:
				d := order.DCVEmailInput{DNSName: parts[0], EmailDomain: parts[1]}
				if len(parts) == 3 {
					d.Email = parts[2]
				}
				in.DCVEmails = append(in.DCVEmails, d)
			default:
				bad.Add(errs.InvalidValue("dcv_emails", "%q: each line is a name of the order, the domain whose addresses validate it, and optionally one address there.", strings.TrimSpace(l)))
			}
		}
	}
	if years := r.PostFormValue("validity_years"); years != "" {
		n, err := strconv.ParseInt(years, 10, 64)
		switch {
		case err != nil:
			bad.Add(errs.InvalidValue("validity_years", "Choose a validity."))
		case p.OrderValidity:
			in.OrderValidity = &order.ValidityInput{Years: flex.NewInt(n)}
		default:
			in.ValidityYears = flex.NewInt(n)
		}
	}
	if f.NeedsOrg {
		org := &validation.OrganizationInput{}
		if id := formInt(r, "organization"); id > 0 {
			org.ID = flex.NewInt(id)
		}
		if f.EVType != "" {
			for _, e := range r.PostForm["ev_approver"] {
				org.Contacts = append(org.Contacts, validation.OrgContactInput{ContactType: "ev_approver", ContactInput: validation.ContactInput{Email: e}})
			}
		}
		if org.ID.Set || len(org.Contacts) > 0 {
			in.Organization = org
		}
	}
	if id := formInt(r, "container"); id > 0 {
		in.Container = &flex.IDInput{ID: flex.NewInt(id)}
	}
	if f.CodeSigning {
		if pl := r.PostFormValue("server_platform"); pl != "" {
			n, _ := strconv.ParseInt(pl, 10, 64)
			c.ServerPlatform = &flex.IDInput{ID: flex.NewInt(n)}
		}
	}
	if strings.TrimSpace(in.PaymentMethod) == "card" {
		cc := &order.CreditCardInput{Number: r.PostFormValue("card_number"), CVV: flex.String{V: strings.TrimSpace(r.PostFormValue("card_cvv"))},
			CardholderName: r.PostFormValue("cardholder_name")}
		cc.ExpirationMonth, cc.ExpirationYear = formFlexInt(r, "card_month"), formFlexInt(r, "card_year")
		in.CreditCard = cc
		if f.CardBilling {
			in.BillingAddress = &order.BillingAddressInput{Address: r.PostFormValue("billing_address"), Address2: r.PostFormValue("billing_address2"),
				City: r.PostFormValue("billing_city"), State: r.PostFormValue("billing_state"), Zip: r.PostFormValue("billing_zip"),
				Country: r.PostFormValue("billing_country")}
		}
	}
	if f.CardBilling {
		in.VATNumber = r.PostFormValue("vat_number")
	}
	for _, cf := range f.CustomFields {
		if v := strings.TrimSpace(r.PostFormValue(cf.Name)); v != "" {
			in.CustomFields = append(in.CustomFields, order.CustomFieldInput{MetadataID: flex.NewInt(cf.ID), Value: flex.String{V: v}})
		}
	}
	return in
}

// formFlexInt is an integer input as the API's decoder would have it: set
// when sent, Bad when it is no integer.
func formFlexInt(r *http.Request, name string) flex.Int {
	v := strings.TrimSpace(r.PostFormValue(name))
	if v == "" {
		return flex.Int{}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return flex.Int{Set: true, Bad: true}
	}
	return flex.NewInt(n)
}

// newOrder places the order through order.Service.CreateOrder, the API's
// POST /order/certificate/{product}: the form becomes the API's input, and
// the rules' errors come back by input. When the form itself could not
// be read in full, the rules judge the rest (order.Service.CheckOrder)
// and nothing is placed.
func (s *Server) newOrder(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, err := s.orderForm(r, v)
	if err != nil {
		return err
	}
	csr, err := csrOf(r)
	if err != nil {
		return s.orderFormFailure(w, r, v, f, err)
	}
	var bad errs.List
	in := orderInput(r, f, csr, &bad)
	if bad.Err() != nil {
		bad.Add(s.Orders.CheckOrder(r.Context(), v.Actor, f.Product.NameID, in))
		return s.orderFormFailure(w, r, v, f, bad.Err())
	}
	res, err := s.Orders.CreateOrder(r.Context(), v.Actor, f.Product.NameID, in)
	if err != nil {
		return s.orderFormFailure(w, r, v, f, err)
	}
	return redirect(w, r, orderPath(res.OrderID), "placed")
}

// orderFormFailure shows the order form again with the errors by input.
// Some rules name a field that several inputs of the form feed: an error
// about an entry of the IP addresses input, about an approver, or about
// one custom field is moved under that input.
func (s *Server) orderFormFailure(w http.ResponseWriter, r *http.Request, v *visit, f *orderForm, err error) error {
	e := problem(err)
	if e.Kind != errs.Invalid && e.Kind != errs.Conflict {
		return err
	}
	ips := lines(r.PostFormValue("ip_addresses"))
	fields := fieldErrorsBy(e.Details, func(d errs.Detail) string {
		field := detailField(d, orderAliases)
		switch {
		case field == "dns_names" && f.IPs && slices.ContainsFunc(ips, func(ip string) bool { return strings.Contains(d.Message, strconv.Quote(ip)) }):
			return "ip_addresses"
		case field == "organization" && strings.Contains(d.Message, "ev_approver"):
			return "ev_approver"
		case field == "custom_fields":
			for _, cf := range f.CustomFields {
				if strings.Contains(d.Message, strconv.Quote(cf.Label)) || strings.Contains(d.Message, fmt.Sprintf("Custom field %d ", cf.ID)) {
					return cf.Name
				}
			}
		}
		return field
	})
	s.render(w, r, v, statusOf(e.Kind), "neworder", &view{D: f, Errors: e.Details, Fields: fields, Form: r.PostForm})
	return nil
}
