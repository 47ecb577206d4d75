package order

import (
	"context"
	"fmt"
	"slices"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// AutoRenew places the renewal of an order with auto_renew: the order its
// requester would have placed by hand, in their name and through the same
// rules (CreateOrder: approval, payment, validation), naming the old order
// in renewal_of_order_id. It carries what the old order's family asks
// for (renewalInput): its product, names or emails, key, organization,
// container, validity, payment method, contacts, custom fields and
// notification settings, and auto_renew itself, so the renewal renews in
// its turn. record runs in the new order's transaction. It does nothing
// (nil result) when the order was renewed meanwhile or is no longer
// issued.
func (s *Service) AutoRenew(ctx context.Context, accountID, orderID int64, record func(tx store.Tx, orderID int64) error) (*CreateResult, error) {
	o, err := s.Store.Order(ctx, accountID, orderID)
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", orderID, err)
	}
	if o.Status != store.OrderIssued || o.IsRenewed || o.AutoRenew < 1 {
		return nil, nil
	}
	product, ok := catalog.Lookup(o.ProductNameID)
	if !ok {
		return nil, errs.New(errs.Invalid, "auto_renew_unsupported", "Order %d's product %s is no longer sold.", o.ID, o.ProductNameID)
	}
	actor, fallback, err := s.requester(ctx, o)
	if err != nil {
		return nil, err
	}
	in := renewalInput(product, o)
	// A custom field deactivated since would refuse the renewal; a field
	// made required since refuses it, as it would a renewal by hand.
	defs, err := s.Store.Metadata(ctx, o.AccountID)
	if err != nil {
		return nil, fmt.Errorf("read custom fields: %w", err)
	}
	in.CustomFields = slices.DeleteFunc(in.CustomFields, func(f CustomFieldInput) bool {
		return !slices.ContainsFunc(defs, func(d store.Metadata) bool { return d.ID == f.MetadataID.V && d.IsActive })
	})
	in.record = fallback.wrap(ctx, s, actor, o, "auto_renew", record)
	return s.CreateOrder(ctx, actor, o.ProductNameID, in)
}

// renewalInput is the order body that renews o, as its requester would
// send it for the product's family:
//   - every family: product, organization, container, validity (years,
//     else days; a custom end date, now past, renews for a year), payment
//     method, signature hash, issuing CA, server platform, organization
//     units, custom fields, contacts, additional_emails, locale, the
//     notification settings (each send_* switch as the old order had it,
//     whatever the account's or container's default is now),
//     skip_approval, disable_ct, auto_reissue;
//   - TLS and DV: the common name, dns_names, DCV method and scope, and
//     the CSR (the key of the current certificate: CertCentral's renewal
//     reuses the CSR);
//   - X9: the same, its IP addresses among the names, key usages, EKUs,
//     the subscriber agreement, VAT number and organization contacts;
//   - client and S/MIME: the common name, emails and the CSR when the old
//     order has one (else the renewal waits in needs_csr, as the original
//     did);
//   - code signing: the provisioning method and shipping address; the CSR
//     only where the method takes one (an HSM, "email", or the Sun Java
//     platform): a token method makes its key on the token when the
//     certificate is installed, so the renewal waits in needs_csr for the
//     new key (PUT .../csr), as DigiCert's token methods take no CSR.
//
// auto_renew is 0 or 1 on TLS, DV and X9, and carried as it is; on code
// signing and client products it counts the renewals left, so the renewal
// carries one less.
func renewalInput(product catalog.Product, o *store.Order) *CreateInput {
	in := &CreateInput{
		Certificate: &CertificateInput{SignatureHash: o.SignatureHash, CACertID: flex.String{V: o.CACertID},
			OrganizationUnits: o.OrganizationUnits},
		RenewalOfOrderID:            flex.Int{V: o.ID, Set: true},
		AutoRenew:                   flex.Int{V: int64(o.AutoRenew), Set: true},
		CustomRenewalMessage:        o.CustomRenewalMessage,
		DisableRenewalNotifications: flex.Bool{V: o.DisableRenewalNotifications, Set: true},
		AdditionalEmails:            o.AdditionalEmails,
		Locale:                      o.Locale,
		PaymentMethod:               o.PaymentMethod,
		DCVMethod:                   o.DCVMethod,
		CertificateDCVScope:         o.Extra.CertificateDCVScope,
		SkipApproval:                flex.Bool{V: o.SkipApproval, Set: true},
		DisableCT:                   flex.Bool{V: o.DisableCT, Set: true},
		Container:                   &flex.IDInput{ID: flex.Int{V: o.ContainerID, Set: true}},
		Comments:                    fmt.Sprintf("Automatic renewal of order %d.", o.ID),
		AutoReissue:                 flex.Int{V: 1, Set: true},
	}
	c := in.Certificate
	if o.ServerPlatformID != 0 {
		c.ServerPlatform = &flex.IDInput{ID: flex.Int{V: int64(o.ServerPlatformID), Set: true}}
	}
	if o.OrganizationID != 0 {
		in.Organization = &validation.OrganizationInput{ID: flex.Int{V: o.OrganizationID, Set: true}}
	}
	switch {
	case o.ValidityYears > 0:
		in.ValidityYears = flex.Int{V: int64(o.ValidityYears), Set: true}
	case o.ValidityDays > 0:
		in.ValidityDays = flex.Int{V: int64(o.ValidityDays), Set: true}
	default:
		in.ValidityYears = flex.Int{V: 1, Set: true}
	}
	if o.Extra.AutoReissueOff {
		in.AutoReissue = flex.Int{V: 0, Set: true}
	}
	on := func(notice string) flex.Bool {
		return flex.Bool{V: !slices.Contains(o.Extra.NoticesOff, notice), Set: true}
	}
	in.SendMinus90, in.SendMinus60, in.SendMinus30 = on(store.NoticeMinus90), on(store.NoticeMinus60), on(store.NoticeMinus30)
	in.SendMinus7, in.SendMinus3, in.SendPlus7 = on(store.NoticeMinus7), on(store.NoticeMinus3), on(store.NoticePlus7)
	for _, f := range o.CustomFields {
		in.CustomFields = append(in.CustomFields, CustomFieldInput{MetadataID: flex.Int{V: f.MetadataID, Set: true}, Value: flex.String{V: f.Value}})
	}
	for _, ct := range []struct {
		from *store.Contact
		kind string
		to   **validation.ContactInput
	}{{o.Extra.TechnicalContact, "technical_contact", &in.TechnicalContact}, {o.Extra.OrganizationContact, "organization_contact", &in.OrganizationContact}} {
		switch {
		case ct.from == nil:
		case ct.from.UserID != 0 && in.Organization != nil:
			// Seed 004 names a user of the account as a contact.
			in.Organization.Contacts = append(in.Organization.Contacts, validation.OrgContactInput{ContactType: ct.kind, UserID: flex.Int{V: ct.from.UserID, Set: true}})
		default:
			*ct.to = contactInput(ct.from)
		}
	}

	switch product.Family {
	case catalog.FamilyTLS, catalog.FamilyDV:
		c.CommonName, c.DNSNames, c.CSR = o.CommonName, o.DNSNames, o.CSR
		for _, sc := range o.Extra.DCVEmails {
			in.DCVEmails = append(in.DCVEmails, DCVEmailInput{DNSName: sc.DNSName, EmailDomain: sc.EmailDomain, Email: sc.Email})
		}
	case catalog.FamilyX9:
		// The names as checkX9Names reads them: IP addresses among dns_names.
		c.CommonName, c.CSR = o.CommonName, o.CSR
		c.DNSNames = append(slices.Clone(o.DNSNames), o.IPAddresses...)
		c.KeyUsages, c.ExtendedKeyUsages = o.Extra.KeyUsages, o.Extra.ExtendedKeyUsages
		in.CSAAgreedTo = flex.Bool{V: true, Set: true}
		in.VATNumber = o.Extra.VATNumber
		if in.Organization != nil {
			for _, v := range o.Extra.VerifiedContacts {
				oc := validation.OrgContactInput{ContactType: "verified_contact"}
				if v.UserID != 0 {
					oc.UserID = flex.Int{V: v.UserID, Set: true}
				} else {
					oc.ContactInput = *contactInput(&v)
				}
				in.Organization.Contacts = append(in.Organization.Contacts, oc)
			}
		}
	case catalog.FamilyClient:
		c.CommonName, c.Emails, c.CSR = o.CommonName, o.Emails, o.CSR
		in.AutoRenew.V = int64(max(o.AutoRenew-1, 0))
	case catalog.FamilyCodeSigning:
		in.CSProvisioningMethod = o.Extra.CSProvisioningMethod
		if si := o.Extra.ShipInfo; si != nil {
			in.ShipInfo = &ShipInfoInput{Name: si.Name, Addr1: si.Addr1, Addr2: si.Addr2, City: si.City, State: si.State,
				Zip: si.Zip, Country: si.Country, Method: si.Method}
		}
		if csrRequired(product, in) {
			c.CSR = o.CSR
		}
		in.AutoRenew.V = int64(max(o.AutoRenew-1, 0))
	}
	return in
}

func contactInput(c *store.Contact) *validation.ContactInput {
	return &validation.ContactInput{FirstName: c.FirstName, LastName: c.LastName, Email: c.Email,
		JobTitle: c.JobTitle, Telephone: c.Telephone, TelephoneExtension: c.TelephoneExtension}
}
