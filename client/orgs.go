package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// VerifiedUser is a verified user of an organization validation: an
// account user (ID set) or a contact that is no user (ID zero). In
// Organization.VerifiedContacts, Status is pending or active.
type VerifiedUser struct {
	ID        int64  `json:"id,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Email     string `json:"email,omitempty"`
	JobTitle  string `json:"job_title,omitempty"`
	Telephone string `json:"telephone,omitempty"`
	Status    string `json:"status,omitempty"`
}

// ValidationRequest asks for one organization validation: ov, ev, cs or
// ev_cs. ev, cs and ev_cs need VerifiedUsers ({ID: n} for an account
// user, or a new contact's names and email).
type ValidationRequest struct {
	Type          string         `json:"type"`
	VerifiedUsers []VerifiedUser `json:"verified_users,omitempty"`
}

// NewOrganization is the body of POST /organization. A server answers an
// identical organization's id unless SkipDuplicateOrgCheck.
type NewOrganization struct {
	OrderOrganization
	Validations []ValidationRequest `json:"validations,omitempty"`
}

// CreateOrganization adds an organization and returns its id.
func (c *Client) CreateOrganization(ctx context.Context, org *NewOrganization) (int64, error) {
	var out IDRef
	if err := c.call(ctx, request{method: http.MethodPost, path: "/organization", body: org}, &out); err != nil {
		return 0, err
	}
	return out.ID, nil
}

// SubmitOrganizationValidation submits an organization for validation
// (204 on success).
func (c *Client) SubmitOrganizationValidation(ctx context.Context, orgID int64, vals ...ValidationRequest) error {
	body := map[string]any{"validations": vals}
	return c.call(ctx, request{method: http.MethodPost, path: "/organization/" + pathInt(orgID) + "/validation", body: body}, nil)
}

// DeleteOrganization removes an organization no order or domain names.
func (c *Client) DeleteOrganization(ctx context.Context, orgID int64) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/organization/" + pathInt(orgID)}, nil)
}

// GetOrganizationValidations reads each validation of an organization
// with its status and validated_until.
func (c *Client) GetOrganizationValidations(ctx context.Context, orgID int64) ([]OrganizationValidation, error) {
	var out struct {
		Validations []OrganizationValidation `json:"validations"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/organization/" + pathInt(orgID) + "/validation"}, &out); err != nil {
		return nil, err
	}
	return out.Validations, nil
}

// GrantOrganizationValidation is certorder's own administrator call (PUT
// /organization/{id}/validation/{type}; CertCentral has none): the
// validation becomes active until validatedUntil, or for the type's full
// life when it is zero.
func (c *Client) GrantOrganizationValidation(ctx context.Context, orgID int64, typ string, validatedUntil time.Time) error {
	var body any
	if !validatedUntil.IsZero() {
		body = map[string]string{"validated_until": validatedUntil.UTC().Format(time.RFC3339)}
	}
	return c.call(ctx, request{method: http.MethodPut, path: "/organization/" + pathInt(orgID) + "/validation/" + url.PathEscape(typ), body: body}, nil)
}

// DomainValidationType is {"type": "ov"} of a domain submission.
type DomainValidationType struct {
	Type string `json:"type"`
}

// NewDomain is the body of POST /domain.
type NewDomain struct {
	Name         string                 `json:"name"`
	Organization IDRef                  `json:"organization"`
	Validations  []DomainValidationType `json:"validations"`
	DCVMethod    string                 `json:"dcv_method,omitempty"` // email (default), dns-txt-token, dns-cname-token, http-token
	Locale       string                 `json:"locale,omitempty"`
	EmailArray   []string               `json:"email_array,omitempty"`
	KeepWWW      bool                   `json:"keep_www,omitempty"`
}

// DomainSubmission is the body of POST /domain/{id}/validation; empty
// fields keep the domain's values.
type DomainSubmission struct {
	Validations  []DomainValidationType `json:"validations,omitempty"`
	DCVMethod    string                 `json:"dcv_method,omitempty"`
	Locale       string                 `json:"locale,omitempty"`
	EmailArray   []string               `json:"email_array,omitempty"`
	Organization *IDRef                 `json:"organization,omitempty"`
}

// ValidationEmails are where the email method's messages go.
type ValidationEmails struct {
	NameScope   string   `json:"name_scope"`
	BaseEmails  []string `json:"base_emails"`
	WhoisEmails []string `json:"whois_emails"`
	EmailArray  []string `json:"email_array,omitempty"`
}

// DomainSubmitted is the answer of a domain submission: ValidationEmails
// for the email method, DCVToken for the token methods. ID is set by
// AddDomain only.
type DomainSubmitted struct {
	ID               int64             `json:"id,omitempty"`
	ValidationEmails *ValidationEmails `json:"validation_emails,omitempty"`
	DCVToken         *DCVToken         `json:"dcv_token,omitempty"`
}

// DomainOrganization is the organization of a domain; IsActive is "1" or
// "0" there, as CertCentral sends it.
type DomainOrganization struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	Name        string `json:"name"`
	AssumedName string `json:"assumed_name,omitempty"`
	DisplayName string `json:"display_name"`
	IsActive    string `json:"is_active"`
}

// DomainValidation is one validation type of a domain.
type DomainValidation struct {
	Type           string `json:"type"`
	Name           string `json:"name"`
	Description    string `json:"description"`
	DateCreated    string `json:"date_created,omitempty"`
	ValidatedUntil string `json:"validated_until,omitempty"`
	Status         string `json:"status"`     // active, pending, expired
	DCVStatus      string `json:"dcv_status"` // complete, pending
}

// DomainContainer is the short container of a domain.
type DomainContainer struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// Domain is GET /domain/{id} (DCVToken only there) and an item of GET
// /domain.
type Domain struct {
	ID                    int64               `json:"id"`
	IsActive              bool                `json:"is_active"`
	Status                string              `json:"status"`
	IsPendingValidation   bool                `json:"is_pending_validation"`
	Name                  string              `json:"name"`
	DateCreated           string              `json:"date_created"`
	LastSubmittedDatetime string              `json:"last_submitted_datetime,omitempty"`
	DCVApprovalDatetime   string              `json:"dcv_approval_datetime,omitempty"`
	DCVExpirationDatetime string              `json:"dcv_expiration_datetime,omitempty"`
	DCVExpiration         map[string]string   `json:"dcv_expiration,omitempty"`
	Organization          *DomainOrganization `json:"organization,omitempty"`
	Validations           []DomainValidation  `json:"validations"`
	DCVMethod             string              `json:"dcv_method"`
	DCVToken              *DCVToken           `json:"dcv_token,omitempty"`
	Container             *DomainContainer    `json:"container,omitempty"`
}

// DomainList is a page of domains.
type DomainList struct {
	Domains []Domain `json:"domains"`
	Page    Page     `json:"page"`
}

// AddDomain adds a domain and submits it for validation.
func (c *Client) AddDomain(ctx context.Context, d *NewDomain) (*DomainSubmitted, error) {
	var out DomainSubmitted
	if err := c.call(ctx, request{method: http.MethodPost, path: "/domain", body: d}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListDomains reads one page of domains (filters: search, organization_id,
// container_id).
func (c *Client) ListDomains(ctx context.Context, opts *ListOptions) (*DomainList, error) {
	var out DomainList
	if err := c.call(ctx, request{method: http.MethodGet, path: "/domain", query: opts.values()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetDomain reads one domain.
func (c *Client) GetDomain(ctx context.Context, id int64) (*Domain, error) {
	var out Domain
	if err := c.call(ctx, request{method: http.MethodGet, path: "/domain/" + pathInt(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SubmitDomainValidation submits a domain for validation again.
func (c *Client) SubmitDomainValidation(ctx context.Context, id int64, s *DomainSubmission) (*DomainSubmitted, error) {
	if s == nil {
		s = &DomainSubmission{}
	}
	var out DomainSubmitted
	if err := c.call(ctx, request{method: http.MethodPost, path: "/domain/" + pathInt(id) + "/validation", body: s}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// NewDomainToken replaces the domain's DCV token (token methods only).
func (c *Client) NewDomainToken(ctx context.Context, id int64) (*DCVToken, error) {
	var out DCVToken
	if err := c.call(ctx, request{method: http.MethodPost, path: "/domain/" + pathInt(id) + "/dcv/token"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ChangeDomainDCVMethod sets the domain's DCV method and starts a new round.
func (c *Client) ChangeDomainDCVMethod(ctx context.Context, id int64, method string) (*DomainSubmitted, error) {
	var out DomainSubmitted
	body := map[string]string{"dcv_method": method}
	if err := c.call(ctx, request{method: http.MethodPut, path: "/domain/" + pathInt(id) + "/dcv/method", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GrantDomainValidation is certorder's own administrator call (PUT
// /domain/{id}/dcv/approve; CertCentral has none): DCV of the domain counts
// as passed, by method when set.
func (c *Client) GrantDomainValidation(ctx context.Context, id int64, method string) error {
	var body any
	if method != "" {
		body = map[string]string{"dcv_method": method}
	}
	return c.call(ctx, request{method: http.MethodPut, path: "/domain/" + pathInt(id) + "/dcv/approve", body: body}, nil)
}

// OrderContact is a verified contact in an order's validation status;
// UserID is "0" for a contact that is no account user.
type OrderContact struct {
	UserID    string `json:"user_id"`
	Name      string `json:"name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	JobTitle  string `json:"job_title,omitempty"`
	Telephone string `json:"telephone,omitempty"`
	Email     string `json:"email,omitempty"`
	Status    string `json:"status"`
}

// OrderOrgValidation is the organization validation an order needs.
type OrderOrgValidation struct {
	Type             string         `json:"type"`
	Name             string         `json:"name"`
	Description      string         `json:"description"`
	DateCreated      string         `json:"date_created,omitempty"`
	ValidatedUntil   string         `json:"validated_until,omitempty"`
	Status           string         `json:"status"`
	VerifiedContacts []OrderContact `json:"verified_contacts"`
}

// DNSNameValidation is the DCV state of the order's names under one domain.
type DNSNameValidation struct {
	DomainID      int64    `json:"domain_id,omitempty"`
	NameScope     string   `json:"name_scope"`
	ApprovalScope string   `json:"approval_scope"`
	Status        string   `json:"status"` // approved, pending
	Method        string   `json:"method,omitempty"`
	DNSNames      []string `json:"dns_names"`
}

// OrderValidation is GET /order/certificate/{id}/validation; OrderID is a
// string there.
type OrderValidation struct {
	OrderID                 string               `json:"order_id"`
	OrderStatus             string               `json:"order_status"`
	OrderNameScope          string               `json:"order_name_scope,omitempty"`
	OrderDCVMethod          string               `json:"order_dcv_method,omitempty"`
	OrganizationID          int64                `json:"organization_id,omitempty"`
	OrganizationName        string               `json:"organization_name,omitempty"`
	OrganizationValidations []OrderOrgValidation `json:"organization_validations,omitempty"`
	DNSNameValidations      []DNSNameValidation  `json:"dns_name_validations,omitempty"`
}

// GetOrderValidation reads what an order still waits for.
func (c *Client) GetOrderValidation(ctx context.Context, orderID int64) (*OrderValidation, error) {
	var out OrderValidation
	if err := c.call(ctx, request{method: http.MethodGet, path: "/order/certificate/" + pathInt(orderID) + "/validation"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
