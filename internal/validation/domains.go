package validation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/policy"
	"github.com/certorder/certorder/internal/store"
)

// DomainInput is the body of POST /domain (spec §6.9).
type DomainInput struct {
	Name         string                  `json:"name"`
	Organization *flex.IDInput           `json:"organization"`
	Validations  []DomainValidationInput `json:"validations"`
	DCVMethod    string                  `json:"dcv_method"`
	Locale       string                  `json:"locale"`
	EmailArray   []string                `json:"email_array"`
	KeepWWW      flex.Bool               `json:"keep_www"`
}

// DomainSubmitInput is the body of POST /domain/{id}/validation (spec
// §6.12). Every field is optional: what is absent keeps the domain's
// current value. organization is our addition, for a domain an order
// recorded without one.
type DomainSubmitInput struct {
	Validations  []DomainValidationInput `json:"validations"`
	DCVMethod    string                  `json:"dcv_method"`
	Locale       string                  `json:"locale"`
	EmailArray   []string                `json:"email_array"`
	Organization *flex.IDInput           `json:"organization"`
}

// DomainValidationInput is one {"type": "ov"} of a domain submission.
type DomainValidationInput struct {
	Type string `json:"type"`
}

// DomainValidationTypes are what a domain is validated for (spec §6.9):
// the OV and EV certificates of its organization.
var DomainValidationTypes = map[string]bool{"ov": true, "ev": true}

// DomainDCVMethods are the DCV methods of a domain (spec §7.1).
var DomainDCVMethods = []string{"email", "dns-txt-token", "dns-cname-token", "http-token"}

// DomainCoverage says whether a completed validation of d covers name:
// the DNS and email methods validate d and every name under it; http-token
// only the exact name, never a wildcard (spec §7.1).
func DomainCoverage(d store.Domain, name string) bool {
	wildcard := strings.HasPrefix(name, "*.")
	base := strings.TrimPrefix(name, "*.")
	if d.DCVValidatedMethod == "http-token" {
		return !wildcard && base == d.Name
	}
	return base == d.Name || strings.HasSuffix(base, "."+d.Name)
}

// DCVValid: the domain's validation is complete and within its reuse
// period at now.
func DCVValid(d *store.Domain, now time.Time) bool {
	return d.IsActive && d.DCVStatus == store.DCVComplete && d.DCVExpiresAt.After(now)
}

// domainsValidated: every DNS name of the order is covered by a completed
// domain validation of the account still within its reuse period. IP
// addresses (X9) need IP address validation, which the DCV engine does not
// do yet: outside the sandbox an order naming one does not issue.
func (s *Service) domainsValidated(ctx context.Context, o *store.Order) bool {
	if len(o.IPAddresses) > 0 || len(o.DNSNames) == 0 {
		return false
	}
	doms, err := s.Store.ValidatedDomains(ctx, o.AccountID, s.now())
	if err != nil {
		s.log().ErrorContext(ctx, "read validated domains", "account", o.AccountID, "err", err)
		return false
	}
	for _, n := range o.DNSNames {
		if !covered(doms, n) {
			return false
		}
	}
	return true
}

// checkDomainSubmission reads the parts POST /domain and POST
// /domain/{id}/validation share into d; types and method may be absent
// when d already has them.
func checkDomainSubmission(d *store.Domain, vals []DomainValidationInput, method, locale string, emails []string, list *errs.List) {
	if vals != nil || len(d.ValidationTypes) == 0 {
		if len(vals) == 0 {
			list.Add(errs.MissingField("validations"))
		}
		types := map[string]bool{}
		for _, t := range d.ValidationTypes {
			types[t] = true
		}
		for _, v := range vals {
			typ := strings.ToLower(strings.TrimSpace(v.Type))
			switch {
			case typ == "":
				list.Add(errs.MissingField("validations.type"))
			case !DomainValidationTypes[typ]:
				list.Add(errs.InvalidValue("validations", "%q is not a domain validation type; use ov or ev.", v.Type))
			case !types[typ]:
				types[typ] = true
				d.ValidationTypes = append(d.ValidationTypes, typ)
			}
		}
	}
	method = strings.TrimSpace(method)
	switch {
	case method == "" && d.DCVMethod == "":
		d.DCVMethod = "email" // spec §6.9: the default
	case method == "":
	case !slices.Contains(DomainDCVMethods, method):
		list.Add(errs.InvalidValue("dcv_method", "dcv_method must be one of %s.", strings.Join(DomainDCVMethods, ", ")))
	default:
		d.DCVMethod = method
	}
	if locale = strings.TrimSpace(locale); locale != "" {
		if !Locales[locale] {
			list.Add(errs.InvalidValue("locale", "%q is not a supported locale.", locale))
		}
		d.Locale = locale
	}
	if emails != nil {
		d.EmailArray = nil
		for _, e := range emails {
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			canon, ascii := CanonicalEmail(e)
			if !account.ValidEmail(e) || !ascii {
				list.Add(errs.InvalidValue("email_array", "%q is not a valid email address (ASCII only; give an internationalised domain by its A-labels).", e))
				continue
			}
			d.EmailArray = append(d.EmailArray, canon)
		}
		if len(d.EmailArray) > maxEmailArray {
			list.Add(errs.InvalidValue("email_array", "email_array holds at most %d addresses.", maxEmailArray))
		}
	}
}

// checkEmailArray, after the cheap checks of a submission: every address
// of a domain's email_array must be one that may validate it (it may cost
// DNS lookups).
func (s *Service) checkEmailArray(ctx context.Context, d *store.Domain) error {
	var list errs.List
	s.CheckRecipients(ctx, "email_array", d.Name, d.EmailArray, &list)
	return list.Err()
}

// domainOrg resolves organization.id of a domain body: an active
// organization of the account. An unknown id is a 400 on the field, as
// for orders.
func (s *Service) domainOrg(ctx context.Context, actor account.Actor, in *flex.IDInput) (*store.Organization, error) {
	switch {
	case in == nil || !in.ID.Set && !in.ID.Bad:
		return nil, errs.MissingField("organization")
	case in.ID.Bad:
		return nil, errs.InvalidValue("organization", "organization.id must be an integer.")
	}
	org, err := s.Store.Organization(ctx, actor.Account.ID, in.ID.V)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.InvalidValue("organization", "Organization %d was not found in this account.", in.ID.V)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read organization")
	}
	if !org.IsActive {
		return nil, errs.InvalidValue("organization", "Organization %d is not active.", org.ID)
	}
	return org, nil
}

// domainName checks a domain name: an FQDN under a public suffix, no
// wildcard. A leading www. is dropped unless keep_www or the method is
// http-token, which validates the exact name (spec §6.9).
func domainName(raw string, keepWWW bool, method string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errs.MissingField("name")
	}
	n, err := NormalizeDNSName(raw, false)
	if err != nil {
		return "", errs.InvalidValue("name", "name: %v.", err)
	}
	if strings.HasPrefix(n, "www.") && !keepWWW && strings.TrimSpace(method) != "http-token" {
		if bare, err := NormalizeDNSName(strings.TrimPrefix(n, "www."), false); err == nil {
			n = bare
		}
	}
	return n, nil
}

// AddDomain adds a domain to the account and submits it for validation
// (POST /domain). A domain an order recorded (no organization, never
// submitted) is taken over; any other existing domain is refused, as it
// has its own id to submit again.
func (s *Service) AddDomain(ctx context.Context, actor account.Actor, in *DomainInput) (*store.Domain, error) {
	var list errs.List
	name, err := domainName(in.Name, in.KeepWWW.V, in.DCVMethod)
	list.Add(err)
	if in.KeepWWW.Bad {
		list.Add(errs.InvalidValue("keep_www", "keep_www must be true or false."))
	}
	org, err := s.domainOrg(ctx, actor, in.Organization)
	list.Add(err)
	d := &store.Domain{AccountID: actor.Account.ID, Name: name, IsActive: true}
	checkDomainSubmission(d, orEmpty(in.Validations), in.DCVMethod, in.Locale, in.EmailArray, &list)
	if err := list.Err(); err != nil {
		return nil, err
	}
	if err := s.checkEmailArray(ctx, d); err != nil {
		return nil, err
	}
	now := s.now()
	d.OrganizationID, d.ContainerID, d.CreatedAt = org.ID, org.ContainerID, now
	if err := s.submitDomain(d, now); err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.DomainByName(ctx, actor.Account.ID, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			if err := tx.CreateDomain(ctx, d); err != nil {
				return err
			}
		case err != nil:
			return err
		case !cur.LastSubmittedAt.IsZero() || len(cur.ValidationTypes) > 0:
			// Submitted before (POST /domain, POST /domain/{id}/validation).
			// A domain an order recorded, even with the order's
			// organization (adoptOrg), was never submitted.
			return errs.InvalidValue("name", "The domain %s already exists (id %d); submit it again with POST /domain/%d/validation.", name, cur.ID, cur.ID)
		default:
			// Recorded by an order: keep its id and date, and any DCV it has.
			d.ID, d.CreatedAt = cur.ID, cur.CreatedAt
			if !s.Sandbox && DCVValid(cur, now) {
				d.DCVStatus, d.DCVValidatedMethod, d.DCVApprovedAt, d.DCVExpiresAt = cur.DCVStatus, cur.DCVValidatedMethod, cur.DCVApprovedAt, cur.DCVExpiresAt
			}
			if err := tx.UpdateDomain(ctx, d); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "domain.created", fmt.Sprintf("domain:%d", d.ID),
			map[string]any{"name": d.Name, "organization_id": d.OrganizationID, "dcv_method": d.DCVMethod, "validations": d.ValidationTypes})
	})
	if err != nil {
		return nil, apiErr(err, "add domain")
	}
	return d, nil
}

func orEmpty(v []DomainValidationInput) []DomainValidationInput {
	if v == nil {
		return []DomainValidationInput{}
	}
	return v
}

// submitDomain starts a DCV round: a new random value for the token
// methods; in sandbox mode the validation completes at once.
func (s *Service) submitDomain(d *store.Domain, now time.Time) error {
	d.LastSubmittedAt = now
	d.DCVToken, d.DCVTokenExpires = "", time.Time{}
	if IsTokenMethod(d.DCVMethod) {
		v, err := randomValue(s.valueRand())
		if err != nil {
			return errs.Internalf(err, "dcv random value")
		}
		d.DCVToken, d.DCVTokenExpires = v, now.Add(dcvRandomValueLife)
	}
	if s.Sandbox {
		completeDCV(d, now)
	} else if d.DCVStatus == "" {
		d.DCVStatus = store.DCVPending
	}
	return nil
}

// completeDCV marks the domain validated by its current method, reusable
// for the period policy gives a validation completed now.
func completeDCV(d *store.Domain, now time.Time) {
	if d.DCVMethod == "" {
		d.DCVMethod = "email"
	}
	d.DCVStatus, d.DCVValidatedMethod = store.DCVComplete, d.DCVMethod
	d.DCVApprovedAt, d.DCVExpiresAt = now, now.Add(policy.DCVReuse(now))
}

// SubmitDomainValidation submits a domain for validation again (POST
// /domain/{id}/validation). A validation still within its reuse period
// stays usable until the new one completes.
func (s *Service) SubmitDomainValidation(ctx context.Context, actor account.Actor, id int64, in *DomainSubmitInput) (*store.Domain, error) {
	d, err := s.Store.Domain(ctx, actor.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("domain", "Domain %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read domain %d", id)
	}
	var list errs.List
	if in.Organization != nil || d.OrganizationID == 0 {
		org, err := s.domainOrg(ctx, actor, in.Organization)
		if err != nil {
			list.Add(err)
		} else {
			d.OrganizationID, d.ContainerID = org.ID, org.ContainerID
		}
	}
	checkDomainSubmission(d, in.Validations, in.DCVMethod, in.Locale, in.EmailArray, &list)
	if err := list.Err(); err != nil {
		return nil, err
	}
	if err := s.checkEmailArray(ctx, d); err != nil {
		return nil, err
	}
	now := s.now()
	if err := s.submitDomain(d, now); err != nil {
		return nil, err
	}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		// A grant may have completed the DCV since d was read: its
		// outcome stands (outside the sandbox, a submission completes
		// nothing itself).
		if fresh, err := tx.Domain(ctx, actor.Account.ID, id); err != nil {
			return err
		} else if !s.Sandbox {
			d.DCVStatus, d.DCVValidatedMethod, d.DCVApprovedAt, d.DCVExpiresAt = fresh.DCVStatus, fresh.DCVValidatedMethod, fresh.DCVApprovedAt, fresh.DCVExpiresAt
		}
		if err := tx.UpdateDomain(ctx, d); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "domain.validation_submitted", fmt.Sprintf("domain:%d", d.ID),
			map[string]any{"name": d.Name, "dcv_method": d.DCVMethod, "validations": d.ValidationTypes})
	})
	if err != nil {
		return nil, apiErr(err, "submit domain validation")
	}
	if s.Sandbox {
		s.validated(ctx, actor)
	}
	return d, nil
}

// NewDomainToken makes a new random value for a domain whose method is a
// token method (POST /domain/{id}/dcv/token, spec §6.13). The previous
// domain token stops working; order random values are untouched.
func (s *Service) NewDomainToken(ctx context.Context, actor account.Actor, id int64) (*store.Domain, error) {
	var d *store.Domain
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		d, err = tx.Domain(ctx, actor.Account.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("domain", "Domain %d was not found.", id)
		}
		if err != nil {
			return err
		}
		if !IsTokenMethod(d.DCVMethod) {
			return errs.New(errs.Invalid, "invalid_dcv_method", "The domain's DCV method %q uses no token; change it with PUT /domain/%d/dcv/method.", d.DCVMethod, d.ID)
		}
		v, err := randomValue(s.valueRand())
		if err != nil {
			return err
		}
		d.DCVToken, d.DCVTokenExpires = v, s.now().Add(dcvRandomValueLife)
		if err := tx.UpdateDomain(ctx, d); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "domain.token_created", fmt.Sprintf("domain:%d", d.ID), map[string]any{"name": d.Name})
	})
	if err != nil {
		return nil, apiErr(err, "new domain token")
	}
	return d, nil
}

// ChangeDomainDCVMethod sets the domain's method (PUT
// /domain/{id}/dcv/method, spec §6.13) and starts a new round with it.
func (s *Service) ChangeDomainDCVMethod(ctx context.Context, actor account.Actor, id int64, method string) (*store.Domain, error) {
	if strings.TrimSpace(method) == "" {
		return nil, errs.MissingField("dcv_method")
	}
	return s.SubmitDomainValidation(ctx, actor, id, &DomainSubmitInput{DCVMethod: method})
}

// GrantDomainValidation is an administrator's decision that DCV of a
// domain passed (PUT /domain/{id}/dcv/approve, `certorder domain
// validate`). The domain is found by id, or by name when id is 0 — the
// command line then records a domain the account does not have yet.
// method, when set, is the method the validation counts as done by.
// Pending orders that become ready issue.
func (s *Service) GrantDomainValidation(ctx context.Context, actor account.Actor, id int64, name, method string) (*store.Domain, error) {
	if actor.User != nil && actor.User.AccessRole != store.RoleAdministrator {
		return nil, errs.New(errs.Forbidden, "access_denied|missing_permission", "Only administrators can grant validations.")
	}
	if method = strings.TrimSpace(method); method != "" && !slices.Contains(DomainDCVMethods, method) {
		return nil, errs.InvalidValue("dcv_method", "dcv_method must be one of %s.", strings.Join(DomainDCVMethods, ", "))
	}
	if id == 0 {
		n, err := domainName(name, true, "http-token")
		if err != nil {
			return nil, err
		}
		name = n
	}
	now := s.now()
	var d *store.Domain
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		if id != 0 {
			d, err = tx.Domain(ctx, actor.Account.ID, id)
		} else {
			d, err = tx.DomainByName(ctx, actor.Account.ID, name)
		}
		switch {
		case errors.Is(err, store.ErrNotFound) && id != 0:
			return errs.NotFoundf("domain", "Domain %d was not found.", id)
		case errors.Is(err, store.ErrNotFound):
			d = &store.Domain{AccountID: actor.Account.ID, Name: name, IsActive: true, CreatedAt: now, DCVMethod: "email"}
		case err != nil:
			return err
		}
		if method != "" {
			d.DCVMethod = method
		}
		completeDCV(d, now)
		if d.ID == 0 {
			err = tx.CreateDomain(ctx, d)
		} else {
			err = tx.UpdateDomain(ctx, d)
		}
		if err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "domain.validation_granted", fmt.Sprintf("domain:%d", d.ID),
			map[string]any{"name": d.Name, "dcv_method": d.DCVValidatedMethod, "dcv_expires": d.DCVExpiresAt})
	})
	if err != nil {
		return nil, apiErr(err, "grant domain validation")
	}
	s.validated(ctx, actor)
	return d, nil
}
