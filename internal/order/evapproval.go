package order

import (
	"context"
	"strings"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// checkEVApprovers reads who is to approve an EV order: its
// organization.contacts of contact_type ev_approver (CertCentral's label
// until 2022, which clients still send) or verified_contact, each by
// user_id or email, and each a verified contact of the order's
// organization for the product's validation type (validation.EVApprovers
// decides). Contacts of other types on an EV order, and every contact on
// orders that need no approval, are not read here (public clients send
// ev_approver on OV orders too).
func (s *Service) checkEVApprovers(product catalog.Product, in *validation.OrganizationInput, p *plan, list *errs.List) {
	typ := validation.EVApprovalType(product)
	if typ == "" || in == nil {
		return
	}
	var refs []validation.ApproverRef
	for _, c := range in.Contacts {
		switch strings.ToLower(strings.TrimSpace(c.ContactType)) {
		case "ev_approver", "verified_contact":
		default:
			continue
		}
		switch {
		case c.UserID.Bad:
			list.Add(errs.InvalidValue("organization", "contacts[].user_id must be an integer."))
			return
		case c.UserID.Set && c.UserID.V != 0:
			refs = append(refs, validation.ApproverRef{UserID: c.UserID.V})
		case strings.TrimSpace(c.Email) != "":
			refs = append(refs, validation.ApproverRef{Email: c.Email})
		default:
			list.Add(errs.InvalidValue("organization", "A contact of type %s names a verified contact by user_id or email.", c.ContactType))
			return
		}
	}
	approvers, err := s.Validation.EVApprovers(orgOf(p), typ, refs)
	if err != nil {
		list.Add(err)
		return
	}
	p.order.Extra.EVApprovers = approvers
}

// rejectTx makes o rejected inside tx because a verified contact refused
// to approve it: the certificate will never be signed, so an order paid
// from the balance is refunded, as a canceled one is.
func (s *Service) rejectTx(ctx context.Context, tx store.Tx, o *store.Order) error {
	if refund := refundOf(o); refund > 0 {
		if err := tx.ChargeBalance(ctx, o.AccountID, refund); err != nil {
			return err
		}
	}
	o.Status = store.OrderRejected
	return nil
}
