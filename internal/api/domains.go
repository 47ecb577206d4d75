package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
	"github.com/certorder/certorder/internal/validation"
)

// domainOrgView is the organization nested in a domain. is_active is the
// string "1" there (spec §6.10, §6.11), unlike organization info.
type domainOrgView struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Name        string `json:"name"`
	AssumedName string `json:"assumed_name,omitempty"`
	DisplayName string `json:"display_name"`
	IsActive    string `json:"is_active"`
}

type domainValidationView struct {
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	DateCreated    string `json:"date_created,omitempty"`
	ValidatedUntil string `json:"validated_until,omitempty"`
	Status         string `json:"status"`     // active, pending, expired
	DCVStatus      string `json:"dcv_status"` // complete, pending
}

type domainView struct {
	ID                    int64                  `json:"id"`
	IsActive              bool                   `json:"is_active"`
	Status                string                 `json:"status"` // deprecated in CertCentral; active or pending
	IsPendingValidation   bool                   `json:"is_pending_validation"`
	Name                  string                 `json:"name"`
	DateCreated           string                 `json:"date_created"`
	LastSubmittedDatetime string                 `json:"last_submitted_datetime,omitempty"`
	DCVApprovalDatetime   string                 `json:"dcv_approval_datetime,omitempty"`
	DCVExpirationDatetime string                 `json:"dcv_expiration_datetime,omitempty"`
	DCVExpiration         map[string]string      `json:"dcv_expiration,omitempty"` // {ov, ev}: when reuse ends
	Organization          *domainOrgView         `json:"organization,omitempty"`
	Validations           []domainValidationView `json:"validations"`
	DCVMethod             string                 `json:"dcv_method"`
	DCVValidatedMethod    string                 `json:"dcv_validated_method,omitempty"` // ours: the method the current validation was done by
	DCVToken              *dcvTokenView          `json:"dcv_token,omitempty"`
	Container             *containerShortView    `json:"container,omitempty"`
}

// validationEmailsView is what an email-method submission answers.
type validationEmailsView struct {
	NameScope   string   `json:"name_scope"`
	BaseEmails  []string `json:"base_emails"`
	WhoisEmails []string `json:"whois_emails"`
	EmailArray  []string `json:"email_array,omitempty"`
}

// domainEmailsView: GET /domain/{id}/dcv/emails (spec §6.14).
type domainEmailsView struct {
	NameScope    string   `json:"name_scope"`
	BaseEmails   []string `json:"base_emails"`
	WhoisEmails  []string `json:"whois_emails"`
	DNSTXTEmails []string `json:"dns_txt_emails"`
}

// submissionView is the 201 of POST /domain and POST
// /domain/{id}/validation: validation_emails or dcv_token by method.
type submissionView struct {
	ID               int64                 `json:"id,omitempty"`
	ValidationEmails *validationEmailsView `json:"validation_emails,omitempty"`
	DCVToken         *dcvTokenView         `json:"dcv_token,omitempty"`
}

func (s *Server) dcvValid(d *store.Domain) bool { return validation.DCVValid(d, s.Now()) }

func (s *Server) tokenView(d *store.Domain) *dcvTokenView {
	if d.DCVToken == "" {
		return nil
	}
	v := &dcvTokenView{Token: d.DCVToken, Status: "pending", ExpirationDate: stamp(d.DCVTokenExpires)}
	if s.dcvValid(d) && d.DCVValidatedMethod == d.DCVMethod {
		v.Status = "active"
	}
	switch d.DCVMethod {
	case "dns-cname-token":
		v.VerificationValue = s.Validation.CNAMETarget()
	case "http-token":
		v.HTTPTokenURL = dcv.HTTPTokenURL(d.Name)
	}
	return v
}

func (s *Server) submission(d *store.Domain, withID bool) submissionView {
	v := submissionView{}
	if withID {
		v.ID = d.ID
	}
	if d.DCVMethod == "email" {
		v.ValidationEmails = &validationEmailsView{NameScope: d.Name, BaseEmails: validation.ConstructedEmails(d.Name), WhoisEmails: []string{}, EmailArray: d.EmailArray}
	} else {
		v.DCVToken = s.tokenView(d)
	}
	return v
}

func (s *Server) domainView(r *http.Request, vc *viewCache, d *store.Domain, full bool) domainView {
	valid := s.dcvValid(d)
	v := domainView{ID: d.ID, IsActive: d.IsActive, Status: "pending", IsPendingValidation: !valid, Name: d.Name,
		DateCreated: stamp(d.CreatedAt), Validations: []domainValidationView{}, DCVMethod: d.DCVMethod}
	if valid {
		v.Status = "active"
	}
	if !d.LastSubmittedAt.IsZero() {
		v.LastSubmittedDatetime = stamp(d.LastSubmittedAt)
	}
	if d.DCVStatus == store.DCVComplete {
		v.DCVApprovalDatetime = stamp(d.DCVApprovedAt)
		v.DCVExpirationDatetime = stamp(d.DCVExpiresAt)
		v.DCVValidatedMethod = d.DCVValidatedMethod
	}
	for _, typ := range d.ValidationTypes {
		n := validationNames[typ]
		dv := domainValidationView{Type: typ, Name: n[0], Description: n[1], Status: "pending", DCVStatus: "pending"}
		if !d.LastSubmittedAt.IsZero() {
			dv.DateCreated = stamp(d.LastSubmittedAt)
		}
		if d.DCVStatus == store.DCVComplete {
			dv.ValidatedUntil = stamp(d.DCVExpiresAt)
			dv.Status = "expired"
			if valid {
				dv.Status, dv.DCVStatus = "active", "complete"
			}
			if v.DCVExpiration == nil {
				v.DCVExpiration = map[string]string{}
			}
			v.DCVExpiration[typ] = stamp(d.DCVExpiresAt)
		}
		v.Validations = append(v.Validations, dv)
	}
	if o := vc.org(r.Context(), d.OrganizationID); o != nil {
		active := "0"
		if o.IsActive {
			active = "1"
		}
		st := "active"
		if !o.IsActive {
			st = "inactive"
		}
		v.Organization = &domainOrgView{ID: o.ID, Status: st, Name: o.Name, AssumedName: o.AssumedName, DisplayName: displayName(o), IsActive: active}
	}
	if d.ContainerID != 0 {
		c := containerShort(vc.container(r.Context(), d.ContainerID), d.ContainerID)
		v.Container = &c
	}
	if full {
		v.DCVToken = s.tokenView(d)
	}
	return v
}

func (s *Server) readDomain(r *http.Request, a account.Actor) (*store.Domain, error) {
	id, err := pathID(r, "id", "domain")
	if err != nil {
		return nil, err
	}
	d, err := s.Store.Domain(r.Context(), a.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("domain", "Domain %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read domain %d", id)
	}
	return d, nil
}

// addDomain: POST /domain → 201 {id, validation_emails | dcv_token}.
func (s *Server) addDomain(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in validation.DomainInput
	if err := decode(r, &in); err != nil {
		return err
	}
	d, err := s.Validation.AddDomain(r.Context(), a, &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.submission(d, true))
	return nil
}

// listDomains: GET /domain (spec §6.10). container_id (a query parameter,
// as the old CertCentral SDK sends it, or filters[container_id]) lists the
// domains of that container: those of its organizations.
func (s *Server) listDomains(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	q := r.URL.Query()
	lp, err := listq.Parse(q, sqldb.DomainSortKeys)
	if err != nil {
		return err
	}
	var f store.DomainFilter
	var list errs.List
	if v := q.Get("container_id"); v != "" {
		lp.Filters["container_id"] = v
	}
	for k, v := range lp.Filters {
		switch k {
		case "search", "name":
			f.Search, f.SearchContains = listq.Search(v)
		case "organization_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				list.Add(errs.InvalidValue("filters[organization_id]", "filters[organization_id] must be an integer."))
				continue
			}
			f.OrganizationID = n
		case "container_id":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				list.Add(errs.InvalidValue("container_id", "container_id must be a positive integer."))
				continue
			}
			f.ContainerID = n
		}
	}
	if err := list.Err(); err != nil {
		return err
	}
	doms, total, err := s.Store.Domains(r.Context(), a.Account.ID, f, lp.Page)
	if err != nil {
		return errs.Internalf(err, "list domains")
	}
	vc := s.newViewCache(a.Account.ID)
	out := make([]domainView, 0, len(doms))
	for i := range doms {
		out = append(out, s.domainView(r, vc, &doms[i], false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": out, "page": pageView{Total: total, Limit: lp.Page.Limit, Offset: lp.Page.Offset}})
	return nil
}

// domainInfo: GET /domain/{id} (spec §6.11).
func (s *Server) domainInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	d, err := s.readDomain(r, a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.domainView(r, s.newViewCache(a.Account.ID), d, true))
	return nil
}

// submitDomainValidation: POST /domain/{id}/validation → 201
// {validation_emails | dcv_token} (spec §6.12).
func (s *Server) submitDomainValidation(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "domain")
	if err != nil {
		return err
	}
	var in validation.DomainSubmitInput
	if err := decode(r, &in); err != nil {
		return err
	}
	d, err := s.Validation.SubmitDomainValidation(r.Context(), a, id, &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, s.submission(d, false))
	return nil
}

type tokenAnswer struct {
	Token             string `json:"token"`
	Status            string `json:"status,omitempty"`
	ExpirationDate    string `json:"expiration_date,omitempty"`
	VerificationValue string `json:"verification_value,omitempty"`
	HTTPTokenURL      string `json:"http_token_url,omitempty"`
}

// newDomainToken: POST /domain/{id}/dcv/token → 201 (spec §6.13).
func (s *Server) newDomainToken(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "domain")
	if err != nil {
		return err
	}
	d, err := s.Validation.NewDomainToken(r.Context(), a, id)
	if err != nil {
		return err
	}
	t := s.tokenView(d)
	writeJSON(w, http.StatusCreated, tokenAnswer{Token: t.Token, ExpirationDate: t.ExpirationDate,
		VerificationValue: t.VerificationValue, HTTPTokenURL: t.HTTPTokenURL})
	return nil
}

// checkDomainToken: PUT /domain/{id}/dcv/validate-token → 200 {token,
// status} (spec §6.13).
func (s *Server) checkDomainToken(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "domain")
	if err != nil {
		return err
	}
	d, err := s.Validation.CheckDomainToken(r.Context(), a, id)
	if err != nil {
		return err
	}
	t := s.tokenView(d)
	if t == nil {
		t = &dcvTokenView{Status: "pending"}
	}
	writeJSON(w, http.StatusOK, tokenAnswer{Token: t.Token, Status: t.Status})
	return nil
}

type dcvMethodInput struct {
	DCVMethod string `json:"dcv_method"`
}

// changeDomainDCVMethod: PUT /domain/{id}/dcv/method → 200 (spec §6.13).
func (s *Server) changeDomainDCVMethod(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "domain")
	if err != nil {
		return err
	}
	var in dcvMethodInput
	if err := decode(r, &in); err != nil {
		return err
	}
	d, err := s.Validation.ChangeDomainDCVMethod(r.Context(), a, id, in.DCVMethod)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.submission(d, false))
	return nil
}

// domainEmails: GET /domain/{id or name}/dcv/emails (spec §6.14).
func (s *Server) domainEmails(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	raw := strings.TrimSpace(r.PathValue("id"))
	var d *store.Domain
	var err error
	if n, perr := strconv.ParseInt(raw, 10, 64); perr == nil {
		d, err = s.Store.Domain(r.Context(), a.Account.ID, n)
	} else {
		d, err = s.Store.DomainByName(r.Context(), a.Account.ID, raw)
	}
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("domain", "Domain %q was not found.", raw)
	}
	if err != nil {
		return errs.Internalf(err, "read domain %q", raw)
	}
	_, txt := s.Validation.DCVEmailAddresses(r.Context(), d.Name)
	if txt == nil {
		txt = []string{}
	}
	writeJSON(w, http.StatusOK, domainEmailsView{NameScope: d.Name, BaseEmails: validation.ConstructedEmails(d.Name), WhoisEmails: []string{}, DNSTXTEmails: txt})
	return nil
}

// resendDomainEmails: PUT /domain/{id}/dcv/emails → 204 (spec §6.14):
// the domain's validation emails go out again, to email_array when given.
func (s *Server) resendDomainEmails(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	d, err := s.readDomain(r, a)
	if err != nil {
		return err
	}
	var in struct {
		Locale     string   `json:"locale"`
		EmailArray []string `json:"email_array"`
	}
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	var only []validation.EmailRecipient
	for _, e := range in.EmailArray {
		only = append(only, validation.EmailRecipient{Domain: d.Name, Email: e})
	}
	if err := s.Validation.ResendDomainEmails(r.Context(), a, d, only); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// grantDomainValidation: PUT /domain/{id}/dcv/approve → 204. certorder's
// own call (CertCentral has none): an administrator declares DCV of the
// domain passed. Body (optional): {"dcv_method": "dns-txt-token"}.
func (s *Server) grantDomainValidation(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "domain")
	if err != nil {
		return err
	}
	in, err := readGrant(r)
	if err != nil {
		return err
	}
	if _, err := s.Validation.GrantDomainValidation(r.Context(), a, id, "", in.DCVMethod); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// orderValidationView is GET /order/certificate/{id}/validation (spec §2.6).
type orderValidationView struct {
	OrderID                 string                   `json:"order_id"` // a string here, as the spec shows
	OrderStatus             string                   `json:"order_status"`
	OrderNameScope          string                   `json:"order_name_scope,omitempty"`
	OrderDCVMethod          string                   `json:"order_dcv_method,omitempty"`
	OrganizationID          int64                    `json:"organization_id,omitempty"`
	OrganizationName        string                   `json:"organization_name,omitempty"`
	OrganizationValidations []orderOrgValidationView `json:"organization_validations,omitempty"`
	DNSNameValidations      []dnsNameValidationView  `json:"dns_name_validations,omitempty"`
}

type orderOrgValidationView struct {
	Type             string             `json:"type"`
	Name             string             `json:"name"`
	Description      string             `json:"description"`
	DateCreated      string             `json:"date_created,omitempty"`
	ValidatedUntil   string             `json:"validated_until,omitempty"`
	Status           string             `json:"status"`
	VerifiedContacts []orderContactView `json:"verified_contacts"`
}

// orderContactView: user_id is "0" for a contact that is no account user
// (spec §2.6).
type orderContactView struct {
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	JobTitle  string `json:"job_title,omitempty"`
	Telephone string `json:"telephone,omitempty"`
	Email     string `json:"email,omitempty"`
	Status    string `json:"status"`
}

type dnsNameValidationView struct {
	DomainID      int64    `json:"domain_id,omitempty"`
	NameScope     string   `json:"name_scope"`
	ApprovalScope string   `json:"approval_scope"` // subdomains, or fqdn for http-token
	Status        string   `json:"status"`         // approved, pending
	Method        string   `json:"method,omitempty"`
	DNSNames      []string `json:"dns_names"`
}

// orderValidation: GET /order/certificate/{id}/validation (spec §2.6): the
// organization validation the product needs and, per domain, whether the
// order's names are covered by a domain validation in force.
func (s *Server) orderValidation(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.findOrder(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	ctx := r.Context()
	product, _ := s.products().Lookup(o.ProductNameID)
	v := orderValidationView{OrderID: strconv.FormatInt(o.ID, 10), OrderStatus: o.Status, OrderDCVMethod: o.DCVMethod}
	if o.OrganizationID != 0 {
		org, err := s.Store.Organization(ctx, a.Account.ID, o.OrganizationID)
		if err != nil {
			return errs.Internalf(err, "read organization %d", o.OrganizationID)
		}
		v.OrganizationID, v.OrganizationName = org.ID, org.Name
		if typ := product.OrgValidation; typ != "" {
			val := store.OrgValidation{Type: typ, Status: "pending"}
			for _, x := range org.Validations {
				if x.Type == typ {
					val = x
				}
			}
			ov := s.orgValidationViewOf(val)
			view := orderOrgValidationView{Type: ov.Type, Name: ov.Name, Description: ov.Description, DateCreated: ov.DateCreated,
				ValidatedUntil: ov.ValidatedUntil, Status: ov.Status, VerifiedContacts: []orderContactView{}}
			evWaiting := validation.EVApprovalType(product) != "" && !s.Validation.EVApproved(product, o) &&
				(o.Status == store.OrderNeedsApproval || o.Status == store.OrderPending || o.Status == store.OrderNeedsCSR)
			for _, c := range val.VerifiedContacts {
				st := "pending"
				switch {
				case c.Unverified:
					// Submitted while the validation was in force: no
					// verified contact until the next grant.
				case evWaiting:
					// Their approval of this order is what is missing.
				case o.Extra.EVApprovedBy != "":
					if strings.EqualFold(strings.TrimSpace(c.Email), o.Extra.EVApprovedBy) {
						st = "active" // the contact who approved the order
					}
				case ov.Status == "active":
					st = "active"
				}
				view.VerifiedContacts = append(view.VerifiedContacts, orderContactView{UserID: strconv.FormatInt(c.UserID, 10),
					Name: strings.TrimSpace(c.FirstName + " " + c.LastName), FirstName: c.FirstName, LastName: c.LastName,
					JobTitle: c.JobTitle, Telephone: c.Telephone, Email: c.Email, Status: st})
			}
			v.OrganizationValidations = []orderOrgValidationView{view}
		}
	}
	if len(product.DCVMethods) > 0 && len(o.DNSNames) > 0 {
		v.OrderNameScope = o.Extra.CertificateDCVScope
		if v.OrderNameScope == "" {
			v.OrderNameScope = "base_domain"
		}
		doms, err := s.Store.ValidatedDomains(ctx, a.Account.ID, s.Now())
		if err != nil {
			return errs.Internalf(err, "read validated domains")
		}
		nv, err := s.Validation.OrderValidation(ctx, o)
		if err != nil {
			return err
		}
		names := map[string]validation.NameDCV{}
		for _, nd := range nv {
			names[nd.DNSName] = nd
		}
		index := map[string]int{}
		for _, n := range o.DNSNames {
			g := dnsNameValidationView{Status: "pending", Method: o.DCVMethod, ApprovalScope: "subdomains"}
			covered := false
			for _, d := range doms {
				if validation.DomainCoverage(d, n) {
					g.DomainID, g.NameScope, g.Status, g.Method, covered = d.ID, d.Name, "approved", d.DCVValidatedMethod, true
					if d.DCVValidatedMethod == "http-token" {
						g.ApprovalScope = "fqdn"
					}
					break
				}
			}
			if !covered {
				base := names[n].Target
				g.NameScope = base
				if base == strings.TrimPrefix(n, "*.") && (o.DCVMethod == "http-token" || o.Extra.CertificateDCVScope == "fqdn") {
					g.ApprovalScope = "fqdn"
				}
				if d, err := s.Store.DomainByName(ctx, a.Account.ID, base); err == nil {
					// A validation of the account's domain is under way by its method.
					g.DomainID, g.Method = d.ID, d.DCVMethod
				}
				if names[n].Status == validation.NameApproved {
					g.Status = "approved" // the sandbox, unless a rule holds the name back
				}
			}
			key := g.NameScope + "|" + g.Status
			if i, ok := index[key]; ok {
				v.DNSNameValidations[i].DNSNames = append(v.DNSNameValidations[i].DNSNames, n)
				continue
			}
			g.DNSNames = []string{n}
			index[key] = len(v.DNSNameValidations)
			v.DNSNameValidations = append(v.DNSNameValidations, g)
		}
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}
