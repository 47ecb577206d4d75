package order

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

var requestStatuses = map[string]bool{
	store.RequestSubmitted: true, store.RequestPending: true, store.RequestApproved: true, store.RequestRejected: true,
}

// requestMoves lists the transitions PUT /request/{id}/status may make.
// A request never goes back: "submitted" waits for the first of two
// approvals (two-step accounts), "pending" for the last one. [infer] in the
// spec (§3.6); going straight from submitted to approved would skip the
// second approver, so it is refused.
var requestMoves = map[string]map[string]bool{
	store.RequestSubmitted: {store.RequestPending: true, store.RequestRejected: true},
	store.RequestPending:   {store.RequestApproved: true, store.RequestRejected: true},
}

// newRequestStatus is the status a new request starts in (spec §3.6):
// approved when auto-approved, submitted on two-step accounts (waiting for
// the first of two approvals), pending otherwise.
func newRequestStatus(actor account.Actor, auto bool) string {
	switch {
	case auto:
		return store.RequestApproved
	case actor.Account.ApprovalMode == "two_step":
		return store.RequestSubmitted
	}
	return store.RequestPending
}

// UpdateRequestStatus approves or rejects a request (PUT /request/{id}/status).
// Approving a new order's request submits the order for validation and,
// when everything is already validated, issues it before returning.
func (s *Service) UpdateRequestStatus(ctx context.Context, actor account.Actor, requestID int64, in *RequestStatusInput) error {
	mark := s.Notify.Mark() // before any transaction that may queue mail
	status := strings.TrimSpace(in.Status)
	if status == "" {
		return errs.MissingField("status")
	}
	if !requestStatuses[status] {
		return errs.InvalidValue("status", "status must be one of submitted, pending, approved, rejected.")
	}
	if !account.CanApprove(actor) {
		return errs.New(errs.Forbidden, "access_denied|missing_permission", "Only administrators and managers can approve or reject requests.")
	}
	var approvedOrder, approvedCert int64
	var revokedIssuers []string
	mailed := 0
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		r, err := tx.Request(ctx, actor.Account.ID, requestID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("request", "Request %d was not found.", requestID)
		}
		if err != nil {
			return err
		}
		if r.Status == status {
			return nil // idempotent: clients retry
		}
		if r.Status == store.RequestApproved || r.Status == store.RequestRejected {
			return errs.New(errs.Conflict, "invalid_request_status", "Request %d has already been %s.", r.ID, r.Status)
		}
		if !requestMoves[r.Status][status] {
			return errs.New(errs.Conflict, "invalid_request_status", "Request %d is %s and cannot be moved to %s.", r.ID, r.Status, status)
		}
		if status == store.RequestApproved && r.ReviewerID != 0 && r.ReviewerID == actor.User.ID {
			// Two-step approval means two people: whoever gave the first
			// approval cannot also give the second.
			return errs.New(errs.Forbidden, "access_denied|missing_permission",
				"Request %d needs its second approval from someone other than its first approver.", r.ID)
		}
		now := s.now()
		if r.Status == store.RequestSubmitted && status == store.RequestPending {
			r.ReviewerID = actor.User.ID
		}
		r.Status = status
		r.ProcessorComment = in.ProcessorComment
		if status == store.RequestApproved || status == store.RequestRejected {
			r.ProcessorID = actor.User.ID
			r.DateProcessed = &now
		}
		if err := tx.UpdateRequest(ctx, r); err != nil {
			return err
		}
		o, err := tx.Order(ctx, actor.Account.ID, r.OrderID)
		if err != nil {
			return err
		}
		if r.Type == store.RequestNew && o.Status == store.OrderNeedsApproval {
			switch status {
			case store.RequestApproved:
				cert := &store.Certificate{AccountID: o.AccountID, OrderID: o.ID, Status: store.CertPending, CommonName: o.CommonName,
					DNSNames: o.DNSNames, CSR: o.CSR, SignatureHash: o.SignatureHash, CreatedAt: now}
				o.Status = store.OrderNeedsCSR
				if o.CSR != "" {
					pub, err := storedKey(o.CSR)
					if err != nil {
						return fmt.Errorf("stored CSR of order %d: %w", o.ID, err)
					}
					cert.KeySize = ca.KeySize(pub)
					o.Status = store.OrderPending
					approvedOrder = o.ID
				}
				if err := tx.CreateCertificate(ctx, cert); err != nil {
					return err
				}
				o.CertificateID = cert.ID
				if mailed, err = s.Validation.OrderApproved(ctx, tx, o); err != nil {
					return err
				}
			case store.RequestRejected:
				o.Status = store.OrderRejected
			}
			o.UpdatedAt = now
			if err := tx.UpdateOrder(ctx, o); err != nil {
				return err
			}
		}
		if r.Type == store.RequestReissue || r.Type == store.RequestDuplicate {
			// Issue 4 (lifecycle.go): the reissue or duplicate behind it.
			if approvedCert, err = s.certRequestDecided(ctx, tx, r, o); err != nil {
				return err
			}
		}
		if r.Type == store.RequestRevoke {
			// Issue 5 (revoke.go): the certificates behind it are revoked.
			if revokedIssuers, err = s.revokeRequestDecided(ctx, tx, actor, r, o); err != nil {
				return err
			}
		}
		if status == store.RequestPending {
			// The first of two approvals: the others are asked for the
			// second, which its first approver may not give.
			err = s.Notify.RequestPending(ctx, tx, o, r, actor.User.ID, now)
		} else {
			err = s.Notify.RequestDecided(ctx, tx, o, r, now)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "request."+status, fmt.Sprintf("request:%d", r.ID),
			map[string]any{"order_id": r.OrderID, "type": r.Type, "processor_comment": in.ProcessorComment})
	})
	if err != nil {
		return apiErr(err, "update request status")
	}
	s.notifyRevoke(revokedIssuers)
	s.Validation.KickMail(mailed)
	s.Notify.KickSince(mark)
	if approvedOrder != 0 {
		// The approval stands even if issuance cannot happen now; the order
		// stays pending and is issued when it becomes ready.
		if err := s.IssuePending(ctx, actor, approvedOrder); err != nil {
			s.log().ErrorContext(ctx, "issuance after approval failed", "order", approvedOrder, "err", err)
		}
	}
	if approvedCert != 0 {
		if err := s.IssueLinked(ctx, actor, approvedCert); err != nil {
			s.log().ErrorContext(ctx, "issuance of reissue or duplicate after approval failed", "certificate", approvedCert, "err", err)
		}
	}
	return nil
}
