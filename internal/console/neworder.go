package console

import (
	"net/http"
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
// the inputs it takes, the choices it allows, what it requires.
type orderForm struct {
	Product       catalog.Product
	MultiName     bool
	Emails        bool
	CSRRequired   bool
	CodeSigning   bool
	Hashes        []string
	Years         []int
	Organizations []option
	NeedsOrg      bool
	DCVMethods    []string
	Containers    []option
	Platforms     []option
	CanSkip       bool
}

func (s *Server) orderForm(r *http.Request, v *visit) (*orderForm, error) {
	p, ok := s.Orders.Products().Orderable(r.PathValue("product"))
	if !ok {
		return nil, errs.NotFoundf("product", "There is no product %q to order.", r.PathValue("product"))
	}
	f := &orderForm{Product: p, MultiName: p.MaxNames > 2 || p.MultiDomain || p.Wildcards != catalog.WildcardNone,
		Emails: p.Family == catalog.FamilyClient, CSRRequired: p.CSRRequired, CodeSigning: p.Family == catalog.FamilyCodeSigning,
		Hashes: p.HashTypes, Years: p.ValidityYears, DCVMethods: p.DCVMethods, NeedsOrg: p.OrgValidation != "",
		CanSkip: account.CanSkipApproval(v.Actor)}
	ctx := r.Context()
	acct := v.Actor.Account.ID
	if f.NeedsOrg {
		orgs, _, err := s.Store.Organizations(ctx, acct, store.Page{Limit: 500})
		if err != nil {
			return nil, errs.Internalf(err, "list organizations")
		}
		for _, o := range orgs {
			if o.IsActive {
				f.Organizations = append(f.Organizations, option{strconv.FormatInt(o.ID, 10), o.Name})
			}
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

func (s *Server) newOrderPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, err := s.orderForm(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "neworder", f)
	return nil
}

// orderAliases send the rules' field names to the form's inputs.
var orderAliases = map[string]string{
	"order_validity": "validity_years", "order_validity.years": "validity_years", "certificate": "common_name",
	"server_platform.id": "server_platform", "organization.id": "organization",
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

// newOrder places the order through order.Service.CreateOrder, the API's
// POST /order/certificate/{product}: the form becomes the API's input, and
// the rules' errors come back by input.
func (s *Server) newOrder(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, err := s.orderForm(r, v)
	if err != nil {
		return err
	}
	csr, err := csrOf(r)
	if err != nil {
		return s.formFailure(w, r, v, "neworder", err, f, orderAliases)
	}
	in := &order.CreateInput{
		Certificate: &order.CertificateInput{CommonName: strings.TrimSpace(r.PostFormValue("common_name")), DNSNames: lines(r.PostFormValue("dns_names")),
			CSR: csr, SignatureHash: r.PostFormValue("signature_hash"), Emails: lines(r.PostFormValue("emails"))},
		Comments:             r.PostFormValue("comments"),
		DCVMethod:            r.PostFormValue("dcv_method"),
		CSProvisioningMethod: r.PostFormValue("cs_provisioning_method"),
		SkipApproval:         flex.Bool{V: r.PostFormValue("skip_approval") == "1", Set: r.PostFormValue("skip_approval") != ""},
	}
	if years := r.PostFormValue("validity_years"); years != "" {
		n, err := strconv.ParseInt(years, 10, 64)
		if err != nil {
			return s.formFailure(w, r, v, "neworder", errs.InvalidValue("validity_years", "Choose a validity."), f, orderAliases)
		}
		if f.Product.OrderValidity {
			in.OrderValidity = &order.ValidityInput{Years: flex.NewInt(n)}
		} else {
			in.ValidityYears = flex.NewInt(n)
		}
	}
	if id := formInt(r, "organization"); id > 0 {
		in.Organization = &validation.OrganizationInput{ID: flex.NewInt(id)}
	}
	if id := formInt(r, "container"); id > 0 {
		in.Container = &flex.IDInput{ID: flex.NewInt(id)}
	}
	if pl := r.PostFormValue("server_platform"); pl != "" {
		n, _ := strconv.ParseInt(pl, 10, 64)
		in.Certificate.ServerPlatform = &flex.IDInput{ID: flex.NewInt(n)}
	}
	res, err := s.Orders.CreateOrder(r.Context(), v.Actor, f.Product.NameID, in)
	if err != nil {
		return s.formFailure(w, r, v, "neworder", err, f, orderAliases)
	}
	return redirect(w, r, orderPath(res.OrderID), "placed")
}
