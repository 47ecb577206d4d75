package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
)

// ErrNoRequester: the user who placed the order is gone or inactive and no
// active administrator can stand in, so nobody can ask for the automatic
// renewal or reissue.
var ErrNoRequester = errors.New("neither the order's requester nor an administrator is an active user")

// AutoReissue issues the next certificate of a multi-year plan in place of
// certID, the order's current one, with the order's CSR: the reissue the
// user who placed the order would have asked for, through the same rules
// (approval, validation, the plan's end capping the validity). It is made
// in that user's name (or a stand-in's, see requester), since
// CertCentral's auto-reissue is a request of the order's own; record runs
// in the reissue's transaction. It does
// nothing (nil result) when the order no longer has certID as its
// certificate.
func (s *Service) AutoReissue(ctx context.Context, accountID, orderID, certID int64, record func(tx store.Tx, orderID int64) error) (*CreateResult, error) {
	o, err := s.Store.Order(ctx, accountID, orderID)
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", orderID, err)
	}
	// Turned off since the job listed it, or replaced meanwhile.
	if o.CertificateID != certID || o.Status != store.OrderIssued || o.Extra.AutoReissueOff {
		return nil, nil
	}
	actor, fallback, err := s.requester(ctx, o)
	if err != nil {
		return nil, err
	}
	in := &CertOpInput{Certificate: &CertificateInput{CSR: o.CSR}, SkipApproval: flex.Bool{Set: true, V: o.SkipApproval},
		Comments: fmt.Sprintf("Automatic reissue of the multi-year plan's certificate %d.", certID)}
	in.record = fallback.wrap(ctx, s, actor, o, "auto_reissue", record)
	return s.certOperation(ctx, actor, orderID, store.CertKindReissue, in)
}

// requester is the user who placed o, acting again for it. When they are
// gone (deleted) or no longer active, the account's oldest active
// administrator who is a person (not a service user) stands in, and the
// returned standIn audits that in the operation's transaction; an account
// always keeps one (DeleteUser refuses to remove the last), so
// ErrNoRequester means nobody at all can act.
func (s *Service) requester(ctx context.Context, o *store.Order) (account.Actor, *standIn, error) {
	acct, err := s.Store.Account(ctx, o.AccountID)
	if err != nil {
		return account.Actor{}, nil, fmt.Errorf("read account %d: %w", o.AccountID, err)
	}
	u, err := s.Store.User(ctx, o.AccountID, o.UserID)
	switch {
	case err == nil && u.Status == store.UserActive:
		return account.Actor{Account: acct, User: u}, nil, nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return account.Actor{}, nil, fmt.Errorf("read user %d: %w", o.UserID, err)
	}
	gone := "deleted"
	if u != nil && u.Status != "" {
		gone = u.Status
	}
	users, _, err := s.Store.Users(ctx, o.AccountID, store.UserFilter{}, store.Page{})
	if err != nil {
		return account.Actor{}, nil, fmt.Errorf("read users: %w", err)
	}
	var admin *store.User
	for i := range users {
		c := &users[i]
		if c.AccessRole != store.RoleAdministrator || c.Status != store.UserActive || c.APIOnly {
			continue
		}
		if admin == nil || c.CreatedAt.Before(admin.CreatedAt) || c.CreatedAt.Equal(admin.CreatedAt) && c.ID < admin.ID {
			admin = c
		}
	}
	if admin == nil {
		return account.Actor{}, nil, ErrNoRequester
	}
	return account.Actor{Account: acct, User: admin}, &standIn{requesterID: o.UserID, requesterStatus: gone}, nil
}

// standIn records that an administrator acts for an order's requester who
// is gone.
type standIn struct {
	requesterID     int64
	requesterStatus string // deleted, or the status that is not active
}

// wrap returns record extended, when f is set, by the audit event
// order.requester_stand_in of o in the same transaction: who stood in for
// whom, why, and what they did (what: auto_renew, auto_reissue; the
// order or reissue's id).
func (f *standIn) wrap(ctx context.Context, s *Service, actor account.Actor, o *store.Order, what string, record func(tx store.Tx, id int64) error) func(tx store.Tx, id int64) error {
	if f == nil {
		return record
	}
	return func(tx store.Tx, id int64) error {
		if record != nil {
			if err := record(tx, id); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "order.requester_stand_in", fmt.Sprintf("order:%d", o.ID), map[string]any{
			"for": what, "order_id": id, "requester_id": f.requesterID, "requester_status": f.requesterStatus,
			"acting_user_id": actor.User.ID})
	}
}

// SetAutoReissue switches the automatic reissues of an order's plan on or
// off (PUT /order/certificate/{id}/auto-reissue). Any order of the
// caller's scope takes the setting, as an order takes auto_reissue when it
// is placed; it acts only while the order is issued and its plan outlasts
// its certificate. Turning it on forgets a reissue of the current
// certificate that the job passed over while it was off, so that the next
// round makes it if the certificate is within ReissueLead of its end.
func (s *Service) SetAutoReissue(ctx context.Context, actor account.Actor, orderID int64, in flex.Int) error {
	switch {
	case !in.Set && !in.Bad:
		return errs.MissingField("auto_reissue")
	case in.Bad || in.V != 0 && in.V != 1:
		return errs.InvalidValue("auto_reissue", "auto_reissue must be 0 or 1.")
	}
	off := in.V == 0
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		o, err := tx.Order(ctx, actor.Account.ID, orderID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("order", "Order %d was not found.", orderID)
		}
		if err != nil {
			return err
		}
		if o.Extra.AutoReissueOff == off {
			return nil // clients retry; nothing changes, nothing is audited
		}
		o.Extra.AutoReissueOff, o.UpdatedAt = off, s.now()
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		if !off && o.CertificateID != 0 {
			if err := tx.ForgetPassedOverNotice(ctx, o.AccountID, o.ID, store.AutoReissueNotice(o.CertificateID)); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "order.auto_reissue_updated", fmt.Sprintf("order:%d", o.ID), map[string]any{"auto_reissue": in.V})
	})
	return wrapStoreErr(err, "update auto-reissue")
}
