// Package store defines what certorder keeps durably and the interface
// every backend implements. The model types carry explicit fields; the SQL
// lives in the backends (internal/store/sqlite, later postgres).
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned by lookups that find nothing; callers decide
// which API error it becomes.
var ErrNotFound = errors.New("store: not found")

// ErrInsufficientFunds is returned by ChargeBalance when the balance
// cannot cover the charge; nothing is debited.
var ErrInsufficientFunds = errors.New("store: insufficient funds")

// ErrConflict is returned when a unique constraint refuses a write.
var ErrConflict = errors.New("store: conflict")

// ErrUnavailable is in the chain of every error that says the database
// cannot be reached or cannot take writes at the moment: a lost or refused
// connection, a server shutting down, a full disk, a file that cannot be
// opened or written. Nothing about the request is wrong, and the same call
// may succeed later; the HTTP edge answers 503 with Retry-After. The
// backends recognise their drivers' errors and wrap them (Unavailable).
var ErrUnavailable = errors.New("store: unavailable")

// Unavailable wraps err, a driver's error that means the database is
// unreachable or full, so that errors.Is(err, ErrUnavailable) holds and
// the driver's own error stays in the chain for the logs.
func Unavailable(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Account is one tenant. Nothing crosses account boundaries.
type Account struct {
	ID        int64
	Name      string
	CreatedAt time.Time
	// ApprovalMode is "one_step" (default), "two_step" or "auto"; the
	// lifecycle issue makes it configurable.
	ApprovalMode      string
	AllowSkipApproval bool
	// BalanceCents is what orders paid by "balance" draw on (US cents).
	BalanceCents int64
	// RequireUniqueAltOrderID refuses a second order with the same
	// alternative_order_id, so that clients can retry an order safely.
	RequireUniqueAltOrderID bool
	// IssuingCASelection is the option "ICA selection" of seed 004: while
	// it is off, certificate.ca_cert_id is ignored and every order is
	// signed by its product's default issuing CA.
	IssuingCASelection bool
	// RevokeOrderWithCertificate: revoking the only certificate of an
	// order with the certificate call revokes the order too (spec §4.4's
	// account setting); off, the order stays issued and can be reissued.
	RevokeOrderWithCertificate bool
	// Notifications are the account's mail settings; the zero value is
	// CertCentral's defaults.
	Notifications AccountNotifications
}

// AccountNotifications are who receives an account's lifecycle mail: PUT
// /account/settings (the recipient groups of each kind of mail) and PUT
// /account (the addresses copied on all of it).
type AccountNotifications struct {
	// Recipients maps a setting (confirmation_email_recipients,
	// rejection_email_recipients, approval_email_recipients,
	// renewal_email_recipients) to the groups that receive that mail
	// (order-users, org-contact, tech-contact, admin). A setting absent
	// has its default; an empty list sends it to none of the groups.
	Recipients map[string][]string `json:"recipients,omitempty"`
	// AdminEmails receive a copy of every lifecycle mail (admin_email).
	AdminEmails []string `json:"admin_emails,omitempty"`
	// EmergencyEmails are kept as set (emergency_emails); certorder sends
	// no emergency mail.
	EmergencyEmails []string `json:"emergency_emails,omitempty"`
	// Other holds the documented settings certorder keeps without acting
	// on them (email_preference, account_fund_expiry_notices...), as sent.
	Other map[string]string `json:"other,omitempty"`
}

// Container is a division of an account.
type Container struct {
	ID          int64
	AccountID   int64
	ParentID    int64 // 0 = top
	Name        string
	Description string
	IsActive    bool
	CreatedAt   time.Time
}

// Access role ids of CertCentral users (spec §1.2).
const (
	RoleAdministrator  = 1
	RoleLimitedUser    = 2
	RoleFinanceManager = 3
	RoleManager        = 4
	RoleStandardUser   = 5
)

// User is a person or service user of an account.
type User struct {
	ID          int64
	AccountID   int64
	ContainerID int64
	Username    string
	FirstName   string
	LastName    string
	Email       string
	JobTitle    string
	Telephone   string
	AccessRole  int
	Status      string
	CreatedAt   time.Time
	// APIOnly marks a service user, which exists for its API key and
	// never signs in.
	APIOnly bool
	// Locale is the language of the mail the user receives (a code of
	// spec §7.3); empty takes the order's.
	Locale string
}

// APIKey is stored only as the SHA-256 of the key; keys are 256-bit random
// values, so a fast hash is enough (no password stretching is needed).
type APIKey struct {
	ID        int64
	AccountID int64
	UserID    int64
	Name      string
	Hash      []byte
	RoleID    int // 0 = inherit the user's role; 100..103 restrict
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Contact is a person attached to an organization or an order.
type Contact struct {
	UserID             int64  `json:"user_id,omitempty"` // an existing user of the account, when referenced by id
	FirstName          string `json:"first_name,omitempty"`
	LastName           string `json:"last_name,omitempty"`
	Email              string `json:"email,omitempty"`
	JobTitle           string `json:"job_title,omitempty"`
	Telephone          string `json:"telephone,omitempty"`
	TelephoneExtension string `json:"telephone_extension,omitempty"`
	// Unverified marks a verified user submitted while its validation was
	// in force: it is no verified contact (it approves nothing and gets no
	// approval email) until an administrator grants the validation again.
	Unverified bool `json:"unverified,omitempty"`
}

// Organization holds the subject details certificates carry.
type Organization struct {
	ID                  int64
	AccountID           int64
	ContainerID         int64
	Name                string
	AssumedName         string
	Address             string
	Address2            string
	City                string
	State               string
	Zip                 string
	Country             string
	Telephone           string
	JurisdictionCountry string
	JurisdictionState   string
	JurisdictionCity    string
	BusinessCategory    string
	RegistrationNumber  string
	IncorporatingAgency string
	OrganizationContact *Contact
	TechnicalContact    *Contact
	IsActive            bool
	CreatedAt           time.Time
	Validations         []OrgValidation // filled by reads
}

// OrgValidation is one validation level granted (or pending) for an org.
type OrgValidation struct {
	OrganizationID int64
	Type           string // ov, ev, cs, ev_cs, ds, smime
	Status         string // pending, active
	DateCreated    time.Time
	ValidatedUntil time.Time
	// VerifiedContacts are the verified users submitted for ev, cs and
	// ev_cs (spec §6.4): account users by UserID or new contacts; those
	// marked Unverified wait for the next grant.
	VerifiedContacts []Contact
}

// Order statuses (spec §2.2). Never invent others: clients throw on them.
const (
	OrderNeedsApproval  = "needs_approval"
	OrderPending        = "pending"
	OrderIssued         = "issued"
	OrderRejected       = "rejected"
	OrderCanceled       = "canceled"
	OrderRevoked        = "revoked"
	OrderExpired        = "expired"
	OrderReissuePending = "reissue_pending"
	// OrderNeedsCSR: a client or EV code signing order placed without a
	// CSR waits for one (spec §2.2 lists it among CertCentral's statuses).
	OrderNeedsCSR = "needs_csr"
)

// Request statuses and types (spec §3).
const (
	RequestSubmitted = "submitted"
	RequestPending   = "pending"
	RequestApproved  = "approved"
	RequestRejected  = "rejected"

	RequestNew       = "new_request"
	RequestReissue   = "reissue"
	RequestDuplicate = "duplicate"
	RequestRevoke    = "revoke"
)

// CustomField is one account-specific value set on an order.
type CustomField struct {
	MetadataID int64  `json:"metadata_id"`
	Value      string `json:"value"`
}

// Order is the purchased entitlement; its primary certificate is
// CertificateID.
type Order struct {
	ID                          int64
	AccountID                   int64
	ContainerID                 int64
	UserID                      int64
	OrganizationID              int64
	ProductNameID               string
	Status                      string
	CommonName                  string
	DNSNames                    []string
	OrganizationUnits           []string
	CSR                         string
	ServerPlatformID            int
	SignatureHash               string
	ProfileOption               string
	ValidityYears               int
	ValidityDays                int
	CustomExpirationDate        string // yyyy-MM-dd as sent
	OrderValidTill              time.Time
	Comments                    string
	AutoRenew                   int
	CustomRenewalMessage        string
	DisableRenewalNotifications bool
	AdditionalEmails            []string
	Locale                      string
	RenewalOfOrderID            int64
	RenewedThumbprint           string
	IsRenewed                   bool
	RenewedOrderID              int64
	PaymentMethod               string
	CardLast4                   string
	DCVMethod                   string
	DisableCT                   bool
	ApplyCRDiscount             bool
	CRSerialNumber              string
	SkipApproval                bool
	CustomFields                []CustomField
	AlternativeOrderID          string
	CertificateID               int64
	CreatedAt                   time.Time
	UpdatedAt                   time.Time

	Emails           []string // rfc822Name SANs of client certificates
	IPAddresses      []string // iPAddress SANs of X9 certificates
	DCVRandomValue   string   // one per order, for the token DCV methods
	DCVRandomExpires time.Time
	CACertID         string    // issuing intermediate chosen for the order; "" = the product's default
	CertValidTill    time.Time // end of the first certificate when cert_validity asked for less; zero = default
	PriceCents       int64
	Extra            OrderExtra
}

// OrderExtra holds the family-specific details of an order that no query
// filters on; backends store it as one JSON document.
type OrderExtra struct {
	OrderValidity        *Validity       `json:"order_validity,omitempty"`
	CertValidity         *Validity       `json:"cert_validity,omitempty"`
	DCVEmails            []DCVEmailScope `json:"dcv_emails,omitempty"`
	TechnicalContact     *Contact        `json:"technical_contact,omitempty"`
	OrganizationContact  *Contact        `json:"organization_contact,omitempty"`
	VerifiedContacts     []Contact       `json:"verified_contacts,omitempty"`
	CSProvisioningMethod string          `json:"cs_provisioning_method,omitempty"`
	ShipInfo             *ShipInfo       `json:"ship_info,omitempty"`
	KeyUsages            []string        `json:"key_usages,omitempty"`
	ExtendedKeyUsages    []string        `json:"extended_key_usages,omitempty"`
	CSAAgreedTo          bool            `json:"csa_agreed_to,omitempty"`
	CertificateDCVScope  string          `json:"certificate_dcv_scope,omitempty"`
	PromoCode            string          `json:"promo_code,omitempty"`
	VATNumber            string          `json:"vat_number,omitempty"`
	BillingAddress       *BillingAddress `json:"billing_address,omitempty"`
	CardholderName       string          `json:"cardholder_name,omitempty"`
	UseAuthKey           bool            `json:"use_auth_key,omitempty"`
	EnableGuestAccess    bool            `json:"enable_guest_access,omitempty"`
	// NoticesOff are the renewal notices (NoticeMinus90...) the order's
	// send_minus_* and send_plus_7 fields turned off; every other is sent.
	NoticesOff []string `json:"notices_off,omitempty"`
	// AutoReissueOff: the order sent auto_reissue 0, so a multi-year
	// plan's certificates are not reissued automatically.
	AutoReissueOff bool `json:"auto_reissue_off,omitempty"`
	// EVApprovers are the addresses of the verified contacts an EV order
	// named to approve it (organization.contacts of type ev_approver or
	// verified_contact); none means every verified contact of its
	// organization for the product's validation type.
	EVApprovers []string `json:"ev_approvers,omitempty"`
	// EVRound counts the rounds of approval emails sent for the order (0:
	// none yet); a message of an earlier round is dropped unsent.
	EVRound int `json:"ev_round,omitempty"`
	// EVApprovedBy and EVApprovedAt record the verified contact whose
	// emailed link approved the order, and when.
	EVApprovedBy string     `json:"ev_approved_by,omitempty"`
	EVApprovedAt *time.Time `json:"ev_approved_at,omitempty"`
}

// Validity is an order_validity or cert_validity object as sent.
type Validity struct {
	Years                int    `json:"years,omitempty"`
	Days                 int    `json:"days,omitempty"`
	CustomExpirationDate string `json:"custom_expiration_date,omitempty"` // dd MMM YYYY as sent
}

// DCVEmailScope is one dcv_emails entry of a DV order.
type DCVEmailScope struct {
	DNSName     string `json:"dns_name"`
	EmailDomain string `json:"email_domain"`
	Email       string `json:"email,omitempty"`
}

// ShipInfo is where an EV code signing token goes.
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

// BillingAddress of a card payment.
type BillingAddress struct {
	Address  string `json:"address"`
	Address2 string `json:"address2,omitempty"`
	City     string `json:"city"`
	State    string `json:"state,omitempty"`
	Country  string `json:"country"`
	Zip      string `json:"zip,omitempty"`
}

// Domain is a domain of an account: one per registrable domain an order
// names, or one added with POST /domain (which may be any FQDN).
type Domain struct {
	ID        int64
	AccountID int64
	Name      string
	CreatedAt time.Time

	OrganizationID  int64 // 0 for a domain recorded by an order
	ContainerID     int64
	IsActive        bool
	ValidationTypes []string // ov, ev: what the domain was submitted for
	DCVMethod       string   // the method of the current submission
	DCVToken        string   // random value of the token methods
	DCVTokenExpires time.Time
	EmailArray      []string
	Locale          string
	LastSubmittedAt time.Time // zero until submitted
	// DCV state: DCVStatus is pending or complete; a completed validation
	// is reusable until DCVExpiresAt and covers what DCVValidatedMethod
	// reaches (http-token: the exact name only).
	DCVStatus          string
	DCVValidatedMethod string
	DCVApprovedAt      time.Time
	DCVExpiresAt       time.Time
}

// Domain DCV statuses.
const (
	DCVPending  = "pending"
	DCVComplete = "complete"
)

// DomainFilter narrows Domains; zero values mean "any".
type DomainFilter struct {
	OrganizationID int64
	ContainerID    int64
	Search         string
	SearchContains bool
}

// Request is an approval item attached to an order.
type Request struct {
	ID          int64
	AccountID   int64
	OrderID     int64
	Type        string
	Status      string
	RequesterID int64
	ProcessorID int64
	ReviewerID  int64 // the first approver of a two-step request
	// Detail is what the request will do once approved, as JSON, for types
	// whose order alone does not say (revoke: which certificates, why).
	Detail           string
	Comments         string
	ProcessorComment string
	Date             time.Time
	DateProcessed    *time.Time
}

// Certificate statuses.
const (
	CertPending = "pending"
	CertIssued  = "issued"
	CertRevoked = "revoked"
	// CertRejected: a reissue or duplicate whose request was rejected or
	// canceled before it was issued; it never will be.
	CertRejected = "rejected"
)

// Certificate is one certificate of an order. It exists (pending, without
// DER) from the moment the API hands out its id; issuance fills it in.
type Certificate struct {
	ID            int64
	AccountID     int64
	OrderID       int64
	Status        string
	SerialNumber  string // upper-case hex; unique
	Thumbprint    string // upper-case hex SHA-1; unique
	IssuerID      string
	CommonName    string
	DNSNames      []string
	CSR           string
	SignatureHash string
	KeySize       int
	DER           []byte
	NotBefore     time.Time
	NotAfter      time.Time
	CreatedAt     time.Time
	IssuedAt      *time.Time
}

// Revocation records one revoked certificate. Reason is the RFC 5280
// CRLReason code (0 unspecified, 1 keyCompromise, 3 affiliationChanged,
// 4 superseded, 5 cessationOfOperation).
type Revocation struct {
	CertificateID int64
	AccountID     int64
	OrderID       int64
	SerialNumber  string // upper-case hex, as Certificate.SerialNumber
	IssuerID      string
	Reason        int
	RevokedAt     time.Time
	UserID        int64
	RequestID     int64 // the approved revoke request; 0 when skipped
	Comments      string
}

// SerialStatus is what OCSP needs about a serial, whatever its account.
type SerialStatus struct {
	SerialNumber string
	IssuerID     string
	NotAfter     time.Time
	Revocation   *Revocation // nil while the certificate is good
}

// Metadata is an account's custom field definition.
type Metadata struct {
	ID         int64
	AccountID  int64
	Label      string
	IsRequired bool
	IsActive   bool
	DataType   string // text, int, email_address, email_list, anything
}

// AuditEvent records who did what; it is written in the same transaction
// as the change it describes.
type AuditEvent struct {
	ID        int64
	AccountID int64
	UserID    int64
	At        time.Time
	Action    string
	Object    string
	Detail    string // JSON
}

// Page selects part of a list.
type Page struct {
	Offset int
	Limit  int
	// Sort is a list of columns the backend knows, each optionally
	// prefixed with "-" for descending; validated by the caller.
	Sort []string
}

// OrderFilter narrows ListOrders; zero values mean "any".
type OrderFilter struct {
	Status         string
	ProductNameID  string
	CommonName     string
	ContainerID    int64
	OrganizationID int64
	ID             int64
	// Search matches the common name: exact/prefix, or contains when
	// SearchContains is set (CertCentral's "%25" prefix).
	Search         string
	SearchContains bool
	// ScopeContainerIDs, when not nil, keeps only orders of those
	// containers (the caller's container and its descendants);
	// ScopeUserID, when set, only the orders that user placed.
	ScopeContainerIDs []int64
	ScopeUserID       int64
	// Issue 4: the rest of spec §2.3's filters.
	UserID                      int64
	CertificateID               int64  // the primary certificate
	SerialNumber                string // of the primary certificate, hex
	DomainName                  string // any DNS name on the order
	Email                       string // a certificate email or additional email
	MetadataID                  int64  // orders carrying that custom field
	IsRenewed                   *bool
	DisableRenewalNotifications *bool
	ValidTill                   TimeRange // the primary certificate's notAfter
	DateCreated                 TimeRange
}

// RequestFilter narrows ListRequests.
type RequestFilter struct {
	Status         string
	Type           string
	ContainerID    int64
	Search         string
	SearchContains bool
	// ScopeContainerIDs and ScopeUserID narrow by the request's order, as
	// in OrderFilter.
	ScopeContainerIDs []int64
	ScopeUserID       int64
	// Issue 4 (spec §3.2): requests whose order carries the custom field
	// MetadataID (with exactly MetadataValue when that is set), and a
	// range of the request date.
	MetadataID    int64
	MetadataValue string
	Date          TimeRange
}

// TimeRange bounds a date filter; a zero bound is open.
type TimeRange struct {
	From time.Time // inclusive
	To   time.Time // exclusive
}

// IsZero: no bound at all.
func (r TimeRange) IsZero() bool { return r.From.IsZero() && r.To.IsZero() }

// Certificate kinds beyond an order's first primary certificate.
const (
	CertKindReissue   = "reissue"
	CertKindDuplicate = "duplicate"
)

// CertificateLink says what a certificate is to its order when it is a
// reissue or a duplicate, and keeps what it is issued with while its
// request waits for approval.
type CertificateLink struct {
	CertificateID         int64
	AccountID             int64
	OrderID               int64
	Kind                  string // CertKindReissue or CertKindDuplicate
	RequestID             int64  // 0 when approval was skipped
	UserID                int64
	SubID                 int // duplicates: 1, 2, ... (shown as "001")
	ServerPlatformID      int
	CACertID              string
	Emails                []string
	IPAddresses           []string
	CertValidTill         time.Time // zero: the order's end or the industry limit
	ReplacesCertificateID int64     // reissue: the primary it replaces
	CreatedAt             time.Time
}

// LinkedCertificate is a reissue or duplicate with its link.
type LinkedCertificate struct {
	Certificate
	Link CertificateLink
}

// OrderStatusChange is one change of an order's status (or a new primary
// certificate of an issued order), recorded in the transaction of the
// change.
type OrderStatusChange struct {
	OrderID       int64
	CertificateID int64 // the order's primary certificate now
	Status        string
	At            time.Time
}

// UserFilter narrows Users; deleted users are never listed.
type UserFilter struct {
	ContainerID       int64
	ScopeContainerIDs []int64 // nil = every container
}

// User statuses.
const (
	UserActive  = "active"
	UserDeleted = "deleted"
)

// Reader is every lookup; all take the account so that one account can
// never read another's rows.
type Reader interface {
	AccountCount(ctx context.Context) (int, error)
	Account(ctx context.Context, id int64) (*Account, error)
	FirstAccount(ctx context.Context) (*Account, error)
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// KeyActor is the API key of that hash with its user and its account,
	// read together: what authenticates a request, in one query instead
	// of three. ErrNotFound when no key has that hash, or its user or
	// account is gone.
	KeyActor(ctx context.Context, hash []byte) (*APIKey, *User, *Account, error)
	User(ctx context.Context, accountID, id int64) (*User, error)
	Users(ctx context.Context, accountID int64, f UserFilter, page Page) ([]User, int, error)
	// UserByUsername looks across accounts: usernames are unique.
	UserByUsername(ctx context.Context, username string) (*User, error)
	APIKey(ctx context.Context, accountID, id int64) (*APIKey, error)
	// APIKeys lists an account's keys, of one user when userID is not 0.
	APIKeys(ctx context.Context, accountID, userID int64) ([]APIKey, error)
	Container(ctx context.Context, accountID, id int64) (*Container, error)
	Containers(ctx context.Context, accountID int64) ([]Container, error)
	Organization(ctx context.Context, accountID, id int64) (*Organization, error)
	Organizations(ctx context.Context, accountID int64, page Page) ([]Organization, int, error)
	FindOrganization(ctx context.Context, accountID int64, name, address, city, state, country string) (*Organization, error)
	Order(ctx context.Context, accountID, id int64) (*Order, error)
	OrderByCertificate(ctx context.Context, accountID int64, serialHex, thumbprint string) (*Order, error)
	// OrderByAlternativeID finds the newest order with that alternative_order_id.
	OrderByAlternativeID(ctx context.Context, accountID int64, altID string) (*Order, error)
	Orders(ctx context.Context, accountID int64, f OrderFilter, page Page) ([]Order, int, error)
	Request(ctx context.Context, accountID, id int64) (*Request, error)
	RequestsForOrder(ctx context.Context, accountID, orderID int64) ([]Request, error)
	Requests(ctx context.Context, accountID int64, f RequestFilter, page Page) ([]Request, int, error)
	Certificate(ctx context.Context, accountID, id int64) (*Certificate, error)
	CertificateBySerial(ctx context.Context, accountID int64, serialHex string) (*Certificate, error)
	SerialExists(ctx context.Context, serialHex string) (bool, error)
	Metadata(ctx context.Context, accountID int64) ([]Metadata, error)
	// Revocation is the account's revocation of a certificate, or ErrNotFound.
	Revocation(ctx context.Context, accountID, certificateID int64) (*Revocation, error)
	// RevokedByIssuer lists every revocation of an issuer across accounts
	// (for its CRL), oldest first.
	RevokedByIssuer(ctx context.Context, issuerID string) ([]Revocation, error)
	// SerialStatus finds an issued certificate by serial across accounts
	// (for OCSP); ErrNotFound when no issued certificate has it.
	SerialStatus(ctx context.Context, serialHex string) (*SerialStatus, error)
	Domain(ctx context.Context, accountID, id int64) (*Domain, error)
	DomainByName(ctx context.Context, accountID int64, name string) (*Domain, error)
	Domains(ctx context.Context, accountID int64, f DomainFilter, page Page) ([]Domain, int, error)
	// ValidatedDomains are the domains whose completed DCV is still
	// reusable at t.
	ValidatedDomains(ctx context.Context, accountID int64, at time.Time) ([]Domain, error)
	// OrganizationInUse: an order or a domain of the account names the
	// organization (whatever container it is in).
	OrganizationInUse(ctx context.Context, accountID, orgID int64) (bool, error)
	AuditEvents(ctx context.Context, accountID int64, limit int) ([]AuditEvent, error)
	// Issue 4: reissues, duplicates, status changes.
	CertificateLink(ctx context.Context, accountID, certificateID int64) (*CertificateLink, error)
	CertificateLinkByRequest(ctx context.Context, accountID, requestID int64) (*CertificateLink, error)
	LinkedCertificates(ctx context.Context, accountID, orderID int64, kind string) ([]LinkedCertificate, error)
	// StatusChanges lists, for each order whose last status change falls
	// in [from, to), that change; orders that changed again at or after
	// to are left out.
	StatusChanges(ctx context.Context, accountID int64, from, to time.Time) ([]OrderStatusChange, error)
	DCVReader
	MailReader
	BlockedKeyReader
	JobReader
	LinkReader
	ConsoleReader
	CensusReader
	FaultReader
}

// Writer is every change. Writes happen only inside InTx.
type Writer interface {
	CreateAccount(ctx context.Context, a *Account) error
	CreateContainer(ctx context.Context, c *Container) error
	CreateUser(ctx context.Context, u *User) error
	CreateAPIKey(ctx context.Context, k *APIKey) error
	SetUserStatus(ctx context.Context, accountID, id int64, status string) error
	// UpdateUser writes a user's names, contact details, container and role.
	UpdateUser(ctx context.Context, u *User) error
	// RevokeAPIKeys revokes the key id, or every key of userID when id is 0;
	// keys already revoked keep their revocation time.
	RevokeAPIKeys(ctx context.Context, accountID, userID, id int64, at time.Time) error
	CreateOrganization(ctx context.Context, o *Organization) error
	SetOrgValidation(ctx context.Context, v OrgValidation) error
	// SetOrgValidationContacts replaces the verified contacts of an
	// organization's validation of that type (which must exist).
	SetOrgValidationContacts(ctx context.Context, orgID int64, typ string, contacts []Contact) error
	// DeleteOrganization removes an organization and its validations.
	DeleteOrganization(ctx context.Context, accountID, id int64) error
	CreateDomain(ctx context.Context, d *Domain) error
	UpdateDomain(ctx context.Context, d *Domain) error
	// ChargeBalance adds delta (negative to debit) to the account balance;
	// a debit the balance cannot cover fails with ErrInsufficientFunds.
	ChargeBalance(ctx context.Context, accountID, deltaCents int64) error
	SetAccountOptions(ctx context.Context, a *Account) error
	// SetAccountNotifications replaces the account's mail settings.
	SetAccountNotifications(ctx context.Context, accountID int64, n AccountNotifications) error
	// EnsureDomain returns the account's domain of that name, creating it.
	EnsureDomain(ctx context.Context, accountID int64, name string, at time.Time) (*Domain, error)
	CreateOrder(ctx context.Context, o *Order) error
	UpdateOrder(ctx context.Context, o *Order) error
	// SetOrderCertificate points the account's order at its certificate
	// and changes nothing else: the order created in the same transaction
	// as its certificate needs only this, and an update of one unindexed
	// column leaves the indexes of orders alone where UpdateOrder rewrites
	// every one. ErrNotFound when the account has no such order.
	SetOrderCertificate(ctx context.Context, accountID, orderID, certID int64) error
	// CreateOrderCertificate creates c and points its order at it
	// (CreateCertificate, then SetOrderCertificate); with reserve it first
	// reserves c's serial for the order at at, leaving its issuance intent
	// (ReserveSerialKeepingIntent). On PostgreSQL it is one statement: one
	// round trip, where the three are three under the write lock.
	CreateOrderCertificate(ctx context.Context, c *Certificate, reserve bool, at time.Time) error
	CreateRequest(ctx context.Context, r *Request) error
	UpdateRequest(ctx context.Context, r *Request) error
	CreateCertificate(ctx context.Context, c *Certificate) error
	UpdateCertificate(ctx context.Context, c *Certificate) error
	ReserveSerial(ctx context.Context, serialHex string, orderID int64, at time.Time) error
	// ReserveSerialKeepingIntent is ReserveSerial leaving the serial's
	// issuance intent in place: a reserved serial is never abandoned, with
	// or without its intent (AbandonedIssuances), and the serial pool
	// deletes the intents of its recorded serials a batch at a time
	// (DeleteRecordedIntents) instead of one statement per order.
	ReserveSerialKeepingIntent(ctx context.Context, serialHex string, orderID int64, at time.Time) error
	CreateMetadata(ctx context.Context, m *Metadata) error
	// CreateRevocation records a revocation; ErrConflict when the
	// certificate is already revoked.
	CreateRevocation(ctx context.Context, r *Revocation) error
	// NextCRLNumber returns the issuer's next CRL number (1, 2, ...).
	NextCRLNumber(ctx context.Context, issuerID string) (int64, error)
	Audit(ctx context.Context, e *AuditEvent) error
	CreateCertificateLink(ctx context.Context, l *CertificateLink) error
	DCVWriter
	MailWriter
	BlockedKeyWriter
	JobWriter
	LinkWriter
	ConsoleWriter
	FaultWriter
}

// Tx is a transaction: reads see its own writes.
type Tx interface {
	Reader
	Writer
}

// WriteStats count a store's writes since it opened (/metrics): the
// transactions committed, the calls they carried (group commit puts the
// calls queued meanwhile into one), and, on SQLite, the pages written to
// the write-ahead log; Pages is -1 where the store cannot tell.
type WriteStats struct {
	Commits, Calls, Pages int64
}

// A WriteCounter is a store that reports its WriteStats.
type WriteCounter interface {
	WriteStats() WriteStats
}

// Store is a backend.
type Store interface {
	Reader
	// InTx runs fn in one transaction; an error from fn rolls it back.
	InTx(ctx context.Context, fn func(Tx) error) error
	// Health reports whether the store takes writes now (GET /healthz): an
	// error wrapping ErrUnavailable while it cannot.
	Health(ctx context.Context) error
	Close() error
}

// DCV check kinds: what a scheduled domain control validation check is for.
const (
	DCVKindOrder  = "order"
	DCVKindDomain = "domain"
)

// DCVCheck is the schedule of the background domain control validation of
// one pending order or domain: when it is next looked at, how often it has
// been, and what the last look found. It lives in the store so that a
// restart (or another replica) resumes where the last check left off.
type DCVCheck struct {
	AccountID int64
	Kind      string // DCVKindOrder or DCVKindDomain
	ObjectID  int64
	NextAt    time.Time
	Attempts  int
	LastError string // what the last check found missing, shown by check-dcv and the logs
	// EmailsSentAt is when the email method's messages were last sent;
	// zero means they are still to be sent.
	EmailsSentAt time.Time
	UpdatedAt    time.Time
}

// DCVEmailToken is one emailed approval link of the email DCV method. Only
// the SHA-256 of the link's secret is kept; the link works once.
type DCVEmailToken struct {
	ID        int64
	AccountID int64
	OrderID   int64 // 0 for a domain's own validation
	DomainID  int64
	Target    string // the name whose control the click proves (base domain or FQDN)
	Email     string
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// DCVReader reads the validation schedule and email links.
type DCVReader interface {
	// DueDCVChecks lists checks of every account due at or before at,
	// earliest first.
	DueDCVChecks(ctx context.Context, at time.Time, limit int) ([]DCVCheck, error)
	DCVCheck(ctx context.Context, accountID int64, kind string, objectID int64) (*DCVCheck, error)
	// DCVEmailTokenByHash finds a link across accounts (the link is the
	// credential); ErrNotFound when unknown.
	DCVEmailTokenByHash(ctx context.Context, hash []byte) (*DCVEmailToken, error)
	// UnscheduledDCV lists, across accounts, the orders in status pending
	// and the domains submitted and still pending that have no check yet,
	// as checks due at at.
	UnscheduledDCV(ctx context.Context, at time.Time) ([]DCVCheck, error)
	// RevocationCounts is how many revocations each issuer has, across
	// accounts: processes sharing a store watch it to learn of
	// revocations another process made.
	RevocationCounts(ctx context.Context) (map[string]int64, error)
	// AbandonedIssuances are the issuance intents of an issuer written
	// before before that no recorded certificate completed (no serial
	// reserved); the CRL lists them as revoked. AbandonedIssuance is one,
	// by serial (OCSP).
	AbandonedIssuances(ctx context.Context, issuerID string, before time.Time) ([]IssuanceIntent, error)
	HoldsCertificateSigning(ctx context.Context, accountID, certID int64, token string) (bool, error)
	AbandonedIssuance(ctx context.Context, serialHex string, before time.Time) (*IssuanceIntent, error)
	// Setting is a fact shared by every process on the store;
	// ErrNotFound when unset.
	Setting(ctx context.Context, key string) (string, error)
	// LatestCRL is the stored CRL of an issuer ID ("root" for the root's);
	// ErrNotFound when none was saved. CRLNumbers is the number of every
	// stored CRL by issuer ID, what replicas poll to notice a new one.
	LatestCRL(ctx context.Context, issuerID string) (*StoredCRL, error)
	CRLNumbers(ctx context.Context) (map[string]int64, error)
}

// DCVWriter changes them.
type DCVWriter interface {
	// PutDCVCheck creates or replaces the check of (kind, object).
	PutDCVCheck(ctx context.Context, c *DCVCheck) error
	// ScheduleDCVCheck creates the check unless (kind, object) has one.
	ScheduleDCVCheck(ctx context.Context, c *DCVCheck) error
	// ClaimDCVCheck moves a check's NextAt from prev to next only if it is
	// still prev, so that of several workers exactly one takes it.
	ClaimDCVCheck(ctx context.Context, kind string, objectID int64, prev, next time.Time) (bool, error)
	DeleteDCVCheck(ctx context.Context, kind string, objectID int64) error
	CreateDCVEmailToken(ctx context.Context, t *DCVEmailToken) error
	// DeleteDCVEmailToken removes a link that never reached its recipient.
	DeleteDCVEmailToken(ctx context.Context, accountID, id int64) error
	// UseDCVEmailTokens marks every unused link of (order, target) used.
	UseDCVEmailTokens(ctx context.Context, accountID, orderID int64, target string, at time.Time) error
	// CreateIssuanceIntent writes a serial down before it is signed;
	// ReserveSerial (the recording of the signed certificate) removes it.
	// DeleteIssuanceIntent removes it when nothing was signed.
	CreateIssuanceIntent(ctx context.Context, in *IssuanceIntent) error
	DeleteIssuanceIntent(ctx context.Context, serialHex string) error
	// DeleteRecordedIntents deletes the issuer's issuance intents whose
	// serial is reserved (ReserveSerialKeepingIntent), and says how many.
	DeleteRecordedIntents(ctx context.Context, issuerID string) (int64, error)
	// ClaimCertificateSigning claims the account's certificate certID for
	// signing, under token, until until, and reports whether it did: only
	// while the certificate is pending and nobody else's claim is live at
	// now, so that of several callers exactly one signs it.
	// HoldsCertificateSigning (a read) reports whether token still holds
	// the claim (not lapsed and taken by another). ReleaseCertificateSigning
	// drops token's claim when nothing was recorded; another's stays.
	ClaimCertificateSigning(ctx context.Context, accountID, certID int64, token string, now, until time.Time) (bool, error)
	ReleaseCertificateSigning(ctx context.Context, accountID, certID int64, token string) error
	// PutSettingIfAbsent sets key unless it is set.
	PutSettingIfAbsent(ctx context.Context, key, value string) error
	// ReplaceSetting sets key to value only if it holds old, and reports
	// whether it did: of several processes replacing one value, one wins.
	ReplaceSetting(ctx context.Context, key, old, value string) (bool, error)
	// AcquireLease takes the lease name for holder until expiresAt when it
	// is free, expired at now, or already holder's (a renewal), and reports
	// whether holder holds it afterwards: of several processes contending,
	// one wins until its lease expires.
	AcquireLease(ctx context.Context, name, holder string, now, expiresAt time.Time) (bool, error)
	// ReleaseLease gives the lease up if holder holds it, so that another
	// process may take it at once.
	ReleaseLease(ctx context.Context, name, holder string) error
	// SaveCRL stores c as its issuer's latest CRL unless the stored one's
	// number is as great or greater, and reports whether it did.
	SaveCRL(ctx context.Context, c *StoredCRL) (bool, error)
}

// StoredCRL is the latest signed CRL of one issuer, shared by the
// processes on a store: the holder of the CRL lease signs and saves it,
// every process serves it.
type StoredCRL struct {
	IssuerID   string // an intermediate's ID, or "root"
	Number     int64  // the CRL number as signed
	ThisUpdate time.Time
	NextUpdate time.Time
	Entries    int
	DER        []byte
}

// IssuanceIntent is a serial about to be signed, written before the
// signature in its own commit. The commit that records the certificate
// removes it; one that stays names a certificate that may exist unrecorded
// (a crash between signature and record), which CRLs and OCSP then treat as
// revoked.
type IssuanceIntent struct {
	SerialNumber string
	IssuerID     string
	AccountID    int64 // 0 for a serial written ahead, before any order took it
	OrderID      int64 // 0 when the order is created in the recording transaction
	CreatedAt    time.Time
}

// OutboxMail is one message to one recipient, waiting for the relay or
// sent. Payload is what the kind's renderer makes the subject and body
// from at sending time; it never holds a secret.
type OutboxMail struct {
	ID        int64
	AccountID int64
	Kind      string
	OrderID   int64 // what the message is about, for throttles; 0 for none
	DomainID  int64
	Recipient string
	Payload   string
	MessageID string
	CreatedAt time.Time
	// NextAt is when the message is next due, or its claim's end: until
	// an attempt fails (Attempts 0), a time of the business clock (first
	// its creation's, so that a message made in the sandbox's travelled
	// future is due by that clock); after a failure, a time of the real
	// clock (the relay's refusal is a real-world event).
	NextAt    time.Time
	Attempts  int
	LastError string
	SentAt    *time.Time
	GivenUpAt *time.Time
	// Subject and Body are the rendering the sandbox kept when it marked
	// the message sent instead of handing it to a relay; empty otherwise.
	Subject, Body string
}

// MailFilter narrows ListMail: an account's messages, of one order, one
// recipient or one kind when set.
type MailFilter struct {
	AccountID int64
	OrderID   int64
	Recipient string
	Kind      string
	Page      Page
}

// MailCount narrows a count of outbox messages: an account's messages of
// a kind since a time, of one order or one domain when set.
type MailCount struct {
	AccountID int64
	Kind      string
	OrderID   int64
	DomainID  int64
	Since     time.Time
}

// MailReader reads the outbox.
type MailReader interface {
	// DueMail lists the messages of every account neither sent nor given
	// up that are due, earliest first: one that never failed (Attempts 0)
	// when its NextAt is at or before at, business time; one that failed
	// before when its NextAt is at or before realAt, the real clock.
	DueMail(ctx context.Context, at, realAt time.Time, limit int) ([]OutboxMail, error)
	// CountMail counts the messages (sent or not) that c describes.
	CountMail(ctx context.Context, c MailCount) (int, error)
	// MailByOrder lists the messages about an order, oldest first.
	MailByOrder(ctx context.Context, accountID, orderID int64) ([]OutboxMail, error)
	// ListMail lists the messages f describes, newest first, and how many
	// there are in all.
	ListMail(ctx context.Context, f MailFilter) ([]OutboxMail, int, error)
}

// MailWriter changes it.
type MailWriter interface {
	CreateMail(ctx context.Context, m *OutboxMail) error
	// ClaimMail moves an unsent message's NextAt from prev to next (the
	// claim's end, on the message's clock) only if it is still prev, so
	// that of several senders exactly one sends it.
	ClaimMail(ctx context.Context, id int64, prev, next time.Time) (bool, error)
	// MailSent records that the relay accepted the message.
	MailSent(ctx context.Context, id int64, at time.Time) error
	// MailKept records a message as sent by the sandbox, which kept its
	// subject and body instead of handing them to a relay.
	MailKept(ctx context.Context, id int64, at time.Time, subject, body string) error
	// MailFailed records a failed attempt (attempts in all) and when to
	// try again, on the real clock.
	MailFailed(ctx context.Context, id int64, attempts int, lastError string, next time.Time) error
	// MailGivenUp records that the message will not be sent: the relay
	// refused it for good, or it failed too often.
	MailGivenUp(ctx context.Context, id int64, attempts int, lastError string, at time.Time) error
}

// BlockedKey is a public key certorder never certifies again: a
// certificate with it was revoked for keyCompromise (Baseline
// Requirements 6.1.1.3). A block holds for the whole CA, every account;
// the account, certificate and serial of the revocation that made it are
// kept for operators and audits.
type BlockedKey struct {
	SPKISHA256    []byte // SHA-256 of the DER SubjectPublicKeyInfo (ca.KeyFingerprint)
	BlockedAt     time.Time
	AccountID     int64
	CertificateID int64
	SerialNumber  string
}

// BlockedKeyReader looks blocked keys up, across accounts.
type BlockedKeyReader interface {
	// BlockedKey is the block of the key whose SubjectPublicKeyInfo has
	// that SHA-256; ErrNotFound when the key is not blocked.
	BlockedKey(ctx context.Context, spkiSHA256 []byte) (*BlockedKey, error)
}

// BlockedKeyWriter blocks keys.
type BlockedKeyWriter interface {
	// BlockKey blocks a key; a key blocked already keeps its first block,
	// and blocking it again is no error.
	BlockKey(ctx context.Context, k *BlockedKey) error
}
