package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
)

type orgValidationView struct {
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	DateCreated    string `json:"date_created,omitempty"`
	ValidatedUntil string `json:"validated_until,omitempty"` // absent while pending
	Status         string `json:"status"`
	// VerifiedUsers of ev, cs and ev_cs (spec §6.5); see orgs.go.
	VerifiedUsers []verifiedUserView `json:"verified_users,omitempty"`
}

type containerView struct {
	ID          int64  `json:"id"`
	PublicID    string `json:"public_id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ParentID    int64  `json:"parent_id"`
	TemplateID  int    `json:"template_id"`
	HasLogo     bool   `json:"has_logo"`
	IsActive    bool   `json:"is_active"`
}

type organizationView struct {
	ID                     int64               `json:"id"`
	Status                 string              `json:"status"`
	Name                   string              `json:"name"`
	AssumedName            string              `json:"assumed_name,omitempty"`
	DisplayName            string              `json:"display_name"`
	IsActive               bool                `json:"is_active"`
	Address                string              `json:"address"`
	Address2               string              `json:"address2,omitempty"`
	Zip                    string              `json:"zip"`
	City                   string              `json:"city"`
	State                  string              `json:"state"`
	Country                string              `json:"country"`
	Telephone              string              `json:"telephone,omitempty"`
	JurisdictionCountry    string              `json:"jurisdiction_country,omitempty"`
	JurisdictionState      string              `json:"jurisdiction_state,omitempty"`
	JurisdictionCity       string              `json:"jurisdiction_city,omitempty"`
	BusinessCategory       string              `json:"business_category,omitempty"`
	RegistrationNumber     string              `json:"registration_number,omitempty"`
	IncorporatingAgency    string              `json:"incorporating_agency,omitempty"`
	Container              *containerView      `json:"container,omitempty"`
	ContainerIDAssignments []string            `json:"container_id_assignments"`
	OrganizationContact    *store.Contact      `json:"organization_contact,omitempty"`
	TechnicalContact       *store.Contact      `json:"technical_contact,omitempty"`
	VerifiedContacts       []verifiedUserView  `json:"verified_contacts"`
	Validations            []orgValidationView `json:"validations"`
}

var validationNames = map[string][2]string{
	"ov":    {"OV", "Normal Organization Validation"},
	"ev":    {"EV", "Extended Organization Validation (EV)"},
	"cs":    {"CS", "Code Signing Organization Validation"},
	"ev_cs": {"EV CS", "Code Signing Organization Extended Validation (EV CS)"},
	"ds":    {"DS", "Document Signing Organization Validation"},
	"smime": {"SMIME", "S/MIME Organization Validation"},
}

func containerViewOf(c *store.Container) *containerView {
	if c == nil {
		return nil
	}
	return &containerView{ID: c.ID, Name: c.Name, Description: c.Description, ParentID: c.ParentID, TemplateID: 5, IsActive: c.IsActive}
}

func (s *Server) organizationView(r *http.Request, vc *viewCache, o *store.Organization) organizationView {
	v := organizationView{ID: o.ID, Status: "active", Name: o.Name, AssumedName: o.AssumedName, DisplayName: displayName(o),
		IsActive: o.IsActive, Address: o.Address, Address2: o.Address2, Zip: o.Zip, City: o.City, State: o.State, Country: o.Country,
		Telephone: o.Telephone, JurisdictionCountry: o.JurisdictionCountry, JurisdictionState: o.JurisdictionState,
		JurisdictionCity: o.JurisdictionCity, BusinessCategory: o.BusinessCategory, RegistrationNumber: o.RegistrationNumber,
		IncorporatingAgency: o.IncorporatingAgency, Container: containerViewOf(vc.container(r.Context(), o.ContainerID)),
		ContainerIDAssignments: []string{}, OrganizationContact: o.OrganizationContact, TechnicalContact: o.TechnicalContact,
		Validations: []orgValidationView{}}
	if !o.IsActive {
		v.Status = "inactive"
	}
	for _, val := range o.Validations {
		v.Validations = append(v.Validations, s.orgValidationViewOf(val))
	}
	v.VerifiedContacts = s.verifiedContactsOf(o)
	return v
}

func (s *Server) listOrganizations(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	lp, err := listq.Parse(r.URL.Query(), map[string]string{"id": "", "name": "", "date_created": ""})
	if err != nil {
		return err
	}
	orgs, total, err := s.Store.Organizations(r.Context(), a.Account.ID, lp.Page)
	if err != nil {
		return errs.Internalf(err, "list organizations")
	}
	vc := s.newViewCache(a.Account.ID)
	out := make([]organizationView, 0, len(orgs))
	for i := range orgs {
		out = append(out, s.organizationView(r, vc, &orgs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"organizations": out, "page": pageView{Total: total, Limit: lp.Page.Limit, Offset: lp.Page.Offset}})
	return nil
}

func (s *Server) organizationInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "organization")
	if err != nil {
		return err
	}
	o, err := s.Store.Organization(r.Context(), a.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("organization", "Organization %d was not found.", id)
	}
	if err != nil {
		return errs.Internalf(err, "read organization %d", id)
	}
	writeJSON(w, http.StatusOK, s.organizationView(r, s.newViewCache(a.Account.ID), o))
	return nil
}

func (s *Server) listContainers(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	cs, err := s.Store.Containers(r.Context(), a.Account.ID)
	if err != nil {
		return errs.Internalf(err, "list containers")
	}
	out := make([]*containerView, 0, len(cs))
	for i := range cs {
		out = append(out, containerViewOf(&cs[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"containers": out})
	return nil
}

func (s *Server) containerInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "container")
	if err != nil {
		return err
	}
	c, err := s.Store.Container(r.Context(), a.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("container", "Container %d was not found.", id)
	}
	if err != nil {
		return errs.Internalf(err, "read container %d", id)
	}
	writeJSON(w, http.StatusOK, containerViewOf(c))
	return nil
}

type hashTypeView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type hashTypesView struct {
	AllowedHashTypes  []hashTypeView `json:"allowed_hash_types"`
	DefaultHashTypeID string         `json:"default_hash_type_id"`
}

type caCertChoice struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type productInfoView struct {
	GroupName                     string         `json:"group_name"`
	NameID                        string         `json:"name_id"`
	Name                          string         `json:"name"`
	Type                          string         `json:"type"`
	ValidationType                string         `json:"validation_type"`
	ValidationName                string         `json:"validation_name"`
	ValidationDescription         string         `json:"validation_description"`
	DuplicatesAllowed             bool           `json:"duplicates_allowed"`
	AllowedValidityYears          []int          `json:"allowed_validity_years"`
	AllowedOrderValidityYears     []int          `json:"allowed_order_validity_years"`
	SignatureHashTypes            hashTypesView  `json:"signature_hash_types"`
	AdditionalDNSNamesAllowed     bool           `json:"additional_dns_names_allowed"`
	WildcardAllowed               bool           `json:"wildcard_allowed"`
	MaxDNSNames                   int            `json:"max_dns_names"`
	IncreasedCompatibilityAllowed bool           `json:"increased_compatibility_allowed"`
	CustomExpirationDateAllowed   bool           `json:"custom_expiration_date_allowed"`
	CSRRequired                   bool           `json:"csr_required"`
	AllowAutoRenew                bool           `json:"allow_auto_renew"`
	AllowedCACerts                []caCertChoice `json:"allowed_ca_certs"`
	DefaultCACertID               string         `json:"default_ca_cert_id,omitempty"`
	AllowedDCVMethods             []string       `json:"allowed_dcv_methods,omitempty"`
	DCVMethodRequired             bool           `json:"dcv_method_required,omitempty"`
	IPAddressesAllowed            bool           `json:"ip_addresses_allowed,omitempty"`
	MaxOrderValidityDays          int            `json:"max_order_validity_days,omitempty"`
	MaxCertificateValidityDays    int            `json:"max_certificate_validity_days"`
	Price                         float64        `json:"price"`
	Currency                      string         `json:"currency"`
	ServerPlatforms               []platformView `json:"server_platforms,omitempty"`
	LicenseAgreement              string         `json:"license_agreement,omitempty"`
}

func (s *Server) productView(p catalog.Product, full bool) productInfoView {
	legacyYears, planYears := p.ValidityYears, p.ValidityYears
	if p.OrderValidity {
		legacyYears = []int{1} // one certificate per plan year; the plan sets the order
	}
	v := productInfoView{GroupName: p.GroupName, NameID: p.NameID, Name: p.Name, Type: p.Type,
		ValidationType: strings.ToUpper(strings.ReplaceAll(p.ValidationType, "_", " ")), ValidationName: p.ValidationName,
		ValidationDescription: p.ValidationDescription,
		DuplicatesAllowed:     p.DuplicatesAllowed, AllowedValidityYears: legacyYears, AllowedOrderValidityYears: planYears,
		AdditionalDNSNamesAllowed: p.MultiDomain || p.Wildcards != catalog.WildcardNone,
		WildcardAllowed:           p.Wildcards != catalog.WildcardNone, MaxDNSNames: p.MaxNames,
		CustomExpirationDateAllowed: p.MaxCustomDays > 0 || p.OrderValidity, CSRRequired: p.CSRRequired, AllowAutoRenew: true,
		AllowedCACerts: []caCertChoice{}, AllowedDCVMethods: p.DCVMethods, DCVMethodRequired: p.DCVRequired,
		IPAddressesAllowed: p.IPAddresses, MaxOrderValidityDays: p.MaxOrderDays,
		MaxCertificateValidityDays: order.MaxCertValidityDays(p, s.Now()),
		Price:                      float64(p.PriceCents) / 100, Currency: "USD"}
	v.SignatureHashTypes.DefaultHashTypeID = p.DefaultHash
	for _, h := range p.HashTypes {
		v.SignatureHashTypes.AllowedHashTypes = append(v.SignatureHashTypes.AllowedHashTypes, hashTypeView{ID: h, Name: catalog.HashName(h)})
	}
	for _, iss := range s.CA.IssuersFor(ca.Purpose(p.Purpose)) {
		v.AllowedCACerts = append(v.AllowedCACerts, caCertChoice{ID: iss.ID, Name: iss.Name})
	}
	if iss := s.CA.DefaultIssuerFor(ca.Purpose(p.Purpose)); iss != nil {
		v.DefaultCACertID = iss.ID
	}
	if full {
		for _, sp := range catalog.Platforms {
			v.ServerPlatforms = append(v.ServerPlatforms, platformView{ID: sp.ID, Name: sp.Name, InstallURL: sp.InstallURL, CSRURL: sp.CSRURL})
		}
		v.LicenseAgreement = "certorder subscriber agreement: certificates are issued by a private certorder CA."
	}
	return v
}

// balance: GET /finance/balance. [not found] in the spec: the shape is
// ours, {"balance": "1234.56", "currency": "USD"}, with the amount as a
// string as CertCentral renders money in its list fixtures.
func (s *Server) balance(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	acct, err := s.Store.Account(r.Context(), a.Account.ID)
	if err != nil {
		return errs.Internalf(err, "read account")
	}
	writeJSON(w, http.StatusOK, map[string]string{"balance": fmt.Sprintf("%.2f", float64(acct.BalanceCents)/100), "currency": "USD"})
	return nil
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	out := []productInfoView{}
	for _, p := range s.products().All() {
		out = append(out, s.productView(p, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"products": out})
	return nil
}

func (s *Server) productInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	// An alias answers with the product it orders, as GET /product lists it.
	p, ok := s.products().Orderable(r.PathValue("name_id"))
	if !ok {
		return errs.NotFoundf("product", "The product %q does not exist or is not enabled for this account.", r.PathValue("name_id"))
	}
	writeJSON(w, http.StatusOK, s.productView(p, true))
	return nil
}

func (s *Server) userMe(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	u := a.User
	c, _ := s.Store.Container(r.Context(), a.Account.ID, u.ContainerID)
	writeJSON(w, http.StatusOK, map[string]any{
		"id": u.ID, "username": u.Username, "account_id": u.AccountID, "first_name": u.FirstName, "last_name": u.LastName,
		"email": u.Email, "job_title": u.JobTitle, "telephone": u.Telephone, "status": u.Status, "type": "standard",
		"container": containerViewOf(c), "has_container_assignments": false,
		"access_roles": []map[string]any{{"id": u.AccessRole, "name": account.RoleNames[u.AccessRole]}},
	})
	return nil
}

type metadataView struct {
	ID         int64  `json:"id"`
	Label      string `json:"label"`
	IsRequired bool   `json:"is_required"`
	IsActive   bool   `json:"is_active"`
	DataType   string `json:"data_type"`
}

func (s *Server) listMetadata(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	ms, err := s.Store.Metadata(r.Context(), a.Account.ID)
	if err != nil {
		return errs.Internalf(err, "list metadata")
	}
	out := []metadataView{}
	for _, m := range ms {
		out = append(out, metadataView{ID: m.ID, Label: m.Label, IsRequired: m.IsRequired, IsActive: m.IsActive, DataType: m.DataType})
	}
	writeJSON(w, http.StatusOK, map[string]any{"metadata": out})
	return nil
}

type metadataInput struct {
	Label      string    `json:"label"`
	IsRequired flex.Bool `json:"is_required"`
	IsActive   flex.Bool `json:"is_active"`
	DataType   string    `json:"data_type"`
}

func (s *Server) createMetadata(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in metadataInput
	if err := decode(r, &in); err != nil {
		return err
	}
	id, err := s.Accounts.CreateMetadata(r.Context(), a, in.Label, in.DataType, in.IsRequired.V, !in.IsActive.Set || in.IsActive.V)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": id})
	return nil
}
