package api

import (
	"context"
	"slices"
	"time"

	"github.com/certorder/certorder/internal/ca"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/store"
)

// Date formats of the API: timestamps in RFC 3339 with a numeric offset
// ("2014-08-19T18:16:07+00:00"), validity dates as YYYY-MM-DD.
const (
	stampLayout = "2006-01-02T15:04:05-07:00"
	dateLayout  = "2006-01-02"
)

func stamp(t time.Time) string { return t.UTC().Format(stampLayout) }

func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(dateLayout)
}

// Never null: integers and booleans that do not apply are omitted, as one
// .NET client throws on null.

type idView struct {
	ID int64 `json:"id"`
}

type platformView struct {
	ID         int    `json:"id"`
	Name       string `json:"name"`
	InstallURL string `json:"install_url,omitempty"`
	CSRURL     string `json:"csr_url,omitempty"`
}

type caCertView struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type certView struct {
	ID int64 `json:"id,omitempty"`
	// Status is the certificate's own: pending, issued, revoked (or
	// rejected). It differs from the order's when a certificate is revoked
	// and the order stays active (spec §4.4); public clients read it
	// before the order's status when present.
	Status            string          `json:"status,omitempty"`
	Thumbprint        string          `json:"thumbprint,omitempty"`
	SerialNumber      string          `json:"serial_number,omitempty"`
	CommonName        string          `json:"common_name"`
	DNSNames          []string        `json:"dns_names"`
	DateCreated       string          `json:"date_created,omitempty"`
	ValidFrom         string          `json:"valid_from,omitempty"`
	ValidTill         string          `json:"valid_till,omitempty"`
	DaysRemaining     *int            `json:"days_remaining,omitempty"`
	CSR               string          `json:"csr,omitempty"`
	Organization      *idView         `json:"organization,omitempty"`
	OrganizationUnits []string        `json:"organization_units,omitempty"`
	ServerPlatform    *platformView   `json:"server_platform,omitempty"`
	SignatureHash     string          `json:"signature_hash,omitempty"`
	KeySize           int             `json:"key_size,omitempty"`
	CACert            *caCertView     `json:"ca_cert,omitempty"`
	ProfileOption     string          `json:"profile_option,omitempty"`
	Emails            []string        `json:"emails,omitempty"`       // client certificates
	IPAddresses       []string        `json:"ip_addresses,omitempty"` // X9; our name, [not found] in the spec
	KeyUsages         []string        `json:"key_usages,omitempty"`
	ExtendedKeyUsages []string        `json:"extended_key_usages,omitempty"`
	CertValidity      *store.Validity `json:"cert_validity,omitempty"`
}

type orgShortView struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	IsActive    *bool  `json:"is_active,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country,omitempty"`
}

type containerShortView struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type productView struct {
	NameID                string `json:"name_id"`
	Name                  string `json:"name"`
	Type                  string `json:"type"`
	ValidationType        string `json:"validation_type,omitempty"`
	ValidationName        string `json:"validation_name,omitempty"`
	ValidationDescription string `json:"validation_description,omitempty"`
}

type userShortView struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

type requestShortView struct {
	ID       int64  `json:"id"`
	Date     string `json:"date"`
	Type     string `json:"type"`
	Status   string `json:"status"`
	Comments string `json:"comments,omitempty"`
}

type customFieldView struct {
	MetadataID int64  `json:"metadata_id"`
	Label      string `json:"label,omitempty"`
	Value      string `json:"value"`
}

type validityView struct {
	Years int `json:"years,omitempty"`
	Days  int `json:"days,omitempty"`
}

type orderView struct {
	ID                          int64                 `json:"id"`
	Certificate                 certView              `json:"certificate"`
	Status                      string                `json:"status"`
	IsRenewal                   bool                  `json:"is_renewal"`
	IsRenewed                   bool                  `json:"is_renewed"`
	RenewedOrderID              int64                 `json:"renewed_order_id"`
	RenewalOfOrderID            int64                 `json:"renewal_of_order_id,omitempty"`
	DateCreated                 string                `json:"date_created"`
	OrderValidTill              string                `json:"order_valid_till,omitempty"`
	ValidityYears               int                   `json:"validity_years,omitempty"`
	ValidityDays                int                   `json:"validity_days,omitempty"`
	CustomExpirationDate        string                `json:"custom_expiration_date,omitempty"`
	OrderValidity               *validityView         `json:"order_validity,omitempty"`
	Organization                *orgShortView         `json:"organization,omitempty"`
	Container                   containerShortView    `json:"container"`
	Product                     productView           `json:"product"`
	OrganizationContact         *store.Contact        `json:"organization_contact,omitempty"`
	TechnicalContact            *store.Contact        `json:"technical_contact,omitempty"`
	User                        *userShortView        `json:"user,omitempty"`
	Requests                    []requestShortView    `json:"requests"`
	DCVMethod                   string                `json:"dcv_method,omitempty"`
	DisableRenewalNotifications bool                  `json:"disable_renewal_notifications"`
	AutoRenew                   int                   `json:"auto_renew"`
	AutoReissue                 int                   `json:"auto_reissue"`
	CustomRenewalMessage        string                `json:"custom_renewal_message,omitempty"`
	AdditionalEmails            []string              `json:"additional_emails,omitempty"`
	Locale                      string                `json:"locale,omitempty"`
	PaymentMethod               string                `json:"payment_method"`
	CardLast4                   string                `json:"card_last_four,omitempty"`
	CSProvisioningMethod        string                `json:"cs_provisioning_method"`
	AllowDuplicates             bool                  `json:"allow_duplicates"`
	DisableCT                   bool                  `json:"disable_ct"`
	Comments                    string                `json:"comments,omitempty"`
	AlternativeOrderID          string                `json:"alternative_order_id,omitempty"`
	CustomFields                []customFieldView     `json:"custom_fields,omitempty"`
	ProductNameID               string                `json:"product_name_id"`
	IsMultiYearPlan             string                `json:"is_multi_year_plan"`
	Price                       float64               `json:"price"`
	Currency                    string                `json:"currency"`
	DCVRandomValue              string                `json:"dcv_random_value,omitempty"`
	DCVExpirationDate           string                `json:"dcv_expiration_datetime,omitempty"`
	ShipInfo                    *store.ShipInfo       `json:"ship_info,omitempty"`
	DCVEmails                   []store.DCVEmailScope `json:"dcv_emails,omitempty"`
	CertificateDCVScope         string                `json:"certificate_dcv_scope,omitempty"`
	VATNumber                   string                `json:"vat_number,omitempty"`
	// The renewal notices the order asks for (spec §2.3's order info).
	SendMinus90 bool `json:"send_minus_90"`
	SendMinus60 bool `json:"send_minus_60"`
	SendMinus30 bool `json:"send_minus_30"`
	SendMinus7  bool `json:"send_minus_7"`
	SendMinus3  bool `json:"send_minus_3"`
	SendPlus7   bool `json:"send_plus_7"`
}

// orderListItem is one row of GET /order/certificate.
type orderListItem struct {
	ID                          int64              `json:"id"`
	Certificate                 certView           `json:"certificate"`
	Status                      string             `json:"status"`
	IsRenewed                   bool               `json:"is_renewed"`
	DateCreated                 string             `json:"date_created"`
	Organization                *orgShortView      `json:"organization,omitempty"`
	ValidityYears               int                `json:"validity_years,omitempty"`
	OrderValidTill              string             `json:"order_valid_till,omitempty"`
	DisableRenewalNotifications bool               `json:"disable_renewal_notifications"`
	Container                   containerShortView `json:"container"`
	Product                     productView        `json:"product"`
	HasDuplicates               bool               `json:"has_duplicates"`
	ProductNameID               string             `json:"product_name_id"`
	NumberOfSANs                int                `json:"number_of_sans"`
	IsMultiYearPlan             string             `json:"is_multi_year_plan"`
	AlternativeOrderID          string             `json:"alternative_order_id,omitempty"`
	Price                       float64            `json:"price"`
}

type pageView struct {
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
}

// viewCache avoids re-reading the same organization, container or user
// for every row of a list.
type viewCache struct {
	s     *Server
	acct  int64
	orgs  map[int64]*store.Organization
	conts map[int64]*store.Container
	users map[int64]*store.User
}

func (s *Server) newViewCache(acct int64) *viewCache {
	return &viewCache{s: s, acct: acct, orgs: map[int64]*store.Organization{}, conts: map[int64]*store.Container{}, users: map[int64]*store.User{}}
}

func (c *viewCache) org(ctx context.Context, id int64) *store.Organization {
	if id == 0 {
		return nil
	}
	if o, ok := c.orgs[id]; ok {
		return o
	}
	o, err := c.s.Store.Organization(ctx, c.acct, id)
	if err != nil {
		o = nil
	}
	c.orgs[id] = o
	return o
}

func (c *viewCache) container(ctx context.Context, id int64) *store.Container {
	if v, ok := c.conts[id]; ok {
		return v
	}
	v, err := c.s.Store.Container(ctx, c.acct, id)
	if err != nil {
		v = nil
	}
	c.conts[id] = v
	return v
}

func (c *viewCache) user(ctx context.Context, id int64) *store.User {
	if v, ok := c.users[id]; ok {
		return v
	}
	v, err := c.s.Store.User(ctx, c.acct, id)
	if err != nil {
		v = nil
	}
	c.users[id] = v
	return v
}

// productOf is the product of an order as the process's catalogue names
// it, disabled or not (an order keeps its product).
func (s *Server) productOf(nameID string) productView {
	p, ok := s.products().Lookup(nameID)
	if !ok {
		return productView{NameID: nameID, Name: nameID}
	}
	return productView{NameID: p.NameID, Name: p.Name, Type: p.Type, ValidationType: p.ValidationType,
		ValidationName: p.ValidationName, ValidationDescription: p.ValidationDescription}
}

func displayName(o *store.Organization) string {
	if o.AssumedName != "" {
		return o.Name + " (" + o.AssumedName + ")"
	}
	return o.Name
}

func orgShort(o *store.Organization, full bool) *orgShortView {
	if o == nil {
		return nil
	}
	v := &orgShortView{ID: o.ID, Name: o.Name}
	if full {
		active := o.IsActive
		v.DisplayName, v.IsActive, v.City, v.State, v.Country = displayName(o), &active, o.City, o.State, o.Country
	}
	return v
}

func containerShort(c *store.Container, id int64) containerShortView {
	if c == nil {
		return containerShortView{ID: id}
	}
	return containerShortView{ID: c.ID, Name: c.Name}
}

func daysRemaining(notAfter, now time.Time) *int {
	if notAfter.IsZero() {
		return nil
	}
	d := int(notAfter.Sub(now).Hours() / 24)
	if d < 0 {
		d = 0
	}
	return &d
}

// certOf renders a certificate (or the order's planned one while pending).
func (s *Server) certOf(o *store.Order, c *store.Certificate, full bool) certView {
	v := certView{CommonName: o.CommonName, DNSNames: nonNilStrings(o.DNSNames), SignatureHash: o.SignatureHash}
	if c != nil {
		v.ID, v.Status = c.ID, c.Status
		if c.Status == store.CertIssued && !c.NotAfter.After(s.Now()) {
			// Past its notAfter a certificate reads expired; the store
			// keeps issued, what revocation and OCSP go by.
			v.Status = store.OrderExpired
		}
		if c.Status != store.CertPending {
			v.Thumbprint, v.SerialNumber = c.Thumbprint, c.SerialNumber
			v.ValidFrom, v.ValidTill = date(c.NotBefore), date(c.NotAfter)
			v.DaysRemaining = daysRemaining(c.NotAfter, s.Now())
			v.CommonName, v.DNSNames = c.CommonName, nonNilStrings(c.DNSNames)
		}
		if full {
			v.KeySize = c.KeySize
			if iss, ok := s.CA.Issuer(c.IssuerID); ok {
				v.CACert = &caCertView{ID: iss.ID, Name: iss.Name}
			}
		}
	}
	if full {
		if c != nil {
			v.DateCreated = stamp(c.CreatedAt)
		}
		v.CSR = o.CSR
		if o.OrganizationID != 0 {
			v.Organization = &idView{ID: o.OrganizationID}
		}
		v.OrganizationUnits = o.OrganizationUnits
		v.ServerPlatform = platformOf(o.ServerPlatformID)
		v.ProfileOption = o.ProfileOption
		v.Emails, v.IPAddresses = o.Emails, o.IPAddresses
		v.KeyUsages, v.ExtendedKeyUsages = o.Extra.KeyUsages, o.Extra.ExtendedKeyUsages
		v.CertValidity = o.Extra.CertValidity
		if v.CACert == nil && s.CA != nil {
			v.CACert = s.plannedIssuer(o)
		}
	}
	return v
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// multiYear: the order covers more than one year, however its span was
// given (validity_years, validity_days, order_validity or an end date):
// CertCentral's Multi-year Plans are the orders that outlast one
// certificate's year.
func multiYear(o *store.Order) string {
	if o.ValidityYears > 1 || !o.OrderValidTill.IsZero() && o.OrderValidTill.Sub(o.CreatedAt) > 366*24*time.Hour {
		return "1"
	}
	return "0"
}

// autoReissue is order info's auto_reissue: 1 unless the order sent
// auto_reissue 0. It acts on orders whose end lies beyond their
// certificate's (multi-year and annual plans).
func autoReissue(o *store.Order) int {
	if !o.Extra.AutoReissueOff {
		return 1
	}
	return 0
}

func (s *Server) orderView(ctx context.Context, vc *viewCache, o *store.Order) (*orderView, error) {
	var cert *store.Certificate
	if o.CertificateID != 0 {
		c, err := s.Store.Certificate(ctx, o.AccountID, o.CertificateID)
		if err != nil {
			return nil, err
		}
		cert = c
	}
	reqs, err := s.Store.RequestsForOrder(ctx, o.AccountID, o.ID)
	if err != nil {
		return nil, err
	}
	org := vc.org(ctx, o.OrganizationID)
	on := func(notice string) bool { return !slices.Contains(o.Extra.NoticesOff, notice) }
	v := &orderView{
		SendMinus90: on(store.NoticeMinus90), SendMinus60: on(store.NoticeMinus60), SendMinus30: on(store.NoticeMinus30),
		SendMinus7: on(store.NoticeMinus7), SendMinus3: on(store.NoticeMinus3), SendPlus7: on(store.NoticePlus7),
		ID: o.ID, Certificate: s.certOf(o, cert, true), Status: o.Status,
		IsRenewal: o.RenewalOfOrderID != 0, IsRenewed: o.IsRenewed, RenewedOrderID: o.RenewedOrderID, RenewalOfOrderID: o.RenewalOfOrderID,
		DateCreated: stamp(o.CreatedAt), OrderValidTill: date(o.OrderValidTill),
		ValidityYears: o.ValidityYears, ValidityDays: o.ValidityDays, CustomExpirationDate: o.CustomExpirationDate,
		Organization: orgShort(org, true), Container: containerShort(vc.container(ctx, o.ContainerID), o.ContainerID),
		Product: s.productOf(o.ProductNameID), Requests: []requestShortView{},
		DCVMethod: o.DCVMethod, DisableRenewalNotifications: o.DisableRenewalNotifications, AutoRenew: o.AutoRenew,
		AutoReissue:          autoReissue(o),
		CustomRenewalMessage: o.CustomRenewalMessage, AdditionalEmails: o.AdditionalEmails, Locale: o.Locale,
		PaymentMethod: o.PaymentMethod, CardLast4: o.CardLast4, CSProvisioningMethod: "none", DisableCT: o.DisableCT,
		Comments: o.Comments, AlternativeOrderID: o.AlternativeOrderID, ProductNameID: o.ProductNameID, IsMultiYearPlan: multiYear(o),
	}
	if p, ok := s.products().Lookup(o.ProductNameID); ok {
		v.AllowDuplicates = p.DuplicatesAllowed
	}
	if o.ValidityYears > 0 || o.ValidityDays > 0 {
		v.OrderValidity = &validityView{Years: o.ValidityYears, Days: o.ValidityDays}
	}
	if org != nil {
		v.OrganizationContact, v.TechnicalContact = org.OrganizationContact, org.TechnicalContact
	}
	// Order-level contacts (seeds 001, 004) take precedence on the order.
	if o.Extra.OrganizationContact != nil {
		v.OrganizationContact = o.Extra.OrganizationContact
	}
	if o.Extra.TechnicalContact != nil {
		v.TechnicalContact = o.Extra.TechnicalContact
	}
	if m := o.Extra.CSProvisioningMethod; m != "" {
		v.CSProvisioningMethod = m
	}
	v.Price, v.Currency = float64(o.PriceCents)/100, "USD"
	v.DCVRandomValue = o.DCVRandomValue
	if !o.DCVRandomExpires.IsZero() {
		v.DCVExpirationDate = stamp(o.DCVRandomExpires)
	}
	v.ShipInfo, v.DCVEmails = o.Extra.ShipInfo, o.Extra.DCVEmails
	v.CertificateDCVScope, v.VATNumber = o.Extra.CertificateDCVScope, o.Extra.VATNumber
	if u := vc.user(ctx, o.UserID); u != nil {
		v.User = &userShortView{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email}
	}
	for _, r := range reqs {
		v.Requests = append(v.Requests, requestShortView{ID: r.ID, Date: stamp(r.Date), Type: r.Type, Status: r.Status, Comments: r.Comments})
	}
	if len(o.CustomFields) > 0 {
		labels := map[int64]string{}
		if defs, err := s.Store.Metadata(ctx, o.AccountID); err == nil {
			for _, d := range defs {
				labels[d.ID] = d.Label
			}
		}
		for _, f := range o.CustomFields {
			v.CustomFields = append(v.CustomFields, customFieldView{MetadataID: f.MetadataID, Label: labels[f.MetadataID], Value: f.Value})
		}
	}
	return v, nil
}

func (s *Server) orderListItem(ctx context.Context, vc *viewCache, o *store.Order) (orderListItem, error) {
	var cert *store.Certificate
	if o.CertificateID != 0 {
		c, err := s.Store.Certificate(ctx, o.AccountID, o.CertificateID)
		if err != nil {
			return orderListItem{}, err
		}
		cert = c
	}
	p := s.productOf(o.ProductNameID)
	return orderListItem{
		ID: o.ID, Certificate: s.certOf(o, cert, false), Status: o.Status, IsRenewed: o.IsRenewed,
		DateCreated: stamp(o.CreatedAt), Organization: orgShort(vc.org(ctx, o.OrganizationID), false),
		ValidityYears: o.ValidityYears, OrderValidTill: date(o.OrderValidTill), DisableRenewalNotifications: o.DisableRenewalNotifications,
		Container:     containerShort(vc.container(ctx, o.ContainerID), o.ContainerID),
		Product:       productView{NameID: p.NameID, Name: p.Name, Type: p.Type},
		ProductNameID: o.ProductNameID, NumberOfSANs: len(o.DNSNames), IsMultiYearPlan: multiYear(o),
		AlternativeOrderID: o.AlternativeOrderID, Price: float64(o.PriceCents) / 100,
		HasDuplicates: s.hasDuplicates(ctx, o), // lifecycle.go
	}, nil
}

// plannedIssuer is the intermediate that signs (or will sign) the order's
// certificate: the one chosen by ca_cert_id or the product's default.
func (s *Server) plannedIssuer(o *store.Order) *caCertView {
	if o.CACertID != "" {
		if iss, ok := s.CA.Issuer(o.CACertID); ok {
			return &caCertView{ID: iss.ID, Name: iss.Name}
		}
	}
	purpose := ca.PurposeTLS
	if p, ok := s.products().Lookup(o.ProductNameID); ok {
		purpose = ca.Purpose(p.Purpose)
	}
	if iss := s.CA.DefaultIssuerFor(purpose); iss != nil {
		return &caCertView{ID: iss.ID, Name: iss.Name}
	}
	return nil
}

// platformOf is the server_platform member for a stored platform id.
func platformOf(id int) *platformView {
	p := catalog.PlatformByID(id)
	return &platformView{ID: p.ID, Name: p.Name, InstallURL: p.InstallURL, CSRURL: p.CSRURL}
}

// csrKeySize is the key size of a stored CSR, or 0 when there is none.
func csrKeySize(pemCSR string) int {
	if pemCSR == "" {
		return 0
	}
	csr, err := ca.ParseCSR(pemCSR)
	if err != nil {
		return 0
	}
	return ca.KeySize(csr.PublicKey)
}
