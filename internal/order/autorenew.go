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
// in renewal_of_order_id. It carries the old order's product, names, CSR,
// organization, container, validity, payment method, contacts and
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
	if !ok || product.Family != catalog.FamilyTLS && product.Family != catalog.FamilyDV {
		return nil, errs.New(errs.Invalid, "auto_renew_unsupported", "Automatic renewal of %s orders is not supported.", o.ProductNameID)
	}
	actor, err := s.requester(ctx, o)
	if err != nil {
		return nil, err
	}
	in := renewalInput(o)
	in.record = record
	return s.CreateOrder(ctx, actor, o.ProductNameID, in)
}

// renewalInput is the order body that renews o.
func renewalInput(o *store.Order) *CreateInput {
	in := &CreateInput{
		Certificate: &CertificateInput{CommonName: o.CommonName, DNSNames: o.DNSNames, CSR: o.CSR, SignatureHash: o.SignatureHash,
			CACertID: flex.String{V: o.CACertID}},
		RenewalOfOrderID:            flex.Int{V: o.ID, Set: true},
		AutoRenew:                   flex.Int{V: int64(o.AutoRenew), Set: true},
		CustomRenewalMessage:        o.CustomRenewalMessage,
		DisableRenewalNotifications: flex.Bool{V: o.DisableRenewalNotifications, Set: true},
		AdditionalEmails:            o.AdditionalEmails,
		Locale:                      o.Locale,
		PaymentMethod:               o.PaymentMethod,
		DCVMethod:                   o.DCVMethod,
		SkipApproval:                flex.Bool{V: o.SkipApproval, Set: true},
		DisableCT:                   flex.Bool{V: o.DisableCT, Set: true},
		Container:                   &flex.IDInput{ID: flex.Int{V: o.ContainerID, Set: true}},
		Comments:                    fmt.Sprintf("Automatic renewal of order %d.", o.ID),
	}
	if o.ServerPlatformID != 0 {
		in.Certificate.ServerPlatform = &flex.IDInput{ID: flex.Int{V: int64(o.ServerPlatformID), Set: true}}
	}
	if o.OrganizationID != 0 {
		in.Organization = &validation.OrganizationInput{ID: flex.Int{V: o.OrganizationID, Set: true}}
	}
	// The plan's length as ordered: years, else days; a custom end date
	// lies in the past by now, so its renewal runs a year.
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
	off := func(notice string) flex.Bool {
		if slices.Contains(o.Extra.NoticesOff, notice) {
			return flex.Bool{V: false, Set: true}
		}
		return flex.Bool{}
	}
	in.SendMinus90, in.SendMinus60, in.SendMinus30 = off(store.NoticeMinus90), off(store.NoticeMinus60), off(store.NoticeMinus30)
	in.SendMinus7, in.SendMinus3, in.SendPlus7 = off(store.NoticeMinus7), off(store.NoticeMinus3), off(store.NoticePlus7)
	for _, c := range []struct {
		from *store.Contact
		to   **validation.ContactInput
	}{{o.Extra.TechnicalContact, &in.TechnicalContact}, {o.Extra.OrganizationContact, &in.OrganizationContact}} {
		if c.from != nil {
			*c.to = &validation.ContactInput{FirstName: c.from.FirstName, LastName: c.from.LastName, Email: c.from.Email,
				JobTitle: c.from.JobTitle, Telephone: c.from.Telephone, TelephoneExtension: c.from.TelephoneExtension}
		}
	}
	return in
}
