package order

// Order operations after ordering (issue 4): cancel and the other order
// status updates (spec §2.5), reissue (§2.10) and duplicate (§2.11).

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
)

// OrderStatusInput is the body of PUT /order/certificate/{id}/status.
type OrderStatusInput struct {
	Status     string    `json:"status"`
	Note       string    `json:"note"`
	SendEmails flex.Bool `json:"send_emails"` // sent by older clients; no emails are sent
}

// CertOpInput is the body of POST /order/certificate/{id}/reissue and
// /duplicate.
type CertOpInput struct {
	Certificate          *CertificateInput `json:"certificate"`
	SkipApproval         flex.Bool         `json:"skip_approval"`
	Comments             string            `json:"comments"`
	CSProvisioningMethod string            `json:"cs_provisioning_method"`

	// record, when set, runs in the reissue's transaction: the automatic
	// reissue of a multi-year plan writes there the record that keeps it
	// from being made twice.
	record func(tx store.Tx, orderID int64) error
	// announced: the caller mails about the operation itself (the
	// automatic reissue's own auto_reissue mail), so the certificate's
	// issued mail would say the same twice.
	announced bool
}

// Order status update values (spec §2.5), case-sensitive.
const (
	StatusCanceled   = "canceled"
	StatusRenewed    = "renewed"
	StatusNotRenewed = "not_renewed"
)

// waitingPickup is CertCentral's status of an order issued but not yet
// collected; certorder never sets it, but a cancel from it is allowed.
const waitingPickup = "waiting_pickup"

// renewWindow: an order may be marked renewed from this long before its
// certificate expires (spec §2.5).
const renewWindow = 90 * 24 * time.Hour

func invalidOrderStatus(format string, args ...any) error {
	return errs.New(errs.Conflict, "invalid_order_status", format, args...)
}

// UpdateOrderStatus cancels an order or a pending reissue, or marks an
// order renewed / not renewed (PUT /order/certificate/{id}/status).
func (s *Service) UpdateOrderStatus(ctx context.Context, actor account.Actor, orderID int64, in *OrderStatusInput) error {
	// Any case: Lemur sends "CANCELED", and the live service takes it.
	status := strings.ToLower(strings.TrimSpace(in.Status))
	note := strings.TrimSpace(in.Note)
	switch status {
	case "":
		return errs.MissingField("status")
	case StatusCanceled:
		if note == "" {
			return errs.MissingField("note")
		}
		if len(note) > 10000 {
			return errs.InvalidValue("note", "note must be at most 10000 characters.")
		}
	case StatusRenewed, StatusNotRenewed:
	default:
		return errs.InvalidValue("status", "status must be one of canceled, renewed, not_renewed.")
	}
	if in.SendEmails.Bad {
		return errs.InvalidValue("send_emails", "send_emails must be true or false.")
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		o, err := tx.Order(ctx, actor.Account.ID, orderID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("order", "Order %d was not found.", orderID)
		}
		if err != nil {
			return err
		}
		now := s.now()
		from := o.Status
		detail := map[string]any{"status": status, "from": from, "note": note}
		switch status {
		case StatusCanceled:
			switch o.Status {
			case StatusCanceled:
				return nil // clients retry
			case store.OrderPending, waitingPickup, store.OrderNeedsCSR:
				if err := s.cancelOrder(ctx, tx, o); err != nil {
					return err
				}
				detail["refund_cents"] = refundOf(o)
			case store.OrderReissuePending:
				reqID, err := s.cancelReissue(ctx, tx, actor, o, note, now)
				if err != nil {
					return err
				}
				detail["request_id"] = reqID
			case store.OrderNeedsApproval:
				return invalidOrderStatus("Order %d is needs_approval; reject its request (PUT /request/{id}/status) instead of canceling it.", o.ID)
			default:
				return invalidOrderStatus("Order %d is %s; only pending, waiting_pickup and reissue_pending orders can be canceled.", o.ID, o.Status)
			}
		case StatusRenewed:
			if o.IsRenewed {
				return nil
			}
			if err := s.checkMarkRenewed(ctx, tx, o, now); err != nil {
				return err
			}
			o.IsRenewed = true
		case StatusNotRenewed:
			switch {
			case !o.IsRenewed:
				return nil
			case o.RenewedOrderID != 0:
				return invalidOrderStatus("Order %d was renewed by order %d; only an order marked renewed by hand can be marked not renewed.", o.ID, o.RenewedOrderID)
			}
			o.IsRenewed = false
		}
		o.UpdatedAt = now
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "order.status_updated", fmt.Sprintf("order:%d", o.ID), detail)
	})
	if err != nil {
		return wrapStoreErr(err, "update order status")
	}
	return nil
}

// refundOf is what a canceled order returns to the balance.
func refundOf(o *store.Order) int64 {
	if o.PaymentMethod == "balance" {
		return o.PriceCents
	}
	return 0
}

// cancelOrder cancels a new or renewal order that is not issued yet; an
// order paid from the balance is refunded, as CertCentral returns the
// funds of a canceled order.
func (s *Service) cancelOrder(ctx context.Context, tx store.Tx, o *store.Order) error {
	if refund := refundOf(o); refund > 0 {
		if err := tx.ChargeBalance(ctx, o.AccountID, refund); err != nil {
			return err
		}
	}
	o.Status = store.OrderCanceled
	return nil
}

// cancelReissue withdraws the pending reissue of an order: its request
// becomes rejected with the note as processor_comment (spec §2.5) and the
// order returns to issued with its current certificate.
func (s *Service) cancelReissue(ctx context.Context, tx store.Tx, actor account.Actor, o *store.Order, note string, now time.Time) (int64, error) {
	certs, err := tx.LinkedCertificates(ctx, o.AccountID, o.ID, store.CertKindReissue)
	if err != nil {
		return 0, err
	}
	var reqID int64
	for i := range certs {
		c := &certs[i]
		if c.Status != store.CertPending {
			continue
		}
		c.Status = store.CertRejected
		if err := tx.UpdateCertificate(ctx, &c.Certificate); err != nil {
			return 0, err
		}
		if c.Link.RequestID == 0 {
			continue
		}
		r, err := tx.Request(ctx, o.AccountID, c.Link.RequestID)
		if err != nil {
			return 0, err
		}
		if r.Status == store.RequestApproved || r.Status == store.RequestRejected {
			continue
		}
		r.Status, r.ProcessorComment, r.DateProcessed = store.RequestRejected, note, &now
		if actor.User != nil {
			r.ProcessorID = actor.User.ID
		}
		if err := tx.UpdateRequest(ctx, r); err != nil {
			return 0, err
		}
		reqID = r.ID
	}
	o.Status = store.OrderIssued
	return reqID, nil
}

// checkMarkRenewed: "renewed" is allowed from 90 days before the primary
// certificate expires, or after it expired (spec §2.5).
func (s *Service) checkMarkRenewed(ctx context.Context, tx store.Tx, o *store.Order, now time.Time) error {
	if o.Status != store.OrderIssued && o.Status != store.OrderExpired {
		return invalidOrderStatus("Order %d is %s; only issued or expired orders can be marked renewed.", o.ID, o.Status)
	}
	c, err := tx.Certificate(ctx, o.AccountID, o.CertificateID)
	if err != nil {
		return err
	}
	if c.NotAfter.Sub(now) > renewWindow {
		return invalidOrderStatus("Order %d's certificate expires on %s; an order can be marked renewed only within 90 days of its expiry or after it.",
			o.ID, c.NotAfter.Format(time.DateOnly))
	}
	return nil
}

// Clock is the service's current time, which status changes are
// recorded with.
func (s *Service) Clock() time.Time { return s.now() }

// Reissue replaces the order's certificate with one for a new key and,
// optionally, new names within the order's product (spec §2.10).
func (s *Service) Reissue(ctx context.Context, actor account.Actor, orderID int64, in *CertOpInput) (*CreateResult, error) {
	return s.certOperation(ctx, actor, orderID, store.CertKindReissue, in)
}

// Duplicate adds a certificate for another key with the order's names
// (spec §2.11).
func (s *Service) Duplicate(ctx context.Context, actor account.Actor, orderID int64, in *CertOpInput) (*CreateResult, error) {
	return s.certOperation(ctx, actor, orderID, store.CertKindDuplicate, in)
}

func (s *Service) certOperation(ctx context.Context, actor account.Actor, orderID int64, kind string, in *CertOpInput) (*CreateResult, error) {
	mark := s.Notify.Mark() // before any transaction that may queue mail
	o, err := s.Store.Order(ctx, actor.Account.ID, orderID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("order", "Order %d was not found.", orderID)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read order %d", orderID)
	}
	product, ok := catalog.Lookup(o.ProductNameID)
	if !ok {
		return nil, errs.Internalf(fmt.Errorf("order %d has unknown product %q", o.ID, o.ProductNameID), "%s", kind)
	}
	if err := checkOpStatus(o, kind); err != nil {
		return nil, err
	}
	if kind == store.CertKindDuplicate && !product.DuplicatesAllowed {
		return nil, errs.New(errs.Invalid, "duplicates_not_allowed", "%s does not allow duplicate certificates.", product.Name)
	}
	primary, err := s.Store.Certificate(ctx, actor.Account.ID, o.CertificateID)
	if err != nil {
		return nil, errs.Internalf(err, "read certificate of order %d", o.ID)
	}
	if in == nil {
		return nil, errs.MissingField("certificate")
	}
	p, err := s.opPlan(ctx, actor.Account, product, o, primary, kind, in)
	if err != nil {
		return nil, err
	}
	skip := in.SkipApproval.V && account.CanSkipApproval(actor)
	auto := !skip && actor.Account.ApprovalMode == "auto" && account.CanApprove(actor)
	approved := skip || auto
	var org *store.Organization
	if o.OrganizationID != 0 {
		if org, err = s.Store.Organization(ctx, actor.Account.ID, o.OrganizationID); err != nil {
			return nil, errs.Internalf(err, "read organization %d", o.OrganizationID)
		}
	}
	var issued *issuedCert
	if approved && s.Validation.Validated(ctx, product, org, &p.order) {
		if issued, err = s.sign(ctx, actor, product, &p.order, org, p.pub, p.order.DNSNames, 0, false); err != nil {
			return nil, err
		}
	}
	res := &CreateResult{Product: product, OrderID: o.ID}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Order(ctx, actor.Account.ID, o.ID)
		if err != nil {
			return err
		}
		if cur.Status != o.Status || cur.CertificateID != o.CertificateID {
			return invalidOrderStatus("Order %d changed while the %s was prepared; send it again.", o.ID, kind)
		}
		now := s.now()
		cert := &store.Certificate{AccountID: cur.AccountID, OrderID: cur.ID, Status: store.CertPending,
			CommonName: p.order.CommonName, DNSNames: p.order.DNSNames, CSR: p.order.CSR,
			SignatureHash: p.order.SignatureHash, KeySize: ca.KeySize(p.pub), CreatedAt: now}
		if issued != nil {
			if err := issued.reserve(ctx, tx, cur.ID, now); err != nil {
				return err
			}
			issued.fill(cert)
		}
		if err := tx.CreateCertificate(ctx, cert); err != nil {
			return err
		}
		link := &store.CertificateLink{CertificateID: cert.ID, AccountID: cur.AccountID, OrderID: cur.ID, Kind: kind,
			UserID: actor.User.ID, ServerPlatformID: p.order.ServerPlatformID, CACertID: p.order.CACertID,
			Emails: p.order.Emails, IPAddresses: p.order.IPAddresses, CertValidTill: p.order.CertValidTill, CreatedAt: now}
		if kind == store.CertKindReissue {
			link.ReplacesCertificateID = cur.CertificateID
		} else {
			dups, err := tx.LinkedCertificates(ctx, cur.AccountID, cur.ID, store.CertKindDuplicate)
			if err != nil {
				return err
			}
			link.SubID = len(dups) + 1
		}
		if !skip {
			status := newRequestStatus(actor, auto)
			req := &store.Request{AccountID: cur.AccountID, OrderID: cur.ID, Type: kind, Status: status,
				RequesterID: actor.User.ID, Comments: in.Comments, Date: now}
			if auto {
				req.ProcessorID, req.DateProcessed = actor.User.ID, &now
			}
			if err := tx.CreateRequest(ctx, req); err != nil {
				return err
			}
			if !auto {
				if err := s.Notify.RequestPending(ctx, tx, cur, req, 0, now); err != nil {
					return err
				}
			}
			link.RequestID = req.ID
			res.Requests = []RequestRef{{ID: req.ID, Status: req.Status}} // assigned, not appended: a transaction may run twice (PostgreSQL retries)
		}
		if err := tx.CreateCertificateLink(ctx, link); err != nil {
			return err
		}
		if kind == store.CertKindReissue {
			if issued != nil {
				applyReissue(cur, cert, link)
			} else {
				cur.Status = store.OrderReissuePending
			}
			cur.UpdatedAt = now
			if err := tx.UpdateOrder(ctx, cur); err != nil {
				return err
			}
		}
		// After the order's update: record reads the order as the
		// operation leaves it (issued with its new certificate, or
		// reissue_pending).
		if in.record != nil {
			if err := in.record(tx, cur.ID); err != nil {
				return err
			}
		}
		if issued != nil {
			if err := s.Validation.RecordOrderDomains(ctx, tx, product, &p.order); err != nil {
				return err
			}
			if !in.announced {
				if err := s.Notify.Issued(ctx, tx, cur, cert, kind, now); err != nil {
					return err
				}
			}
		}
		if approved {
			res.CertificateID = cert.ID
		}
		detail := map[string]any{"certificate_id": cert.ID, "common_name": cert.CommonName, "dns_names": cert.DNSNames,
			"request_id": link.RequestID, "order_status": cur.Status}
		if issued != nil {
			detail["serial_number"], detail["issuer"] = issued.serial, issued.issuer.ID
		}
		return s.audit(ctx, tx, actor, "order."+kind, fmt.Sprintf("order:%d", cur.ID), detail)
	})
	if err != nil {
		return nil, wrapStoreErr(err, kind)
	}
	s.Notify.KickSince(mark)
	if issued != nil {
		res.Chain = append([]*x509.Certificate{issued.cert}, s.CA.Chain(issued.issuer)...)
	}
	return res, nil
}

// checkOpStatus: reissues and duplicates are made of an issued order; a
// second reissue waits until the first is issued or canceled.
func checkOpStatus(o *store.Order, kind string) error {
	switch {
	case o.Status == store.OrderIssued && o.CertificateID != 0:
		return nil
	case o.Status == store.OrderReissuePending && kind == store.CertKindReissue:
		return invalidOrderStatus("Order %d already has a pending reissue; cancel it (PUT /order/certificate/%d/status) or wait for it.", o.ID, o.ID)
	case o.Status == store.OrderReissuePending:
		return invalidOrderStatus("Order %d has a pending reissue; a duplicate can be made once it is issued or canceled.", o.ID)
	default:
		return invalidOrderStatus("Order %d is %s; only issued orders can be %sd.", o.ID, o.Status, strings.TrimSuffix(kind, "e"))
	}
}

// applyReissue makes an issued reissue the order's primary certificate;
// the order now describes it.
func applyReissue(o *store.Order, cert *store.Certificate, link *store.CertificateLink) {
	o.CertificateID = cert.ID
	o.CommonName, o.DNSNames, o.CSR, o.SignatureHash = cert.CommonName, cert.DNSNames, cert.CSR, cert.SignatureHash
	o.Emails, o.IPAddresses = link.Emails, link.IPAddresses
	o.CACertID, o.ServerPlatformID = link.CACertID, link.ServerPlatformID
	o.Status = store.OrderIssued
}

// opPlan checks a reissue or duplicate body with the ordering rules of the
// order's product. Fields the body leaves out keep the order's values; a
// new CSR is always required.
func (s *Service) opPlan(ctx context.Context, acct *store.Account, product catalog.Product, o *store.Order, primary *store.Certificate, kind string, in *CertOpInput) (*plan, error) {
	c := in.Certificate
	if c == nil {
		return nil, errs.MissingField("certificate")
	}
	p := &plan{product: product, order: *o}
	po := &p.order
	po.Emails, po.IPAddresses = nil, nil
	var list errs.List
	cc := *c
	// Without a common name the order's names stay; a new common name
	// without dns_names is the certificate's only name (besides what the
	// product adds, such as a wildcard's base domain).
	keepNames := strings.TrimSpace(cc.CommonName) == "" && cc.DNSNames == nil
	if strings.TrimSpace(cc.CommonName) == "" && product.Family != catalog.FamilyCodeSigning {
		cc.CommonName = o.CommonName
	}
	switch product.Family {
	case catalog.FamilyTLS, catalog.FamilyDV:
		if keepNames {
			cc.DNSNames = o.DNSNames
		}
		s.checkNames(product, &cc, p, &list)
	case catalog.FamilyX9:
		if keepNames {
			cc.DNSNames = append(append([]string{}, o.DNSNames...), o.IPAddresses...)
		}
		checkX9Names(product, &cc, p, &list)
	case catalog.FamilyClient:
		if cc.Emails == nil {
			cc.Emails = o.Emails
		}
		checkClientNames(product, &cc, po, &list)
	}
	if kind == store.CertKindDuplicate && list.Err() == nil {
		checkDuplicateNames(product, o, po, &list)
	}
	if err := s.checkKeySource(ctx, product, c.CSR, true, p, &list); err != nil {
		return nil, err
	}
	if hash := strings.ToLower(strings.TrimSpace(c.SignatureHash)); hash != "" {
		if contains(product.HashTypes, hash) {
			po.SignatureHash = hash
		} else {
			list.Add(errs.InvalidValue("signature_hash", "signature_hash must be one of %s.", strings.Join(product.HashTypes, ", ")))
		}
	}
	if c.ServerPlatform != nil {
		switch {
		case c.ServerPlatform.ID.Bad || c.ServerPlatform.ID.Set && c.ServerPlatform.ID.V < -1:
			list.Add(errs.InvalidValue("server_platform", "server_platform.id must be a server platform id."))
		case c.ServerPlatform.ID.Set:
			po.ServerPlatformID = int(c.ServerPlatform.ID.V)
		}
	}
	s.checkCACert(acct, product, c.CACertID, po, &list)
	po.CertValidTill = time.Time{}
	switch {
	case kind == store.CertKindDuplicate:
		// Duplicates expire with the original (spec §2.11).
		po.CertValidTill = primary.NotAfter
	case c.CertValidity != nil && product.OrderValidity:
		checkCertValidity(c.CertValidity, po, s.now(), &list)
	}
	if in.CSProvisioningMethod != "" && product.Family != catalog.FamilyCodeSigning {
		list.Add(errs.InvalidValue("cs_provisioning_method", "cs_provisioning_method applies to code signing orders only."))
	}
	if len(in.Comments) > 10000 {
		list.Add(errs.InvalidValue("comments", "comments must be at most 10000 characters."))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	if s.CA != nil {
		// Refused now rather than at signing, which may come after approval.
		iss, err := s.issuerFor(product, po)
		if err != nil {
			return nil, err
		}
		if !iss.CanSign(po.SignatureHash) {
			return nil, errs.InvalidValue("signature_hash", "The issuing CA %s cannot sign with %s.", iss.Name, po.SignatureHash)
		}
	}
	if !po.OrderValidTill.IsZero() && !po.OrderValidTill.After(s.now()) {
		return nil, invalidOrderStatus("Order %d ended on %s.", o.ID, po.OrderValidTill.Format(time.DateOnly))
	}
	return p, nil
}

// checkDuplicateNames: a duplicate carries names of the order only (a SAN
// may become the common name); a wildcard order may add names its
// wildcard covers (spec §2.11).
func checkDuplicateNames(product catalog.Product, o, dup *store.Order, list *errs.List) {
	have := map[string]bool{strings.ToLower(o.CommonName): true}
	for _, set := range [][]string{o.DNSNames, o.IPAddresses, o.Emails} {
		for _, n := range set {
			have[strings.ToLower(n)] = true
		}
	}
	ok := func(n string) bool {
		n = strings.ToLower(n)
		return have[n] || product.Family != catalog.FamilyClient && coveredByWildcard(n, o.DNSNames)
	}
	if !ok(dup.CommonName) {
		list.Add(errs.InvalidValue("common_name", "%q is not a name of order %d; a duplicate carries the order's names.", dup.CommonName, o.ID))
		return
	}
	for _, set := range [][]string{dup.DNSNames, dup.IPAddresses} {
		for _, n := range set {
			if !ok(n) {
				list.Add(errs.InvalidValue("dns_names", "%q is not a name of order %d; a duplicate carries the order's names.", n, o.ID))
				return
			}
		}
	}
	for _, e := range dup.Emails {
		if !ok(e) {
			list.Add(errs.InvalidValue("emails", "%q is not an email of order %d; a duplicate carries the order's emails.", e, o.ID))
			return
		}
	}
}

// certRequestDecided applies the approval or rejection of a reissue or
// duplicate request inside the approval's transaction. It returns the id
// of the certificate to issue once the transaction commits (0 for none).
func (s *Service) certRequestDecided(ctx context.Context, tx store.Tx, r *store.Request, o *store.Order) (int64, error) {
	link, err := tx.CertificateLinkByRequest(ctx, r.AccountID, r.ID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	switch r.Status {
	case store.RequestApproved:
		return link.CertificateID, nil
	case store.RequestRejected:
		c, err := tx.Certificate(ctx, r.AccountID, link.CertificateID)
		if err != nil {
			return 0, err
		}
		if c.Status == store.CertPending {
			c.Status = store.CertRejected
			if err := tx.UpdateCertificate(ctx, c); err != nil {
				return 0, err
			}
		}
		if link.Kind == store.CertKindReissue && o.Status == store.OrderReissuePending {
			o.Status, o.UpdatedAt = store.OrderIssued, s.now()
			if err := tx.UpdateOrder(ctx, o); err != nil {
				return 0, err
			}
		}
	}
	return 0, nil
}

// IssueLinked issues an approved reissue or duplicate when its order is
// ready. Signing happens outside any transaction; the recording
// transaction checks that nothing moved meanwhile.
func (s *Service) IssueLinked(ctx context.Context, actor account.Actor, certID int64) error {
	mark := s.Notify.Mark() // before any transaction that may queue mail
	acct := actor.Account.ID
	cert, err := s.Store.Certificate(ctx, acct, certID)
	if err != nil {
		return fmt.Errorf("read certificate %d: %w", certID, err)
	}
	if cert.Status != store.CertPending {
		return nil
	}
	link, err := s.Store.CertificateLink(ctx, acct, certID)
	if err != nil {
		return fmt.Errorf("read link of certificate %d: %w", certID, err)
	}
	o, err := s.Store.Order(ctx, acct, link.OrderID)
	if err != nil {
		return fmt.Errorf("read order %d: %w", link.OrderID, err)
	}
	product, ok := catalog.Lookup(o.ProductNameID)
	if !ok || !linkIssuable(o, link) {
		return nil
	}
	work := *o
	work.CommonName, work.DNSNames, work.CSR, work.SignatureHash = cert.CommonName, cert.DNSNames, cert.CSR, cert.SignatureHash
	work.Emails, work.IPAddresses, work.CACertID, work.ServerPlatformID = link.Emails, link.IPAddresses, link.CACertID, link.ServerPlatformID
	work.CertValidTill = link.CertValidTill
	var org *store.Organization
	if o.OrganizationID != 0 {
		if org, err = s.Store.Organization(ctx, acct, o.OrganizationID); err != nil {
			return fmt.Errorf("read organization %d: %w", o.OrganizationID, err)
		}
	}
	if !s.Validation.Validated(ctx, product, org, &work) {
		return nil
	}
	pub, err := storedKey(cert.CSR)
	if err != nil {
		return fmt.Errorf("stored CSR of certificate %d: %w", cert.ID, err)
	}
	issued, err := s.sign(ctx, actor, product, &work, org, pub, work.DNSNames, certID, false)
	if errors.Is(err, errSigningClaimed) {
		return nil
	}
	if err != nil {
		return err
	}
	defer s.Notify.KickSince(mark)
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.Certificate(ctx, acct, certID)
		if err != nil {
			return err
		}
		cur, err := tx.Order(ctx, acct, link.OrderID)
		if err != nil {
			return err
		}
		if c.Status != store.CertPending || !linkIssuable(cur, link) {
			return nil // someone else moved it; the signed certificate is discarded unseen
		}
		if held, err := issued.stillClaimed(ctx, tx, acct, c.ID); err != nil || !held {
			return err // overtaken after a stall: the other signer records
		}
		now := s.now()
		if err := issued.reserve(ctx, tx, cur.ID, now); err != nil {
			return err
		}
		issued.fill(c)
		if err := tx.UpdateCertificate(ctx, c); err != nil {
			return err
		}
		if link.Kind == store.CertKindReissue {
			applyReissue(cur, c, link)
			cur.UpdatedAt = now
			if err := tx.UpdateOrder(ctx, cur); err != nil {
				return err
			}
		}
		if err := s.Validation.RecordOrderDomains(ctx, tx, product, &work); err != nil {
			return err
		}
		if err := s.Notify.Issued(ctx, tx, cur, c, link.Kind, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "certificate.issued", fmt.Sprintf("order:%d", cur.ID),
			map[string]any{"certificate_id": c.ID, "kind": link.Kind, "serial_number": issued.serial, "issuer": issued.issuer.ID})
	})
}

// linkIssuable: a reissue issues while its order waits for it; a
// duplicate while its order is issued.
func linkIssuable(o *store.Order, link *store.CertificateLink) bool {
	if link.Kind == store.CertKindReissue {
		return o.Status == store.OrderReissuePending
	}
	return o.Status == store.OrderIssued
}
