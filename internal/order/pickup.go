package order

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// The pickup of a client certificate ordered without a CSR: its first
// address receives a link (once every address is validated) whose page
// makes the key pair in the browser and sends only the CSR, or takes a
// CSR the recipient made. The link is spent in the transaction that stores
// the CSR, and only when the order can issue at once: a key whose
// certificate would have to wait is never taken.

// Pickup is what the pickup page shows of its order.
type Pickup struct {
	OrderID int64
	Email   string
	Product string
	// Ready: nothing but the key is missing, so a CSR sent now issues.
	Ready bool
	// Locale is the language of the link's message (the order's).
	Locale string
}

// PickedUp is the certificate a pickup made, and the language of its
// link's page.
type PickedUp struct {
	*store.Certificate
	Locale string
}

// ShowPickup reads a pickup link for its page; it changes nothing.
func (s *Service) ShowPickup(ctx context.Context, link string) (*Pickup, error) {
	t, err := s.Validation.PickupToken(ctx, link)
	if err != nil {
		return nil, err
	}
	o, product, org, err := s.pickupOrder(ctx, t)
	if err != nil {
		return nil, err
	}
	return &Pickup{OrderID: o.ID, Email: t.Subject, Product: product.Name, Ready: s.Validation.Validated(ctx, product, org, o), Locale: o.Locale}, nil
}

func (s *Service) pickupOrder(ctx context.Context, t *store.LinkToken) (*store.Order, catalog.Product, *store.Organization, error) {
	o, err := s.Store.Order(ctx, t.AccountID, t.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, catalog.Product{}, nil, errs.NotFoundf("pickup_link", "The order of this pickup link is gone.")
	}
	if err != nil {
		return nil, catalog.Product{}, nil, errs.Internalf(err, "read order")
	}
	if o.Status != store.OrderNeedsCSR {
		return nil, catalog.Product{}, nil, errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s: its certificate no longer waits for a key.", o.ID, o.Status)
	}
	product, ok := catalog.Lookup(o.ProductNameID)
	if !ok {
		return nil, catalog.Product{}, nil, errs.Internalf(fmt.Errorf("order %d has unknown product %q", o.ID, o.ProductNameID), "pickup")
	}
	var org *store.Organization
	if o.OrganizationID != 0 {
		if org, err = s.Store.Organization(ctx, t.AccountID, o.OrganizationID); err != nil {
			return nil, catalog.Product{}, nil, errs.Internalf(err, "read organization")
		}
	}
	return o, product, org, nil
}

// PickUp takes the CSR sent through a pickup link, issues the order and
// returns its certificate (still pending only when signing failed after
// the CSR was stored; the requester can download it later).
func (s *Service) PickUp(ctx context.Context, link, csr string) (*PickedUp, error) {
	ctx = account.Unscoped(ctx)
	t, err := s.Validation.PickupToken(ctx, link)
	if err != nil {
		return nil, err
	}
	o, product, org, err := s.pickupOrder(ctx, t)
	if err != nil {
		return nil, err
	}
	acct, err := s.Store.Account(ctx, t.AccountID)
	if err != nil {
		return nil, errs.Internalf(err, "read account")
	}
	actor := account.SystemActor(acct)
	ready := func(work *store.Order, _ crypto.PublicKey) error {
		if !s.Validation.Validated(ctx, product, org, work) {
			return errs.New(errs.Conflict, "order_not_ready", "Order %d is still being validated; nothing was sent. Open this link again once it is ready.", o.ID)
		}
		return nil
	}
	spend := func(tx store.Tx, cur *store.Order) error {
		if cur.Status != store.OrderNeedsCSR {
			return errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s: its certificate no longer waits for a key.", cur.ID, cur.Status)
		}
		return s.Validation.SpendPickup(ctx, tx, t)
	}
	if err := s.setCSR(ctx, actor, o.ID, csr, ready, spend); err != nil {
		return nil, err
	}
	cur, err := s.Store.Order(ctx, t.AccountID, o.ID)
	if err != nil {
		return nil, errs.Internalf(err, "read order")
	}
	cert, err := s.Store.Certificate(ctx, t.AccountID, cur.CertificateID)
	if err != nil {
		return nil, errs.Internalf(err, "read certificate")
	}
	return &PickedUp{Certificate: cert, Locale: cur.Locale}, nil
}
