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
func (s *Service) AutoReissue(ctx context.Context, accountID, orderID, certID int64, record func(store.Tx) error) (*CreateResult, error) {
	o, err := s.Store.Order(ctx, accountID, orderID)
	if err != nil {
		return nil, fmt.Errorf("read order %d: %w", orderID, err)
	}
	if o.CertificateID != certID || o.Status != store.OrderIssued {
		return nil, nil
	}
	acct, err := s.Store.Account(ctx, accountID)
	if err != nil {
		return nil, fmt.Errorf("read account %d: %w", accountID, err)
	}
	u, err := s.Store.User(ctx, accountID, o.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Status != store.UserActive {
		return nil, ErrNoRequester
	}
	if err != nil {
		return nil, fmt.Errorf("read user %d: %w", o.UserID, err)
	}
	in := &CertOpInput{Certificate: &CertificateInput{CSR: o.CSR}, SkipApproval: flex.Bool{Set: true, V: o.SkipApproval},
		Comments: fmt.Sprintf("Automatic reissue of the multi-year plan's certificate %d.", certID), record: record}
	return s.certOperation(ctx, account.Actor{Account: acct, User: u}, orderID, store.CertKindReissue, in)
}
