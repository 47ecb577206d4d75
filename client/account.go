package client

import (
	"context"
	"net/http"
	"net/url"
)

// Container is a division of the account.
type Container struct {
	ID          int64  `json:"id"`
	PublicID    string `json:"public_id,omitempty"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	ParentID    int64  `json:"parent_id"`
	TemplateID  int    `json:"template_id"`
	HasLogo     bool   `json:"has_logo"`
	IsActive    bool   `json:"is_active"`
}

// OrganizationValidation is one validation an organization holds.
type OrganizationValidation struct {
	Type           string `json:"type"` // ov, ev, ...
	Name           string `json:"name"`
	Description    string `json:"description"`
	DateCreated    string `json:"date_created"`
	ValidatedUntil string `json:"validated_until"`
	Status         string `json:"status"`
	// VerifiedUsers of ev, cs and ev_cs validations (see orgs.go).
	VerifiedUsers []VerifiedUser `json:"verified_users,omitempty"`
}

// Organization is GET /organization/{id}.
type Organization struct {
	ID                     int64                    `json:"id"`
	Status                 string                   `json:"status"`
	Name                   string                   `json:"name"`
	AssumedName            string                   `json:"assumed_name,omitempty"`
	DisplayName            string                   `json:"display_name"`
	IsActive               bool                     `json:"is_active"`
	Address                string                   `json:"address"`
	Address2               string                   `json:"address2,omitempty"`
	Zip                    string                   `json:"zip"`
	City                   string                   `json:"city"`
	State                  string                   `json:"state"`
	Country                string                   `json:"country"`
	Telephone              string                   `json:"telephone,omitempty"`
	JurisdictionCountry    string                   `json:"jurisdiction_country,omitempty"`
	JurisdictionState      string                   `json:"jurisdiction_state,omitempty"`
	JurisdictionCity       string                   `json:"jurisdiction_city,omitempty"`
	BusinessCategory       string                   `json:"business_category,omitempty"`
	RegistrationNumber     string                   `json:"registration_number,omitempty"`
	IncorporatingAgency    string                   `json:"incorporating_agency,omitempty"`
	Container              *Container               `json:"container,omitempty"`
	ContainerIDAssignments []string                 `json:"container_id_assignments"`
	OrganizationContact    *Contact                 `json:"organization_contact,omitempty"`
	TechnicalContact       *Contact                 `json:"technical_contact,omitempty"`
	VerifiedContacts       []VerifiedUser           `json:"verified_contacts,omitempty"`
	Validations            []OrganizationValidation `json:"validations"`
}

// OrganizationList is a page of organizations.
type OrganizationList struct {
	Organizations []Organization `json:"organizations"`
	Page          Page           `json:"page"`
}

// HashType is a signature hash a product allows.
type HashType struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SignatureHashTypes lists a product's hashes.
type SignatureHashTypes struct {
	AllowedHashTypes  []HashType `json:"allowed_hash_types"`
	DefaultHashTypeID string     `json:"default_hash_type_id"`
}

// Product is an orderable product. ListProducts leaves ServerPlatforms and
// LicenseAgreement empty; GetProduct fills them.
type Product struct {
	GroupName                     string             `json:"group_name"`
	NameID                        string             `json:"name_id"`
	Name                          string             `json:"name"`
	Type                          string             `json:"type"`
	ValidationType                string             `json:"validation_type"`
	ValidationName                string             `json:"validation_name"`
	ValidationDescription         string             `json:"validation_description"`
	DuplicatesAllowed             bool               `json:"duplicates_allowed"`
	AllowedValidityYears          []int              `json:"allowed_validity_years"`
	AllowedOrderValidityYears     []int              `json:"allowed_order_validity_years"`
	SignatureHashTypes            SignatureHashTypes `json:"signature_hash_types"`
	AdditionalDNSNamesAllowed     bool               `json:"additional_dns_names_allowed"`
	WildcardAllowed               bool               `json:"wildcard_allowed"`
	MaxDNSNames                   int                `json:"max_dns_names"`
	IncreasedCompatibilityAllowed bool               `json:"increased_compatibility_allowed"`
	CustomExpirationDateAllowed   bool               `json:"custom_expiration_date_allowed"`
	CSRRequired                   bool               `json:"csr_required"`
	AllowAutoRenew                bool               `json:"allow_auto_renew"`
	AllowedCACerts                []CACert           `json:"allowed_ca_certs"`
	ServerPlatforms               []ServerPlatform   `json:"server_platforms,omitempty"`
	LicenseAgreement              string             `json:"license_agreement,omitempty"`
}

// AccessRole is a user's role.
type AccessRole struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// User is GET /user/me.
type User struct {
	ID                      int64        `json:"id"`
	Username                string       `json:"username"`
	AccountID               int64        `json:"account_id"`
	FirstName               string       `json:"first_name"`
	LastName                string       `json:"last_name"`
	Email                   string       `json:"email"`
	JobTitle                string       `json:"job_title,omitempty"`
	Telephone               string       `json:"telephone,omitempty"`
	Status                  string       `json:"status"`
	Type                    string       `json:"type"`
	Container               *Container   `json:"container,omitempty"`
	HasContainerAssignments bool         `json:"has_container_assignments"`
	AccessRoles             []AccessRole `json:"access_roles"`
}

// Metadata is an account custom field definition.
type Metadata struct {
	ID         int64  `json:"id"`
	Label      string `json:"label"`
	IsRequired bool   `json:"is_required"`
	IsActive   bool   `json:"is_active"`
	DataType   string `json:"data_type"` // anything, text, int, email_address, email_list
}

// ListOrganizations reads one page of organizations.
func (c *Client) ListOrganizations(ctx context.Context, opts *ListOptions) (*OrganizationList, error) {
	var out OrganizationList
	if err := c.call(ctx, request{method: http.MethodGet, path: "/organization", query: opts.values()}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetOrganization reads one organization.
func (c *Client) GetOrganization(ctx context.Context, id int64) (*Organization, error) {
	var out Organization
	if err := c.call(ctx, request{method: http.MethodGet, path: "/organization/" + pathInt(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListContainers reads every container of the account.
func (c *Client) ListContainers(ctx context.Context) ([]Container, error) {
	var out struct {
		Containers []Container `json:"containers"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/container"}, &out); err != nil {
		return nil, err
	}
	return out.Containers, nil
}

// GetContainer reads one container.
func (c *Client) GetContainer(ctx context.Context, id int64) (*Container, error) {
	var out Container
	if err := c.call(ctx, request{method: http.MethodGet, path: "/container/" + pathInt(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListProducts reads the product catalog.
func (c *Client) ListProducts(ctx context.Context) ([]Product, error) {
	var out struct {
		Products []Product `json:"products"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/product"}, &out); err != nil {
		return nil, err
	}
	return out.Products, nil
}

// GetProduct reads one product with its server platforms.
func (c *Client) GetProduct(ctx context.Context, nameID string) (*Product, error) {
	var out Product
	if err := c.call(ctx, request{method: http.MethodGet, path: "/product/" + url.PathEscape(nameID)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Me reads the user the API key belongs to.
func (c *Client) Me(ctx context.Context) (*User, error) {
	var out User
	if err := c.call(ctx, request{method: http.MethodGet, path: "/user/me"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListMetadata reads the account's custom field definitions.
func (c *Client) ListMetadata(ctx context.Context) ([]Metadata, error) {
	var out struct {
		Metadata []Metadata `json:"metadata"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/account/metadata"}, &out); err != nil {
		return nil, err
	}
	return out.Metadata, nil
}

// CreateMetadata defines an active custom field and returns its id.
// dataType is one of anything, text, int, email_address, email_list.
func (c *Client) CreateMetadata(ctx context.Context, label, dataType string, required bool) (int64, error) {
	body := struct {
		Label      string `json:"label"`
		IsRequired bool   `json:"is_required"`
		DataType   string `json:"data_type,omitempty"`
	}{label, required, dataType}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := c.call(ctx, request{method: http.MethodPost, path: "/account/metadata", body: body}, &out); err != nil {
		return 0, err
	}
	return out.ID, nil
}
