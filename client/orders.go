package client

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// IDRef is an {"id": N} object.
type IDRef struct {
	ID int64 `json:"id"`
}

// OrderRequest is the body of POST /order/certificate/{product}. Zero
// values of optional fields are not sent.
type OrderRequest struct {
	Certificate                 CertificateSpec    `json:"certificate"`
	RenewedThumbprint           string             `json:"renewed_thumbprint,omitempty"`
	ValidityYears               int                `json:"validity_years,omitempty"`
	ValidityDays                int                `json:"validity_days,omitempty"`
	CustomExpirationDate        string             `json:"custom_expiration_date,omitempty"` // YYYY-MM-DD
	Comments                    string             `json:"comments,omitempty"`
	AutoRenew                   int                `json:"auto_renew,omitempty"` // 0 or 1
	CustomRenewalMessage        string             `json:"custom_renewal_message,omitempty"`
	DisableRenewalNotifications bool               `json:"disable_renewal_notifications,omitempty"`
	AdditionalEmails            []string           `json:"additional_emails,omitempty"`
	Locale                      string             `json:"locale,omitempty"`
	RenewalOfOrderID            int64              `json:"renewal_of_order_id,omitempty"`
	PaymentMethod               string             `json:"payment_method,omitempty"` // balance, card, profile
	CreditCard                  *CreditCard        `json:"credit_card,omitempty"`
	DCVMethod                   string             `json:"dcv_method,omitempty"`
	SkipApproval                bool               `json:"skip_approval,omitempty"`
	DisableCT                   bool               `json:"disable_ct,omitempty"`
	ApplyCRDiscount             bool               `json:"apply_cr_discount,omitempty"`
	SerialNumber                string             `json:"serial_number,omitempty"`
	Organization                *OrderOrganization `json:"organization,omitempty"`
	Container                   *IDRef             `json:"container,omitempty"`
	CustomFields                []CustomFieldValue `json:"custom_fields,omitempty"`
	AlternativeOrderID          string             `json:"alternative_order_id,omitempty"`

	// The multi-year plan model (DV, code signing, X9) and the fields of
	// those product families.
	OrderValidity        *PlanValidity   `json:"order_validity,omitempty"`
	DCVEmails            []DCVEmailScope `json:"dcv_emails,omitempty"`
	TechnicalContact     *Contact        `json:"technical_contact,omitempty"`
	OrganizationContact  *Contact        `json:"organization_contact,omitempty"`
	UseAuthKey           *bool           `json:"use_auth_key,omitempty"`
	CSProvisioningMethod string          `json:"cs_provisioning_method,omitempty"` // ship_token, client_app, email
	ShipInfo             *ShipInfo       `json:"ship_info,omitempty"`
	CSAAgreedTo          *bool           `json:"csa_agreed_to,omitempty"`
	CertificateDCVScope  string          `json:"certificate_dcv_scope,omitempty"` // base_domain, fqdn
	PromoCode            string          `json:"promo_code,omitempty"`
	VATNumber            string          `json:"vat_number,omitempty"`
	BillingAddress       *BillingAddress `json:"billing_address,omitempty"`
}

// PlanValidity is order_validity or certificate.cert_validity: set one of
// the three; CustomExpirationDate is "dd MMM YYYY" (e.g. "09 JUN 2027").
type PlanValidity struct {
	Years                int    `json:"years,omitempty"`
	Days                 int    `json:"days,omitempty"`
	CustomExpirationDate string `json:"custom_expiration_date,omitempty"`
}

// DCVEmailScope is one dcv_emails entry of a DV order.
type DCVEmailScope struct {
	DNSName     string `json:"dns_name"`
	EmailDomain string `json:"email_domain"`
	Email       string `json:"email,omitempty"`
}

// ShipInfo is where an EV code signing token goes; Method is STANDARD or
// EXPEDITED.
type ShipInfo struct {
	Name    string `json:"name"`
	Addr1   string `json:"addr1"`
	Addr2   string `json:"addr2,omitempty"`
	City    string `json:"city"`
	State   string `json:"state"`
	Zip     string `json:"zip"`
	Country string `json:"country"`
	Method  string `json:"method"`
}

// BillingAddress goes with a card payment (X9).
type BillingAddress struct {
	Address  string `json:"address"`
	Address2 string `json:"address2,omitempty"`
	City     string `json:"city"`
	State    string `json:"state,omitempty"`
	Country  string `json:"country"`
	Zip      string `json:"zip,omitempty"`
}

// OrgContactRef is one organization.contacts entry of an X9 order: an
// existing user by UserID, or a new contact.
type OrgContactRef struct {
	ContactType string `json:"contact_type"` // organization_contact, technical_contact, verified_contact
	UserID      int64  `json:"user_id,omitempty"`
	Contact
}

// CertificateSpec is the certificate object of an order.
type CertificateSpec struct {
	CommonName        string          `json:"common_name"`
	DNSNames          []string        `json:"dns_names,omitempty"`
	CSR               string          `json:"csr,omitempty"`
	SignatureHash     string          `json:"signature_hash,omitempty"` // sha256, sha384, sha512
	OrganizationUnits []string        `json:"organization_units,omitempty"`
	ServerPlatform    *ServerPlatform `json:"server_platform,omitempty"` // only the id is read
	ProfileOption     string          `json:"profile_option,omitempty"`

	Emails            []string      `json:"emails,omitempty"`              // client certificates
	CertValidity      *PlanValidity `json:"cert_validity,omitempty"`       // DV: the first certificate
	KeyUsages         []string      `json:"key_usages,omitempty"`          // X9: digital_signature, key_agreement_encipherment
	ExtendedKeyUsages []string      `json:"extended_key_usages,omitempty"` // X9: server_authentication, client_authentication
	CACertID          string        `json:"ca_cert_id,omitempty"`          // an allowed_ca_certs id of the product
}

// OrderOrganization is either an existing organization ({ID: n}) or a new
// one created with the order (ID zero, the other fields filled).
type OrderOrganization struct {
	ID                    int64           `json:"id,omitempty"`
	Name                  string          `json:"name,omitempty"`
	AssumedName           string          `json:"assumed_name,omitempty"`
	Address               string          `json:"address,omitempty"`
	Address2              string          `json:"address2,omitempty"`
	City                  string          `json:"city,omitempty"`
	State                 string          `json:"state,omitempty"`
	Zip                   string          `json:"zip,omitempty"`
	Country               string          `json:"country,omitempty"`
	Telephone             string          `json:"telephone,omitempty"`
	JurisdictionCountry   string          `json:"jurisdiction_country,omitempty"`
	JurisdictionState     string          `json:"jurisdiction_state,omitempty"`
	JurisdictionCity      string          `json:"jurisdiction_city,omitempty"`
	BusinessCategory      string          `json:"business_category,omitempty"`
	RegistrationNumber    string          `json:"registration_number,omitempty"`
	IncorporatingAgency   string          `json:"incorporating_agency,omitempty"`
	OrganizationContact   *Contact        `json:"organization_contact,omitempty"`
	TechnicalContact      *Contact        `json:"technical_contact,omitempty"`
	SkipDuplicateOrgCheck bool            `json:"skip_duplicate_org_check,omitempty"`
	Contacts              []OrgContactRef `json:"contacts,omitempty"` // X9
}

// Contact is a person of an organization.
type Contact struct {
	FirstName          string `json:"first_name,omitempty"`
	LastName           string `json:"last_name,omitempty"`
	Email              string `json:"email,omitempty"`
	JobTitle           string `json:"job_title,omitempty"`
	Telephone          string `json:"telephone,omitempty"`
	TelephoneExtension string `json:"telephone_extension,omitempty"`
}

// CreditCard pays an order with payment_method "card".
type CreditCard struct {
	Number     string `json:"number"`
	Expiration struct {
		Month int `json:"month"`
		Year  int `json:"year"`
	} `json:"expiration"`
	CVV            string `json:"cvv,omitempty"`
	Name           string `json:"name,omitempty"`
	CardholderName string `json:"cardholder_name,omitempty"` // required for X9
	ZipCode        string `json:"zip_code,omitempty"`
}

// CustomFieldValue fills an account custom field (see ListMetadata).
type CustomFieldValue struct {
	MetadataID int64  `json:"metadata_id"`
	Value      string `json:"value"`
}

// RequestRef is a request in the answer to an order.
type RequestRef struct {
	ID     int64  `json:"id"`
	Status string `json:"status"`
}

// ChainElement is one certificate of a chain.
type ChainElement struct {
	SubjectCommonName string `json:"subject_common_name"`
	PEM               string `json:"pem"`
}

// Certificate parses the element's PEM.
func (e ChainElement) Certificate() (*x509.Certificate, error) {
	b, _ := pem.Decode([]byte(e.PEM))
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("certcentral: chain element %q holds no PEM certificate", e.SubjectCommonName)
	}
	return x509.ParseCertificate(b.Bytes)
}

// ParseChain parses every element, in order.
func ParseChain(elems []ChainElement) ([]*x509.Certificate, error) {
	out := make([]*x509.Certificate, 0, len(elems))
	for _, e := range elems {
		c, err := e.Certificate()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// OrderResponse is the 201 answer to an order. A certificate issued at once
// comes with CertificateID and CertificateChain (leaf, intermediate, root);
// an order waiting for approval comes with Requests.
type OrderResponse struct {
	ID               int64          `json:"id"`
	Organization     *IDRef         `json:"organization,omitempty"` // set when the order created an organization
	Requests         []RequestRef   `json:"requests,omitempty"`
	CertificateID    int64          `json:"certificate_id,omitempty"`
	CertificateChain []ChainElement `json:"certificate_chain,omitempty"`
	// DCVRandomValue comes with DV and X9 orders using a token DCV method.
	DCVRandomValue string      `json:"dcv_random_value,omitempty"`
	Domains        []DomainRef `json:"domains,omitempty"` // X9
}

// DomainRef is one domains[] entry of an X9 order answer.
type DomainRef struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	DNSName  string    `json:"dns_name"`
	DCVToken *DCVToken `json:"dcv_token,omitempty"`
}

// DCVToken is the order's random value as it applies to one domain.
type DCVToken struct {
	Token             string `json:"token"`
	Status            string `json:"status"`
	ExpirationDate    string `json:"expiration_date"`
	VerificationValue string `json:"verification_value,omitempty"` // dns-cname-token
	HTTPTokenURL      string `json:"http_token_url,omitempty"`     // http-token
}

// ServerPlatform is a server software entry.
type ServerPlatform struct {
	ID         int    `json:"id"`
	Name       string `json:"name,omitempty"`
	InstallURL string `json:"install_url,omitempty"`
	CSRURL     string `json:"csr_url,omitempty"`
}

// CACert names an issuing CA.
type CACert struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// OrderCertificate is the certificate object of an order (or the planned
// certificate while the order is pending).
type OrderCertificate struct {
	ID int64 `json:"id,omitempty"`
	// Status is the certificate's own (pending, issued, revoked): a
	// certificate revoked alone leaves its order issued.
	Status            string          `json:"status,omitempty"`
	Thumbprint        string          `json:"thumbprint,omitempty"`
	SerialNumber      string          `json:"serial_number,omitempty"`
	CommonName        string          `json:"common_name"`
	DNSNames          []string        `json:"dns_names"`
	DateCreated       string          `json:"date_created,omitempty"`
	ValidFrom         string          `json:"valid_from,omitempty"` // YYYY-MM-DD
	ValidTill         string          `json:"valid_till,omitempty"` // YYYY-MM-DD
	DaysRemaining     int             `json:"days_remaining,omitempty"`
	CSR               string          `json:"csr,omitempty"`
	Organization      *IDRef          `json:"organization,omitempty"`
	OrganizationUnits []string        `json:"organization_units,omitempty"`
	ServerPlatform    *ServerPlatform `json:"server_platform,omitempty"`
	SignatureHash     string          `json:"signature_hash,omitempty"`
	KeySize           int             `json:"key_size,omitempty"`
	CACert            *CACert         `json:"ca_cert,omitempty"`
	ProfileOption     string          `json:"profile_option,omitempty"`

	Emails            []string      `json:"emails,omitempty"`              // client certificates
	CertValidity      *PlanValidity `json:"cert_validity,omitempty"`       // DV: the first certificate
	KeyUsages         []string      `json:"key_usages,omitempty"`          // X9: digital_signature, key_agreement_encipherment
	ExtendedKeyUsages []string      `json:"extended_key_usages,omitempty"` // X9: server_authentication, client_authentication
	IPAddresses       []string      `json:"ip_addresses,omitempty"`        // X9
}

// OrganizationSummary is the organization as orders and requests show it.
type OrganizationSummary struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	IsActive    bool   `json:"is_active,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Country     string `json:"country,omitempty"`
}

// ContainerSummary is a container as orders and requests show it.
type ContainerSummary struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// ProductSummary is a product as orders and requests show it.
type ProductSummary struct {
	NameID                string `json:"name_id"`
	Name                  string `json:"name"`
	Type                  string `json:"type"`
	ValidationType        string `json:"validation_type,omitempty"`
	ValidationName        string `json:"validation_name,omitempty"`
	ValidationDescription string `json:"validation_description,omitempty"`
}

// UserSummary is a user as orders and requests show it.
type UserSummary struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email"`
}

// RequestSummary is a request as orders show it.
type RequestSummary struct {
	ID       int64  `json:"id"`
	Date     string `json:"date"`
	Type     string `json:"type"`
	Status   string `json:"status"`
	Comments string `json:"comments,omitempty"`
}

// CustomField is a filled custom field of an order.
type CustomField struct {
	MetadataID int64  `json:"metadata_id"`
	Label      string `json:"label,omitempty"`
	Value      string `json:"value"`
}

// Validity is an order's validity period.
type Validity struct {
	Years int `json:"years,omitempty"`
	Days  int `json:"days,omitempty"`
}

// Order is GET /order/certificate/{id}.
type Order struct {
	ID                          int64                `json:"id"`
	Certificate                 OrderCertificate     `json:"certificate"`
	Status                      string               `json:"status"`
	IsRenewal                   bool                 `json:"is_renewal"`
	IsRenewed                   bool                 `json:"is_renewed"`
	RenewedOrderID              int64                `json:"renewed_order_id,omitempty"`
	RenewalOfOrderID            int64                `json:"renewal_of_order_id,omitempty"`
	DateCreated                 string               `json:"date_created"`
	OrderValidTill              string               `json:"order_valid_till,omitempty"`
	ValidityYears               int                  `json:"validity_years,omitempty"`
	ValidityDays                int                  `json:"validity_days,omitempty"`
	CustomExpirationDate        string               `json:"custom_expiration_date,omitempty"`
	OrderValidity               *Validity            `json:"order_validity,omitempty"`
	Organization                *OrganizationSummary `json:"organization,omitempty"`
	Container                   ContainerSummary     `json:"container"`
	Product                     ProductSummary       `json:"product"`
	OrganizationContact         *Contact             `json:"organization_contact,omitempty"`
	TechnicalContact            *Contact             `json:"technical_contact,omitempty"`
	User                        *UserSummary         `json:"user,omitempty"`
	Requests                    []RequestSummary     `json:"requests"`
	DCVMethod                   string               `json:"dcv_method,omitempty"`
	DisableRenewalNotifications bool                 `json:"disable_renewal_notifications"`
	AutoRenew                   int                  `json:"auto_renew"`
	AutoReissue                 int                  `json:"auto_reissue"` // 1: a plan's next certificate is made 30 days before the current one ends
	CustomRenewalMessage        string               `json:"custom_renewal_message,omitempty"`
	AdditionalEmails            []string             `json:"additional_emails,omitempty"`
	Locale                      string               `json:"locale,omitempty"`
	PaymentMethod               string               `json:"payment_method"`
	CardLastFour                string               `json:"card_last_four,omitempty"`
	CSProvisioningMethod        string               `json:"cs_provisioning_method,omitempty"`
	AllowDuplicates             bool                 `json:"allow_duplicates"`
	DisableCT                   bool                 `json:"disable_ct"`
	Comments                    string               `json:"comments,omitempty"`
	AlternativeOrderID          string               `json:"alternative_order_id,omitempty"`
	CustomFields                []CustomField        `json:"custom_fields,omitempty"`
	ProductNameID               string               `json:"product_name_id"`
	IsMultiYearPlan             string               `json:"is_multi_year_plan,omitempty"` // "0" or "1"
	Price                       float64              `json:"price"`
	DCVRandomValue              string               `json:"dcv_random_value,omitempty"`
}

// Created parses DateCreated.
func (o *Order) Created() (time.Time, error) { return ParseTimestamp(o.DateCreated) }

// OrderListItem is one row of GET /order/certificate.
type OrderListItem struct {
	ID                          int64                `json:"id"`
	Certificate                 OrderCertificate     `json:"certificate"`
	Status                      string               `json:"status"`
	IsRenewed                   bool                 `json:"is_renewed"`
	DateCreated                 string               `json:"date_created"`
	Organization                *OrganizationSummary `json:"organization,omitempty"`
	ValidityYears               int                  `json:"validity_years,omitempty"`
	OrderValidTill              string               `json:"order_valid_till,omitempty"`
	DisableRenewalNotifications bool                 `json:"disable_renewal_notifications"`
	Container                   ContainerSummary     `json:"container"`
	Product                     ProductSummary       `json:"product"`
	HasDuplicates               bool                 `json:"has_duplicates"`
	ProductNameID               string               `json:"product_name_id"`
	NumberOfSANs                int                  `json:"number_of_sans"`
	IsMultiYearPlan             string               `json:"is_multi_year_plan,omitempty"`
	AlternativeOrderID          string               `json:"alternative_order_id,omitempty"`
}

// Created parses DateCreated.
func (o *OrderListItem) Created() (time.Time, error) { return ParseTimestamp(o.DateCreated) }

// OrderList is a page of orders.
type OrderList struct {
	Orders []OrderListItem `json:"orders"`
	Page   Page            `json:"page"`
}

// OrderCertificate places an order for the product (e.g. "ssl_securesite").
func (c *Client) OrderCertificate(ctx context.Context, productNameID string, req *OrderRequest) (*OrderResponse, error) {
	if req == nil {
		return nil, errors.New("certcentral: OrderCertificate needs a request")
	}
	var out OrderResponse
	err := c.call(ctx, request{method: http.MethodPost, path: "/order/certificate/" + url.PathEscape(productNameID), body: req}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateCSR supplies or replaces the CSR (or, for X9, the PEM public key)
// of an order that is not issued yet; an order in needs_csr then proceeds.
func (c *Client) UpdateCSR(ctx context.Context, orderID int64, csr string) error {
	return c.call(ctx, request{method: http.MethodPut, path: "/order/certificate/" + pathInt(orderID) + "/csr",
		body: map[string]string{"csr": csr}}, nil)
}

// Balance is the account balance in US dollars, as GET /finance/balance
// renders it ("1234.56").
func (c *Client) Balance(ctx context.Context) (string, error) {
	var out struct {
		Balance string `json:"balance"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/finance/balance"}, &out); err != nil {
		return "", err
	}
	return out.Balance, nil
}

// GetOrder reads an order by its id, or by its certificate's serial number
// or SHA-1 thumbprint.
func (c *Client) GetOrder(ctx context.Context, idOrSerialOrThumbprint string) (*Order, error) {
	var out Order
	err := c.call(ctx, request{method: http.MethodGet, path: "/order/certificate/" + url.PathEscape(idOrSerialOrThumbprint)}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// ListOrders reads one page of orders.
func (c *Client) ListOrders(ctx context.Context, opts *ListOptions) (*OrderList, error) {
	var out OrderList
	err := c.call(ctx, request{method: http.MethodGet, path: "/order/certificate", query: opts.values()}, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// allPageLimit is the page size AllOrders asks for (the API's maximum).
const allPageLimit = 1000

// AllOrders reads every order matching filters, page by page.
func (c *Client) AllOrders(ctx context.Context, filters map[string]string) ([]OrderListItem, error) {
	var all []OrderListItem
	for {
		page, err := c.ListOrders(ctx, &ListOptions{Offset: len(all), Limit: allPageLimit, Filters: filters})
		if err != nil {
			return nil, err
		}
		all = append(all, page.Orders...)
		if len(page.Orders) == 0 || len(all) >= page.Page.Total {
			return all, nil
		}
	}
}
