package validation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/metrics"
	"github.com/certorder/certorder/internal/policy"
	"github.com/certorder/certorder/internal/store"
)

// Name DCV statuses, as GET .../validation and check-dcv show them.
const (
	NameApproved = "approved"
	NamePending  = "pending"
)

// NameDCV is where one name of an order stands.
type NameDCV struct {
	DNSName string
	Target  string // the name whose control proves this one (base domain, parent on the order, or the FQDN)
	Status  string // NameApproved or NamePending
	Detail  string // why still pending
}

// DCVReport is the outcome of looking at every name of an order.
type DCVReport struct {
	Names []NameDCV
	// Missing: a lookup answered that the value is not there (or the
	// random value expired). Transient: a lookup could not be made.
	Missing, Transient []string
}

// AllApproved: every name is validated.
func (r *DCVReport) AllApproved() bool {
	for _, n := range r.Names {
		if n.Status != NameApproved {
			return false
		}
	}
	return true
}

func (r *DCVReport) summary() string {
	return strings.Join(append(slices.Clone(r.Missing), r.Transient...), "; ")
}

// dcvTargets maps each DNS name of the order to the name whose control
// proves it (spec §7.1, seed 004 certificate_dcv_scope):
//   - http-token proves only the exact FQDN;
//   - fqdn scope validates each name as named, except that a name under
//     another name of the order is proven by the higher one;
//   - base_domain scope (the default) validates the registrable domain.
//
// The email method's dcv_emails scopes (seed 001) pick their own domain.
func dcvTargets(o *store.Order) map[string]string {
	out := map[string]string{}
	for _, n := range o.DNSNames {
		name := strings.TrimPrefix(n, "*.")
		switch {
		case o.DCVMethod == "http-token":
			out[n] = name
		case o.Extra.CertificateDCVScope == "fqdn":
			target := name
			for _, m := range o.DNSNames {
				m = strings.TrimPrefix(m, "*.")
				if strings.HasSuffix(target, "."+m) {
					target = m // the shortest parent on the order wins
				}
			}
			out[n] = target
		default:
			base, err := publicsuffix.EffectiveTLDPlusOne(name)
			if err != nil {
				base = name
			}
			out[n] = base
		}
		if o.DCVMethod == "email" {
			for _, sc := range o.Extra.DCVEmails {
				if sc.DNSName == n || sc.DNSName == name {
					out[n] = sc.EmailDomain
				}
			}
		}
	}
	return out
}

func covered(doms []store.Domain, name string) bool {
	for _, d := range doms {
		if DomainCoverage(d, name) {
			return true
		}
	}
	return false
}

// lookToken looks for the random value by the token method.
func (s *Service) lookToken(ctx context.Context, method, target, token string) (res dcv.Result, err error) {
	defer func() {
		outcome := metrics.DCVInvalid
		switch {
		case err != nil:
			outcome = metrics.DCVError
		case res.Found:
			outcome = metrics.DCVValid
		}
		s.Metrics.DCVChecked(method, outcome)
	}()
	switch method {
	case "dns-txt-token":
		return s.DCV.CheckTXT(ctx, target, token)
	case "dns-cname-token":
		return s.DCV.CheckCNAME(ctx, target, token)
	case "http-token":
		return s.DCV.CheckHTTP(ctx, target, token)
	}
	return dcv.Result{}, fmt.Errorf("%q is not a token method", method)
}

// checkOrderNames looks at every name of the order (or of only, when
// given): names already covered by a reusable validation of the account
// are approved; for the token methods the random value is looked up for
// real, and every target where it is found is recorded as a validated
// domain of the account. The email method only waits for its link.
func (s *Service) checkOrderNames(ctx context.Context, o *store.Order, only []string) (*DCVReport, error) {
	now := s.now()
	doms, err := s.Store.ValidatedDomains(ctx, o.AccountID, now)
	if err != nil {
		return nil, fmt.Errorf("read validated domains: %w", err)
	}
	targets := dcvTargets(o)
	type look struct {
		found  bool
		detail string
		err    error
	}
	looked := map[string]look{}
	rep := &DCVReport{}
	for _, n := range o.DNSNames {
		if len(only) > 0 && !slices.Contains(only, n) {
			continue
		}
		nd := NameDCV{DNSName: n, Target: targets[n], Status: NamePending}
		switch {
		case s.Sandbox:
			// Sandbox rules script a name's outcome even where an earlier
			// sandbox order recorded its domain as validated
			// (RecordOrderDomains), as the order engine's Validated does.
			switch s.sandboxOutcome(n) {
			case SandboxFail:
				nd.Detail = fmt.Sprintf("a sandbox rule fails the validation of %s", n)
				rep.Missing = append(rep.Missing, nd.Detail)
			case SandboxPending:
				nd.Detail = fmt.Sprintf("a sandbox rule keeps the validation of %s pending", n)
			default:
				nd.Status = NameApproved
			}
		case covered(doms, n):
			nd.Status = NameApproved
		case !IsTokenMethod(o.DCVMethod):
			nd.Detail = fmt.Sprintf("waiting for the approval link emailed for %s", nd.Target)
		case s.DCV == nil:
			nd.Detail = "no DCV checker is configured; an administrator must grant the validation"
			rep.Transient = append(rep.Transient, nd.Detail)
		case o.DCVRandomValue == "" || !o.DCVRandomExpires.After(now):
			nd.Detail = randomValueExpired(o)
			rep.Missing = append(rep.Missing, nd.Detail)
		default:
			l, ok := looked[nd.Target]
			if !ok {
				res, err := s.lookToken(ctx, o.DCVMethod, nd.Target, o.DCVRandomValue)
				if res.Found && !o.DCVRandomExpires.After(s.now()) {
					// The value expired while it was looked up: a proof
					// counts only while its value is current.
					res.Found = false
					res.Detail = randomValueExpired(o)
				}
				l = look{found: res.Found, detail: res.Detail, err: err}
				if res.Found {
					if err := s.recordDCV(ctx, o.AccountID, nd.Target, o.DCVMethod, fmt.Sprintf("order:%d", o.ID), res.Where, o.OrganizationID); err != nil {
						return nil, err
					}
				}
				looked[nd.Target] = l
			}
			switch {
			case l.found:
				nd.Status = NameApproved
			case l.err != nil:
				nd.Detail = fmt.Sprintf("%s could not be checked: %v", nd.Target, l.err)
				rep.Transient = append(rep.Transient, nd.Detail)
			default:
				nd.Detail = l.detail
				if nd.Detail == "" {
					nd.Detail = fmt.Sprintf("the random value was not found for %s", nd.Target)
				}
				rep.Missing = append(rep.Missing, nd.Detail)
			}
		}
		rep.Names = append(rep.Names, nd)
	}
	rep.Missing, rep.Transient = uniq(rep.Missing), uniq(rep.Transient)
	return rep, nil
}

// randomValueExpired says that the order's random value can no longer
// prove control, and how to get a new one.
func randomValueExpired(o *store.Order) string {
	return fmt.Sprintf("the random value expired on %s; generate a new one with PUT /order/certificate/%d/dcv-random-value",
		o.DCVRandomExpires.Format(time.RFC3339), o.ID)
}

func uniq(v []string) []string {
	seen := map[string]bool{}
	out := v[:0]
	for _, s := range v {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// recordDCV records that control of target was proven by method: the
// account's domain of that name becomes validated for the reuse period in
// force. A validation still reusable that covers more (any method but
// http-token covers subdomains) is kept as it is. orgID is the
// organization of the order whose validation proved it (0: none), which a
// domain without one takes (adoptOrg).
func (s *Service) recordDCV(ctx context.Context, accountID int64, target, method, by, where string, orgID int64) error {
	return s.Store.InTx(ctx, func(tx store.Tx) error {
		return s.recordDCVTx(ctx, tx, accountID, target, method, by, where, orgID)
	})
}

func (s *Service) recordDCVTx(ctx context.Context, tx store.Tx, accountID int64, target, method, by, where string, orgID int64) error {
	now := s.now()
	// The whole row, so that the update keeps what the domain already
	// holds; a domain the account does not have yet is created first
	// (EnsureDomain answers only the id). Most orders name domains the
	// account has: they cost one read here.
	d, err := tx.DomainByName(ctx, accountID, target)
	if errors.Is(err, store.ErrNotFound) {
		if _, err = tx.EnsureDomain(ctx, accountID, target, now); err == nil {
			d, err = tx.DomainByName(ctx, accountID, target)
		}
	}
	if err != nil {
		return err
	}
	adopted, err := adoptOrg(ctx, tx, d, orgID)
	if err != nil {
		return err
	}
	kept := DCVValid(d, now) && (d.DCVValidatedMethod != "http-token" || method == "http-token")
	if kept && !adopted {
		return nil
	}
	if !kept {
		d.DCVStatus, d.DCVValidatedMethod = store.DCVComplete, method
		d.DCVApprovedAt, d.DCVExpiresAt = now, now.Add(policy.DCVReuse(now))
	}
	if err := tx.UpdateDomain(ctx, d); err != nil {
		return err
	}
	if kept {
		return nil
	}
	acct := &store.Account{ID: accountID}
	return s.audit(ctx, tx, account.Actor{Account: acct}, "domain.dcv_validated", fmt.Sprintf("domain:%d", d.ID),
		map[string]any{"name": d.Name, "dcv_method": method, "by": by, "where": where, "dcv_expires": d.DCVExpiresAt,
			"organization_id": d.OrganizationID})
}

// adoptOrg gives a domain that has no organization the one of the order
// that proved it, and that organization's container, as POST /domain
// would: GET /domain then lists it with them, and a client that looks for
// a name among its organization's domains before ordering (the old
// CertCentral SDK lists GET /domain?container_id= and matches
// organization.id and name) finds it. A domain keeps the organization it
// has. It reports whether d changed.
func adoptOrg(ctx context.Context, tx store.Tx, d *store.Domain, orgID int64) (bool, error) {
	if d.OrganizationID != 0 || orgID == 0 {
		return false, nil
	}
	org, err := tx.Organization(ctx, d.AccountID, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	d.OrganizationID, d.ContainerID = org.ID, org.ContainerID
	return true, nil
}

// RecordOrderDomains is told, inside the transaction that issues an order
// (or its reissue or duplicate), that the order's names were validated.
// In the sandbox, where nothing was looked up, the domain that would have
// been proven for each name (dcvTargets) becomes a validated domain of the
// account with the order's organization, as a real validation records it
// (recordDCVTx): the sandbox shows what CertCentral shows after an order.
// Outside the sandbox the DCV engine has recorded them already.
func (s *Service) RecordOrderDomains(ctx context.Context, tx store.Tx, product catalog.Product, o *store.Order) error {
	if !s.Sandbox || len(product.DCVMethods) == 0 {
		return nil
	}
	method := o.DCVMethod
	if !slices.Contains(DomainDCVMethods, method) {
		method = "email"
	}
	var targets []string
	for _, t := range dcvTargets(o) {
		if net.ParseIP(t) == nil && !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
	}
	slices.Sort(targets)
	for _, t := range targets {
		if err := s.recordDCVTx(ctx, tx, o.AccountID, t, method, fmt.Sprintf("order:%d", o.ID), "sandbox", o.OrganizationID); err != nil {
			return err
		}
	}
	return nil
}

// CheckCAA applies CAA (RFC 8659) to every name about to be signed. The
// sandbox consults its rules instead of DNS.
func (s *Service) CheckCAA(ctx context.Context, names []string) error {
	for _, n := range names {
		if net.ParseIP(n) != nil {
			continue // CAA governs domain names only
		}
		if s.Sandbox {
			if s.sandboxOutcome(n) == SandboxCAAFail {
				return errs.New(errs.Invalid, "caa_check_failed|not_authorized",
					"CAA forbids issuance for %s (a sandbox rule).", n)
			}
			continue
		}
		if s.DCV == nil {
			continue
		}
		err := s.DCV.CheckCAA(ctx, n)
		var ce *dcv.CAAError
		switch {
		case err == nil:
		case errors.As(err, &ce) && ce.LookupFailed:
			return errs.New(errs.Invalid, "caa_not_found|lookup_failed",
				"The CAA records for %s could not be looked up (%s); issuance waits until they can.", n, ce.Reason)
		case errors.As(err, &ce):
			return errs.New(errs.Invalid, "caa_check_failed|not_authorized", "CAA forbids issuance for %s: %s.", n, ce.Reason)
		default:
			return errs.Internalf(err, "CAA check of %s", n)
		}
	}
	return nil
}

// dcvFailureCode is CertCentral's error for a token not found by method
// (spec §2.7.1): the file method's own code, the DNS methods' otherwise.
func dcvFailureCode(method string) string {
	if method == "http-token" {
		return "file_random_value_not_found"
	}
	return "invalid_dns_txt"
}

// needsDCV: the product validates domains and the order names some.
func needsDCV(o *store.Order) bool {
	p, ok := catalog.Lookup(o.ProductNameID)
	return ok && len(p.DCVMethods) > 0 && len(o.DNSNames) > 0
}

// CheckDCVResult is what PUT .../check-dcv answers.
type CheckDCVResult struct {
	Order  *store.Order
	Report *DCVReport
}

// CheckOrderDCV is PUT /order/certificate/{id}/check-dcv (spec §2.7.1):
// the random value is looked up now for every name (or those of only);
// what is found is recorded, and an order with every name validated
// issues at once. A name whose value is not there fails the call with
// invalid_dns_txt (DNS methods) or file_random_value_not_found
// (http-token), after recording whatever was found.
func (s *Service) CheckOrderDCV(ctx context.Context, actor account.Actor, id int64, only []string) (*CheckDCVResult, error) {
	o, err := s.Store.Order(ctx, actor.Account.ID, id)
	if err != nil {
		return nil, apiErr(orderNotFound(err, id), "read order")
	}
	if !needsDCV(o) {
		return nil, errs.New(errs.Invalid, "invalid_dcv_method", "Order %d has no domains to validate.", o.ID)
	}
	for _, n := range only {
		if !slices.Contains(o.DNSNames, n) {
			return nil, errs.InvalidValue("dns_name_validations", "%q is not a name on order %d.", n, o.ID)
		}
	}
	switch o.Status {
	case store.OrderCanceled, store.OrderRejected, store.OrderRevoked, store.OrderExpired:
		return nil, errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s; there is nothing to validate.", o.ID, o.Status)
	}
	if !IsTokenMethod(o.DCVMethod) {
		return nil, errs.New(errs.Invalid, "invalid_dcv_method",
			"Order %d uses the %s method; check-dcv is for dns-txt-token, dns-cname-token and http-token.", o.ID, o.DCVMethod)
	}
	rep, err := s.checkOrderNames(ctx, o, only)
	if err != nil {
		return nil, errs.Internalf(err, "check dcv of order %d", o.ID)
	}
	if len(rep.Missing)+len(rep.Transient) > 0 {
		s.noteDCV(ctx, o, rep.summary())
		return nil, errs.New(errs.Invalid, dcvFailureCode(o.DCVMethod), "Domain control validation failed: %s.", rep.summary())
	}
	if rep.AllApproved() && o.Status == store.OrderPending {
		if err := s.orderValidated(ctx, actor, o.ID); err != nil {
			s.noteDCV(ctx, o, err.Error())
			return nil, apiErr(err, "issue after check-dcv")
		}
		// Every name of the order has now been looked at.
		s.KickDCV()
	}
	if o, err = s.Store.Order(ctx, actor.Account.ID, id); err != nil {
		return nil, errs.Internalf(err, "read order %d", id)
	}
	return &CheckDCVResult{Order: o, Report: rep}, nil
}

// noteDCV keeps what the last look found on the order's schedule, for
// the logs and the next worker round.
func (s *Service) noteDCV(ctx context.Context, o *store.Order, msg string) {
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		c, err := tx.DCVCheck(ctx, o.AccountID, store.DCVKindOrder, o.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		c.LastError, c.UpdatedAt = msg, s.now()
		return tx.PutDCVCheck(ctx, c)
	})
	if err != nil {
		s.log().WarnContext(ctx, "record dcv outcome", "order", o.ID, "err", err)
	}
}

// OrderValidation is where an order's names stand for GET
// .../validation: the coverage by reusable validations, and in the
// sandbox what the rules say.
func (s *Service) OrderValidation(ctx context.Context, o *store.Order) ([]NameDCV, error) {
	now := s.now()
	doms, err := s.Store.ValidatedDomains(ctx, o.AccountID, now)
	if err != nil {
		return nil, errs.Internalf(err, "read validated domains")
	}
	targets := dcvTargets(o)
	var out []NameDCV
	for _, n := range o.DNSNames {
		nd := NameDCV{DNSName: n, Target: targets[n], Status: NamePending}
		if rule := s.sandboxOutcome(n); covered(doms, n) || s.Sandbox && (rule == SandboxPass || rule == SandboxEVPending) {
			nd.Status = NameApproved
		}
		out = append(out, nd)
	}
	return out, nil
}

// dcvMutable: the statuses in which an order's DCV may still change.
func dcvMutable(o *store.Order) error {
	switch o.Status {
	case store.OrderPending, store.OrderNeedsApproval, store.OrderNeedsCSR, store.OrderReissuePending:
		return nil
	}
	return errs.New(errs.Conflict, "invalid_order_status", "Order %d is %s; its domain control validation cannot change.", o.ID, o.Status)
}

// ChangeOrderDCVMethod is PUT /order/certificate/{id}/dcv-method (spec
// §2.7.2). A token method keeps a random value still valid, or gets a new
// one; the background checks start over with the new method.
func (s *Service) ChangeOrderDCVMethod(ctx context.Context, actor account.Actor, id int64, method string) (*store.Order, error) {
	method = strings.TrimSpace(method)
	if method == "" {
		return nil, errs.MissingField("dcv_method")
	}
	return s.changeOrderDCV(ctx, actor, id, func(o *store.Order, product catalog.Product) error {
		if err := CheckOrderMethod(product, method, o.DNSNames); err != nil {
			return err
		}
		o.DCVMethod = method
		if IsTokenMethod(method) && (o.DCVRandomValue == "" || !o.DCVRandomExpires.After(s.now())) {
			return s.NewRandomValue(o, s.now())
		}
		return nil
	}, "order.dcv_method_changed")
}

// CheckOrderMethod: method is a DCV method of the product that can
// validate every one of names (an order's dcv_method, when it is ordered
// and when it changes).
func CheckOrderMethod(product catalog.Product, method string, names []string) error {
	switch {
	case !slices.Contains(product.DCVMethods, method):
		return errs.InvalidValue("dcv_method", "dcv_method must be one of %s.", strings.Join(product.DCVMethods, ", "))
	case method == "http-token" && hasWildcard(names):
		return errs.InvalidValue("dcv_method", "http-token cannot validate wildcard names; use a DNS or email method.")
	}
	return nil
}

func hasWildcard(names []string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, "*.") {
			return true
		}
	}
	return false
}

// NewOrderRandomValue is PUT /order/certificate/{id}/dcv-random-value
// (spec §2.7.3): a new order random value, valid 30 days; the previous one
// stops working.
func (s *Service) NewOrderRandomValue(ctx context.Context, actor account.Actor, id int64) (*store.Order, error) {
	return s.changeOrderDCV(ctx, actor, id, func(o *store.Order, _ catalog.Product) error {
		if !IsTokenMethod(o.DCVMethod) {
			return errs.New(errs.Invalid, "invalid_dcv_method",
				"Order %d uses the %s method, which has no random value; change it with PUT /order/certificate/%d/dcv-method.", o.ID, o.DCVMethod, o.ID)
		}
		return s.NewRandomValue(o, s.now())
	}, "order.dcv_random_value_created")
}

// NewRandomValue gives the order a new random value, valid 30 days from
// now.
func (s *Service) NewRandomValue(o *store.Order, now time.Time) error {
	v, err := randomValue(s.valueRand())
	if err != nil {
		return errs.Internalf(err, "dcv random value")
	}
	o.DCVRandomValue, o.DCVRandomExpires = v, now.Add(dcvRandomValueLife)
	return nil
}

// changeOrderDCV applies change to an order whose DCV may still change and
// reschedules its background check from now.
func (s *Service) changeOrderDCV(ctx context.Context, actor account.Actor, id int64, change func(*store.Order, catalog.Product) error, action string) (*store.Order, error) {
	var o *store.Order
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if o, err = tx.Order(ctx, actor.Account.ID, id); err != nil {
			return orderNotFound(err, id)
		}
		product, _ := catalog.Lookup(o.ProductNameID)
		if !needsDCV(o) {
			return errs.New(errs.Invalid, "invalid_dcv_method", "Order %d has no domains to validate.", o.ID)
		}
		if err := dcvMutable(o); err != nil {
			return err
		}
		if err := change(o, product); err != nil {
			return err
		}
		now := s.now()
		o.UpdatedAt = now
		if err := tx.UpdateOrder(ctx, o); err != nil {
			return err
		}
		if err := tx.PutDCVCheck(ctx, &store.DCVCheck{AccountID: o.AccountID, Kind: store.DCVKindOrder, ObjectID: o.ID,
			NextAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, action, fmt.Sprintf("order:%d", o.ID), map[string]any{"dcv_method": o.DCVMethod})
	})
	if err != nil {
		return nil, apiErr(err, "change order dcv")
	}
	s.KickDCV()
	return o, nil
}

// orderNotFound turns the store's not-found into the API's.
func orderNotFound(err error, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("order", "Order %d was not found.", id)
	}
	return err
}

// CheckDomainToken is PUT /domain/{id}/dcv/validate-token (spec §6.13):
// the domain's own token is looked up now by its method; when found the
// domain is validated and the orders waiting on it issue.
func (s *Service) CheckDomainToken(ctx context.Context, actor account.Actor, id int64) (*store.Domain, error) {
	d, err := s.Store.Domain(ctx, actor.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("domain", "Domain %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read domain %d", id)
	}
	if !IsTokenMethod(d.DCVMethod) {
		return nil, errs.New(errs.Invalid, "invalid_dcv_method", "The domain's DCV method %q uses no token.", d.DCVMethod)
	}
	if DCVValid(d, s.now()) {
		return d, nil
	}
	found, detail, err := s.checkDomain(ctx, d)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, errs.New(errs.Invalid, dcvFailureCode(d.DCVMethod), "Domain control validation of %s failed: %s.", d.Name, detail)
	}
	s.validated(ctx, actor)
	return s.Store.Domain(ctx, actor.Account.ID, id)
}

// checkDomain looks the domain's own token up (sandbox: its rules) and
// records the validation when found. err is only for store failures;
// lookup failures are reported as not found with their detail.
func (s *Service) checkDomain(ctx context.Context, d *store.Domain) (bool, string, error) {
	now := s.now()
	switch {
	case s.Sandbox:
		switch s.sandboxOutcome(d.Name) {
		case SandboxFail:
			return false, "a sandbox rule fails it", nil
		case SandboxPending:
			return false, "a sandbox rule keeps it pending", nil
		}
	case s.DCV == nil:
		return false, "no DCV checker is configured", nil
	case d.DCVToken == "" || !d.DCVTokenExpires.After(now):
		return false, fmt.Sprintf("the token expired on %s; generate a new one with POST /domain/%d/dcv/token", d.DCVTokenExpires.Format(time.RFC3339), d.ID), nil
	default:
		res, err := s.lookToken(ctx, d.DCVMethod, d.Name, d.DCVToken)
		switch {
		case err != nil:
			return false, fmt.Sprintf("%s could not be checked: %v", d.Name, err), nil
		case !res.Found:
			return false, res.Detail, nil
		}
	}
	err := s.recordDCV(ctx, d.AccountID, d.Name, d.DCVMethod, fmt.Sprintf("domain:%d", d.ID), "", 0)
	if err != nil {
		return false, "", errs.Internalf(err, "record validation of %s", d.Name)
	}
	return true, "", nil
}
