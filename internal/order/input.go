package order

import (
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// CreateInput is the body of POST /order/certificate/{product} for the
// Secure Site family (seed 000). Unknown fields are ignored by the decoder,
// as real clients send extras.
type CreateInput struct {
	Certificate                 *CertificateInput             `json:"certificate"`
	RenewedThumbprint           string                        `json:"renewed_thumbprint"`
	ValidityYears               flex.Int                      `json:"validity_years"`
	ValidityDays                flex.Int                      `json:"validity_days"`
	CustomExpirationDate        string                        `json:"custom_expiration_date"`
	Comments                    string                        `json:"comments"`
	ApplyCRDiscount             flex.Bool                     `json:"apply_cr_discount"`
	SerialNumber                string                        `json:"serial_number"`
	AutoRenew                   flex.Int                      `json:"auto_renew"`
	AutoReissue                 flex.Int                      `json:"auto_reissue"`
	CustomRenewalMessage        string                        `json:"custom_renewal_message"`
	DisableRenewalNotifications flex.Bool                     `json:"disable_renewal_notifications"`
	SendMinus90                 flex.Bool                     `json:"send_minus_90"`
	SendMinus60                 flex.Bool                     `json:"send_minus_60"`
	SendMinus30                 flex.Bool                     `json:"send_minus_30"`
	SendMinus7                  flex.Bool                     `json:"send_minus_7"`
	SendMinus3                  flex.Bool                     `json:"send_minus_3"`
	SendPlus7                   flex.Bool                     `json:"send_plus_7"`
	AdditionalEmails            []string                      `json:"additional_emails"`
	Locale                      string                        `json:"locale"`
	RenewalOfOrderID            flex.Int                      `json:"renewal_of_order_id"`
	PaymentMethod               string                        `json:"payment_method"`
	CreditCard                  *CreditCardInput              `json:"credit_card"`
	DCVMethod                   string                        `json:"dcv_method"`
	SkipApproval                flex.Bool                     `json:"skip_approval"`
	DisableCT                   flex.Bool                     `json:"disable_ct"`
	Organization                *validation.OrganizationInput `json:"organization"`
	Container                   *flex.IDInput                 `json:"container"`
	CustomFields                []CustomFieldInput            `json:"custom_fields"`
	AlternativeOrderID          string                        `json:"alternative_order_id"`

	// Seeds 001, 002, 004: the multi-year plan model and the rest.
	OrderValidity        *ValidityInput           `json:"order_validity"`
	DCVEmails            []DCVEmailInput          `json:"dcv_emails"`
	TechnicalContact     *validation.ContactInput `json:"technical_contact"`
	OrganizationContact  *validation.ContactInput `json:"organization_contact"`
	UseAuthKey           flex.Bool                `json:"use_auth_key"`
	EnableGuestAccess    flex.Int                 `json:"enable_guest_access"`
	CSProvisioningMethod string                   `json:"cs_provisioning_method"`
	ShipInfo             *ShipInfoInput           `json:"ship_info"`
	CSAAgreedTo          flex.Bool                `json:"csa_agreed_to"`
	CertificateDCVScope  string                   `json:"certificate_dcv_scope"`
	PromoCode            string                   `json:"promo_code"`
	VATNumber            string                   `json:"vat_number"`
	BillingAddress       *BillingAddressInput     `json:"billing_address"`

	// record, when set, runs in the order's transaction with the new
	// order's id: the automatic renewal writes there the record that keeps
	// it from being placed twice.
	record func(tx store.Tx, orderID int64) error
}

// ValidityInput is order_validity or certificate.cert_validity (seed 001):
// custom_expiration_date overrides days, which override years.
type ValidityInput struct {
	Years                flex.Int `json:"years"`
	Days                 flex.Int `json:"days"`
	CustomExpirationDate string   `json:"custom_expiration_date"` // dd MMM YYYY, or any form of parseValidityDate
}

// DCVEmailInput is one dcv_emails scope of a DV order.
type DCVEmailInput struct {
	DNSName     string `json:"dns_name"`
	EmailDomain string `json:"email_domain"`
	Email       string `json:"email"`
}

// ShipInfoInput is where an EV code signing token is shipped.
type ShipInfoInput struct {
	Name    string `json:"name"`
	Addr1   string `json:"addr1"`
	Addr2   string `json:"addr2"`
	City    string `json:"city"`
	State   string `json:"state"`
	Zip     string `json:"zip"`
	Country string `json:"country"`
	Method  string `json:"method"`
}

// BillingAddressInput goes with a card payment (seed 004).
type BillingAddressInput struct {
	Address  string `json:"address"`
	Address2 string `json:"address2"`
	City     string `json:"city"`
	State    string `json:"state"`
	Country  string `json:"country"`
	Zip      string `json:"zip"`
}

// CertificateInput is the certificate object of an order.
type CertificateInput struct {
	CommonName        string        `json:"common_name"`
	DNSNames          []string      `json:"dns_names"`
	CSR               string        `json:"csr"`
	SignatureHash     string        `json:"signature_hash"`
	OrganizationUnits []string      `json:"organization_units"`
	ServerPlatform    *flex.IDInput `json:"server_platform"`
	ProfileOption     string        `json:"profile_option"`

	Emails            []string       `json:"emails"`        // seed 003
	CertValidity      *ValidityInput `json:"cert_validity"` // seed 001
	KeyUsages         []string       `json:"key_usages"`    // seed 004
	ExtendedKeyUsages []string       `json:"extended_key_usages"`
	CACertID          flex.String    `json:"ca_cert_id"`
}

// CustomFieldInput is one account-specific custom field value.
type CustomFieldInput struct {
	MetadataID flex.Int    `json:"metadata_id"`
	Value      flex.String `json:"value"`
}

// CreditCardInput is accepted with payment_method "card". Only the last
// four digits of the number are ever stored.
// [not found] in the spec: CertCentral's card object; this shape is ours.
type CreditCardInput struct {
	Number     string `json:"number"`
	Expiration struct {
		Month flex.Int `json:"month"`
		Year  flex.Int `json:"year"`
	} `json:"expiration"`
	// Seed 004's flat shape; either shape is accepted.
	ExpirationMonth flex.Int    `json:"expiration_month"`
	ExpirationYear  flex.Int    `json:"expiration_year"`
	CVV             flex.String `json:"cvv"` // a string or, as seed 004 sends it, an integer
	CardholderName  string      `json:"cardholder_name"`
	Name            string      `json:"name"`
	ZipCode         string      `json:"zip_code"`
}

// RequestStatusInput is the body of PUT /request/{id}/status.
type RequestStatusInput struct {
	Status           string `json:"status"`
	ProcessorComment string `json:"processor_comment"`
}
