package order

// Revocation (issue 5, spec §4.4): PUT /certificate/{id}/revoke and
// PUT /order/certificate/{id}/revoke, the revoke request they create, and
// its approval through PUT /request/{id}/status.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
)

// RevokeInput is the body of both revoke calls. The order call's
// parameter table names the comment "comment" while its examples send
// "comments" (spec §4.4): both are accepted, "comments" wins.
type RevokeInput struct {
	RevocationReason string    `json:"revocation_reason"`
	Comments         string    `json:"comments"`
	Comment          string    `json:"comment"`
	SkipApproval     flex.Bool `json:"skip_approval"`
}

// RevocationReasons maps the API's revocation_reason values to RFC 5280
// CRLReason codes: the reasons Mozilla's policy lets a subscriber choose.
var RevocationReasons = map[string]int{
	"unspecified":            0,
	"key_compromise":         reasonKeyCompromise,
	"affiliation_changed":    3,
	"superseded":             4,
	"cessation_of_operation": 5,
}

// RevokeResult says what a revoke call did. Request is nil when approval
// was skipped (the API answers 204); otherwise it is the revoke request,
// and Revoked tells whether the certificates are already revoked (an
// auto-approve account whose requester is an approver). Submitted is what
// the 201 says of the request: "submitted" rather than its status (see
// answersSubmitted).
type RevokeResult struct {
	Request   *store.Request
	Revoked   bool
	Submitted bool
}

// answersSubmitted: the 201 of a revoke call says "submitted" when the
// revocation went ahead at once (auto-approve) or when the requester is an
// administrator, who may complete it alone (skip_approval, or approving
// their own request). A partner's connector for CertCentral sends an
// administrator's key without skip_approval, takes only "submitted" as
// success and fails on any other status; another approves the request it
// gets right after. The request itself keeps its real status
// (GET /request/{id}), so that approving it works as for any request.
func answersSubmitted(actor account.Actor, revoked bool) bool {
	return revoked || actor.User != nil && actor.User.AccessRole == store.RoleAdministrator
}

// revokeTarget is what a pending revoke request will revoke once approved;
// it is kept as the request's Detail.
type revokeTarget struct {
	RequestID     int64    `json:"request_id"`
	OrderID       int64    `json:"order_id"`
	CertificateID int64    `json:"certificate_id"` // 0: every certificate of the order
	Reason        string   `json:"reason"`
	ReasonCode    int      `json:"reason_code"`
	Serials       []string `json:"serial_numbers"`
}

const actionRevokeRequested = "revoke.requested"

func invalidCertStatus(format string, args ...any) error {
	return errs.New(errs.Conflict, "invalid_certificate_status", format, args...)
}

// CanSkipRevokeApproval says whether a revocation by a may skip its
// request (skip_approval): edges offer the choice only where it counts.
func CanSkipRevokeApproval(a account.Actor) bool { return canSkipRevokeApproval(a) }

// canSkipRevokeApproval: revocation without approval needs an
// administrator (spec §1.2, §4.4), and the account must allow skipping.
func canSkipRevokeApproval(a account.Actor) bool {
	return a.Account.AllowSkipApproval && a.User != nil && a.User.AccessRole == store.RoleAdministrator
}

// checkRevokeInput validates the body and returns the reason, its code and
// the comments.
func checkRevokeInput(in *RevokeInput) (string, int, string, error) {
	var list errs.List
	reason := strings.ToLower(strings.TrimSpace(in.RevocationReason))
	if reason == "" {
		reason = "unspecified"
	}
	code, ok := RevocationReasons[reason]
	if !ok {
		list.Add(errs.InvalidValue("revocation_reason",
			"revocation_reason must be one of unspecified, key_compromise, affiliation_changed, superseded, cessation_of_operation."))
	}
	comments := strings.TrimSpace(in.Comments)
	field := "comments"
	if comments == "" {
		comments, field = strings.TrimSpace(in.Comment), "comment"
	}
	if len(comments) > 10000 {
		list.Add(errs.InvalidValue(field, "%s must be at most 10000 characters.", field))
	}
	if in.SkipApproval.Bad {
		list.Add(errs.InvalidValue("skip_approval", "skip_approval must be true or false."))
	}
	return reason, code, comments, list.Err()
}

// RevokeCertificate revokes one certificate, or asks for it (PUT
// /certificate/{id}/revoke).
func (s *Service) RevokeCertificate(ctx context.Context, actor account.Actor, certID int64, in *RevokeInput) (*RevokeResult, error) {
	return s.revoke(ctx, actor, 0, certID, in)
}

// RevokeOrder revokes the order and every issued, unrevoked and unexpired
// certificate of it (primary, replaced ones, duplicates), or asks for it
// (PUT /order/certificate/{id}/revoke).
func (s *Service) RevokeOrder(ctx context.Context, actor account.Actor, orderID int64, in *RevokeInput) (*RevokeResult, error) {
	return s.revoke(ctx, actor, orderID, 0, in)
}

func (s *Service) revoke(ctx context.Context, actor account.Actor, orderID, certID int64, in *RevokeInput) (*RevokeResult, error) {
	mark := s.Notify.Mark() // before any transaction that may queue mail
	reason, code, comments, err := checkRevokeInput(in)
	if err != nil {
		return nil, err
	}
	skip := in.SkipApproval.V && canSkipRevokeApproval(actor)
	auto := !skip && actor.Account.ApprovalMode == "auto" && account.CanApprove(actor)
	res := &RevokeResult{}
	var issuers []string
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		now := s.now()
		o, certs, err := s.revokeTargets(ctx, tx, actor.Account.ID, orderID, certID, now)
		if err != nil {
			return err
		}
		t := revokeTarget{OrderID: o.ID, CertificateID: certID, Reason: reason, ReasonCode: code}
		for _, c := range certs {
			t.Serials = append(t.Serials, c.SerialNumber)
		}
		var req *store.Request
		if !skip {
			status := newRequestStatus(actor, auto)
			req = &store.Request{AccountID: o.AccountID, OrderID: o.ID, Type: store.RequestRevoke, Status: status,
				RequesterID: actor.User.ID, Comments: comments, Date: now}
			if auto {
				req.ProcessorID, req.DateProcessed = actor.User.ID, &now
			}
			detail, err := json.Marshal(t)
			if err != nil {
				return fmt.Errorf("revoke request detail: %w", err)
			}
			req.Detail = string(detail)
			if err := tx.CreateRequest(ctx, req); err != nil {
				return err
			}
			t.RequestID = req.ID
			res.Request = req
			if err := s.audit(ctx, tx, actor, actionRevokeRequested, fmt.Sprintf("request:%d", req.ID), targetDetail(t, comments)); err != nil {
				return err
			}
			if !auto {
				return s.Notify.RequestPending(ctx, tx, o, req, 0, now)
			}
		}
		res.Revoked = true
		issuers, err = s.revokeIn(ctx, tx, actor, o, certs, t, actor.User.ID, comments, now)
		return err
	})
	if err != nil {
		return nil, wrapStoreErr(err, "revoke")
	}
	res.Submitted = res.Request != nil && answersSubmitted(actor, res.Revoked)
	s.notifyRevoke(issuers)
	s.Notify.KickSince(mark)
	return res, nil
}

func targetDetail(t revokeTarget, comments string) map[string]any {
	return map[string]any{"request_id": t.RequestID, "order_id": t.OrderID, "certificate_id": t.CertificateID,
		"reason": t.Reason, "reason_code": t.ReasonCode, "serial_numbers": t.Serials, "comments": comments}
}

// revokeTargets finds what a revoke call reaches: one certificate
// (certID), or every revocable certificate of the order (orderID). A
// certificate of an order with a pending reissue cannot be revoked (spec
// §4.4).
func (s *Service) revokeTargets(ctx context.Context, tx store.Tx, acct, orderID, certID int64, now time.Time) (*store.Order, []*store.Certificate, error) {
	if certID != 0 {
		c, err := tx.Certificate(ctx, acct, certID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, errs.NotFoundf("certificate", "Certificate %d was not found.", certID)
		}
		if err != nil {
			return nil, nil, err
		}
		o, err := tx.Order(ctx, acct, c.OrderID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil, errs.NotFoundf("certificate", "Certificate %d was not found.", certID)
		}
		if err != nil {
			return nil, nil, err
		}
		switch {
		case c.Status == store.CertRevoked:
			return nil, nil, invalidCertStatus("Certificate %d is already revoked.", c.ID)
		case c.Status != store.CertIssued || len(c.DER) == 0:
			return nil, nil, invalidCertStatus("Certificate %d is %s; only issued certificates can be revoked.", c.ID, c.Status)
		case !c.NotAfter.After(now):
			return nil, nil, invalidCertStatus("Certificate %d expired on %s; it cannot be revoked.", c.ID, c.NotAfter.Format(time.DateOnly))
		case o.Status == store.OrderReissuePending:
			return nil, nil, invalidOrderStatus("Order %d has a pending reissue; cancel it (PUT /order/certificate/%d/status) or wait for it before revoking.", o.ID, o.ID)
		}
		return o, []*store.Certificate{c}, nil
	}
	o, err := tx.Order(ctx, acct, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errs.NotFoundf("order", "Order %d was not found.", orderID)
	}
	if err != nil {
		return nil, nil, err
	}
	if o.Status == store.OrderReissuePending {
		return nil, nil, invalidOrderStatus("Order %d has a pending reissue; cancel it (PUT /order/certificate/%d/status) or wait for it before revoking.", o.ID, o.ID)
	}
	certs, err := orderRevocable(ctx, tx, o, now)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case len(certs) > 0:
	case o.Status == store.OrderRevoked:
		return nil, nil, invalidOrderStatus("Order %d is already revoked.", o.ID)
	case o.Status == store.OrderIssued && o.CertificateID != 0:
		// Its certificates were revoked one by one and it stayed active;
		// revoking it now ends it (no reissue, no duplicate).
	default:
		return nil, nil, invalidOrderStatus("Order %d is %s and has no issued, unexpired certificate to revoke.", o.ID, o.Status)
	}
	return o, certs, nil
}

// orderRevocable lists the order's issued, unrevoked, unexpired
// certificates: the primary, the ones reissues replaced, the reissues and
// the duplicates, by id.
func orderRevocable(ctx context.Context, tx store.Tx, o *store.Order, now time.Time) ([]*store.Certificate, error) {
	ids := []int64{}
	if o.CertificateID != 0 {
		ids = append(ids, o.CertificateID)
	}
	for _, kind := range []string{store.CertKindReissue, store.CertKindDuplicate} {
		linked, err := tx.LinkedCertificates(ctx, o.AccountID, o.ID, kind)
		if err != nil {
			return nil, err
		}
		for _, lc := range linked {
			ids = append(ids, lc.ID)
			if lc.Link.ReplacesCertificateID != 0 {
				ids = append(ids, lc.Link.ReplacesCertificateID)
			}
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var out []*store.Certificate
	for _, id := range ids {
		c, err := tx.Certificate(ctx, o.AccountID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if c.OrderID == o.ID && c.Status == store.CertIssued && len(c.DER) > 0 && c.NotAfter.After(now) {
			out = append(out, c)
		}
	}
	return out, nil
}

// revokeIn records the revocation of certs inside tx: a revocation row and
// the status of each certificate, the order's status when the order is
// revoked (revokesOrder), and an audit event. It returns the issuers whose
// CRLs changed.
func (s *Service) revokeIn(ctx context.Context, tx store.Tx, actor account.Actor, o *store.Order, certs []*store.Certificate,
	t revokeTarget, requester int64, comments string, now time.Time) ([]string, error) {
	var serials, issuers []string
	var ids []int64
	for _, c := range certs {
		rv := &store.Revocation{CertificateID: c.ID, AccountID: c.AccountID, OrderID: o.ID, SerialNumber: c.SerialNumber,
			IssuerID: c.IssuerID, Reason: t.ReasonCode, RevokedAt: now, UserID: requester, RequestID: t.RequestID, Comments: comments}
		if err := tx.CreateRevocation(ctx, rv); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil, invalidCertStatus("Certificate %d is already revoked.", c.ID)
			}
			return nil, err
		}
		c.Status = store.CertRevoked
		if err := tx.UpdateCertificate(ctx, c); err != nil {
			return nil, err
		}
		if t.ReasonCode == reasonKeyCompromise {
			if err := blockKeyOf(ctx, tx, c, now); err != nil {
				return nil, err
			}
		}
		serials, ids = append(serials, c.SerialNumber), append(ids, c.ID)
		if !slices.Contains(issuers, c.IssuerID) {
			issuers = append(issuers, c.IssuerID)
		}
	}
	whole, err := revokesOrder(ctx, tx, actor.Account, o, t, now)
	if err != nil {
		return nil, err
	}
	if whole && o.Status != store.OrderRevoked {
		o.Status, o.UpdatedAt = store.OrderRevoked, now
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return nil, err
		}
		if err := rejectWaitingDuplicates(ctx, tx, actor, o, now); err != nil {
			return nil, err
		}
	}
	action := "certificate.revoked"
	if len(certs) == 0 {
		action = "order.revoked" // its certificates were revoked before
	} else if err := s.Notify.Revoked(ctx, tx, o, certs, t.Reason, comments, now); err != nil {
		return nil, err
	}
	err = s.audit(ctx, tx, actor, action, fmt.Sprintf("order:%d", o.ID), map[string]any{
		"certificate_ids": ids, "serial_numbers": serials, "issuers": issuers, "reason": t.Reason, "reason_code": t.ReasonCode,
		"comments": comments, "request_id": t.RequestID, "requester_id": requester, "order_status": o.Status,
		"revoked_at": now.Format(time.RFC3339Nano), "keys_blocked": t.ReasonCode == reasonKeyCompromise})
	return issuers, err
}

// revokesOrder says whether a revocation ends the order (spec §4.4): the
// order call always does; the certificate call leaves the order active, so
// that it can be reissued, unless the account asks that revoking the only
// certificate of an order revoke the order too and no issued, unexpired
// certificate of the order is left (certs are already marked revoked in
// tx).
func revokesOrder(ctx context.Context, tx store.Tx, acct *store.Account, o *store.Order, t revokeTarget, now time.Time) (bool, error) {
	if t.CertificateID == 0 {
		return true, nil
	}
	if acct == nil || !acct.RevokeOrderWithCertificate {
		return false, nil
	}
	left, err := orderRevocable(ctx, tx, o, now)
	return len(left) == 0, err
}

// reasonKeyCompromise is RFC 5280's keyCompromise, RevocationReasons'
// key_compromise.
const reasonKeyCompromise = 1

// blockKeyOf blocks the key of a certificate revoked for keyCompromise,
// in the revocation's transaction, so that no order, reissue or duplicate
// of any account is certified with it again (Baseline Requirements
// 6.1.1.3). The key is read from the certificate itself.
func blockKeyOf(ctx context.Context, tx store.Tx, c *store.Certificate, now time.Time) error {
	cert, err := x509.ParseCertificate(c.DER)
	if err != nil {
		return fmt.Errorf("certificate %d: parse to block its key: %w", c.ID, err)
	}
	fp, err := ca.KeyFingerprint(cert.PublicKey)
	if err != nil {
		return fmt.Errorf("certificate %d: %w", c.ID, err)
	}
	return tx.BlockKey(ctx, &store.BlockedKey{SPKISHA256: fp, BlockedAt: now, AccountID: c.AccountID,
		CertificateID: c.ID, SerialNumber: c.SerialNumber})
}

// rejectWaitingDuplicates rejects the duplicate requests still waiting on
// an order that has just been revoked: a revoked order takes no new
// certificate, so they could never be approved.
func rejectWaitingDuplicates(ctx context.Context, tx store.Tx, actor account.Actor, o *store.Order, now time.Time) error {
	reqs, err := tx.RequestsForOrder(ctx, o.AccountID, o.ID)
	if err != nil {
		return err
	}
	for i := range reqs {
		r := &reqs[i]
		if r.Type != store.RequestDuplicate || (r.Status != store.RequestSubmitted && r.Status != store.RequestPending) {
			continue
		}
		r.Status, r.ProcessorID, r.DateProcessed = store.RequestRejected, actor.User.ID, &now
		r.ProcessorComment = "The order was revoked."
		if err := tx.UpdateRequest(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// revokeRequestDecided applies the final approval of a revoke request
// inside the approval's transaction: the certificates it names are
// revoked now. A rejection revokes nothing. It returns the issuers whose
// CRLs changed.
func (s *Service) revokeRequestDecided(ctx context.Context, tx store.Tx, actor account.Actor, r *store.Request, o *store.Order) ([]string, error) {
	if r.Status != store.RequestApproved {
		return nil, nil
	}
	t, err := pendingRevokeTarget(r)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if o.Status == store.OrderReissuePending {
		return nil, invalidOrderStatus("Order %d has a pending reissue; cancel it or wait for it before approving revoke request %d.", o.ID, r.ID)
	}
	var certs []*store.Certificate
	if t.CertificateID != 0 {
		c, err := tx.Certificate(ctx, r.AccountID, t.CertificateID)
		if err != nil {
			return nil, err
		}
		if c.Status == store.CertIssued && len(c.DER) > 0 {
			certs = append(certs, c)
		}
	} else if certs, err = orderRevocable(ctx, tx, o, now); err != nil {
		return nil, err
	}
	if len(certs) == 0 && (t.CertificateID != 0 || o.Status != store.OrderIssued) {
		// Revoked meanwhile by another request, or expired: the approval
		// stands and there is nothing left to do. An order request still
		// revokes an issued order whose certificates went one by one.
		return nil, nil
	}
	return s.revokeIn(ctx, tx, actor, o, certs, *t, r.RequesterID, r.Comments, now)
}

// pendingRevokeTarget reads what a revoke request was made for from the
// detail recorded with it.
func pendingRevokeTarget(r *store.Request) (*revokeTarget, error) {
	var t revokeTarget
	if err := json.Unmarshal([]byte(r.Detail), &t); err != nil {
		return nil, fmt.Errorf("revoke request %d: detail: %w", r.ID, err)
	}
	t.RequestID = r.ID
	return &t, nil
}

// notifyRevoke tells the CRL side which issuers have new revocations,
// after the commit.
func (s *Service) notifyRevoke(issuers []string) {
	if len(issuers) > 0 && s.OnRevoke != nil {
		s.OnRevoke(issuers)
	}
}
