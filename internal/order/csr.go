package order

import (
	"context"
	"crypto"
	"errors"
	"fmt"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// UpdateCSR supplies or replaces the CSR of an order whose certificate is
// not issued yet (PUT /order/certificate/{id}/csr). Spec §2.9 found the
// endpoint only by name; path and body are its [infer]. An order waiting
// in needs_csr moves to pending and issues when it is ready.
func (s *Service) UpdateCSR(ctx context.Context, actor account.Actor, orderID int64, raw string) error {
	return s.setCSR(ctx, actor, orderID, raw, nil, nil)
}

// setCSR is UpdateCSR; ready, when set, must hold for the order with the
// new CSR before anything is written, and inTx runs first in the
// transaction that stores it (the pickup link is spent there).
func (s *Service) setCSR(ctx context.Context, actor account.Actor, orderID int64, raw string, ready func(*store.Order, crypto.PublicKey) error, inTx func(store.Tx, *store.Order) error) error {
	o, err := s.Store.Order(ctx, actor.Account.ID, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("order", "Order %d was not found.", orderID)
	}
	if err != nil {
		return errs.Internalf(err, "read order")
	}
	product, ok := catalog.Lookup(o.ProductNameID)
	if !ok {
		return errs.Internalf(fmt.Errorf("order %d has unknown product %q", o.ID, o.ProductNameID), "update csr")
	}
	p := &plan{product: product}
	var list errs.List
	if err := s.checkKeySource(ctx, product, raw, true, p, &list); err != nil {
		return err
	}
	if err := list.Err(); err != nil {
		return err
	}
	if ready != nil {
		work := *o
		work.CSR = p.order.CSR
		if err := ready(&work, p.pub); err != nil {
			return err
		}
	}
	issueNow := false
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Order(ctx, actor.Account.ID, orderID)
		if err != nil {
			return err
		}
		if inTx != nil {
			if err := inTx(tx, cur); err != nil {
				return err
			}
		}
		switch cur.Status {
		case store.OrderNeedsApproval, store.OrderPending, store.OrderNeedsCSR:
		default:
			return errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s; its CSR can change only before issuance.", cur.ID, cur.Status)
		}
		cur.CSR, cur.UpdatedAt = p.order.CSR, s.now()
		if cur.Status == store.OrderNeedsCSR {
			cur.Status = store.OrderPending
		}
		issueNow = cur.Status == store.OrderPending
		if err := tx.UpdateOrder(ctx, cur); err != nil {
			return err
		}
		if cur.CertificateID != 0 {
			cert, err := tx.Certificate(ctx, actor.Account.ID, cur.CertificateID)
			if err != nil {
				return err
			}
			cert.CSR, cert.KeySize = cur.CSR, ca.KeySize(p.pub)
			if err := tx.UpdateCertificate(ctx, cert); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "order.csr_updated", fmt.Sprintf("order:%d", cur.ID), map[string]any{"status": cur.Status})
	})
	if err != nil {
		return wrapStoreErr(err, "update csr")
	}
	if issueNow {
		if err := s.IssuePending(ctx, actor, orderID); err != nil {
			s.log().ErrorContext(ctx, "issuance after CSR update failed", "order", orderID, "err", err)
		}
	}
	return nil
}
