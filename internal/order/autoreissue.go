package order

import (
	"context"
	"errors"
	"fmt"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
)

// ErrNoRequester: the user who placed the order is gone or inactive, so
// nobody can ask for the automatic reissue in their name.
var ErrNoRequester = errors.New("the order's requester is no longer an active user")

// AutoReissue issues the next certificate of a multi-year plan in place of
// certID, the order's current one, with the order's CSR: the reissue the
// user who placed the order would have asked for, through the same rules
// (approval, validation, the plan's end capping the validity). It is made
// in that user's name, since CertCentral's auto-reissue is a request of
// the order's own; record runs in the reissue's transaction. It does
// nothing (nil result) when the order no longer has certID as its
// certificate.
func (s *Service) AutoReissue(ctx context.Context, accountID, orderID, certID int64, record func(tx store.Tx, orderID int64) error) (*CreateResult, error) {
	o, err := s.Store.Order(ctx, accountID, orderID)
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", orderID, err)
	}
	if o.CertificateID != certID || o.Status != store.OrderIssued {
		return nil, nil
	}
	actor, err := s.requester(ctx, o)
	if err != nil {
		return nil, err
	}
	in := &CertOpInput{Certificate: &CertificateInput{CSR: o.CSR}, SkipApproval: flex.Bool{Set: true, V: o.SkipApproval},
		Comments: fmt.Sprintf("Automatic reissue of the multi-year plan's certificate %d.", certID), record: record}
	return s.certOperation(ctx, actor, orderID, store.CertKindReissue, in)
}

// requester is the user who placed o, acting again for it; ErrNoRequester
// when they are gone or inactive.
func (s *Service) requester(ctx context.Context, o *store.Order) (account.Actor, error) {
	acct, err := s.Store.Account(ctx, o.AccountID)
	if err != nil {
		return account.Actor{}, fmt.Errorf("read account %d: %w", o.AccountID, err)
	}
	u, err := s.Store.User(ctx, o.AccountID, o.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Status != store.UserActive {
		return account.Actor{}, ErrNoRequester
	}
	if err != nil {
		return account.Actor{}, fmt.Errorf("read user %d: %w", o.UserID, err)
	}
	return account.Actor{Account: acct, User: u}, nil
}
