package validation

import (
	"context"
	"fmt"
	"strings"

	"github.com/certorder/certorder/internal/store"
)

// Sandbox outcomes of domain control validation and CAA: in
// --sandbox every name passes at once unless a rule scripts otherwise, so
// that integrators can walk their clients through every path.
const (
	SandboxPass    = "pass"
	SandboxFail    = "fail"     // check-dcv answers invalid_dns_txt / file_random_value_not_found; the order stays pending
	SandboxPending = "pending"  // the validation never completes; check-dcv answers 200 with the name pending
	SandboxCAAFail = "caa-fail" // DCV passes, CAA refuses issuance: caa_check_failed|not_authorized
	// SandboxEVPending: DCV passes, and an EV order waits for the approval
	// of a verified contact, which the sandbox never mails (order
	// validation shows its contacts pending; cancel it to move on).
	SandboxEVPending = "ev-pending"
)

// SandboxRule scripts the outcome of every name that Match matches: Match
// is one label ("dcv-fail" matches dcv-fail.example.com and
// www.dcv-fail.example.com) or a domain ("example.net" matches it and every
// name under it).
type SandboxRule struct {
	Match   string
	Outcome string
}

// DefaultSandboxRules are always in force in the sandbox, after the
// configured ones: a name with one of these labels takes that path.
var DefaultSandboxRules = []SandboxRule{
	{Match: "dcv-fail", Outcome: SandboxFail},
	{Match: "dcv-pending", Outcome: SandboxPending},
	{Match: "caa-fail", Outcome: SandboxCAAFail},
	{Match: "ev-pending", Outcome: SandboxEVPending},
}

// ParseSandboxRule reads MATCH=OUTCOME (the --sandbox-rule flag).
func ParseSandboxRule(s string) (SandboxRule, error) {
	m, out, ok := strings.Cut(strings.TrimSpace(s), "=")
	m = strings.Trim(strings.ToLower(strings.TrimSpace(m)), ".")
	out = strings.ToLower(strings.TrimSpace(out))
	if !ok || m == "" {
		return SandboxRule{}, fmt.Errorf("sandbox rule %q: want MATCH=OUTCOME", s)
	}
	switch out {
	case SandboxPass, SandboxFail, SandboxPending, SandboxCAAFail, SandboxEVPending:
	default:
		return SandboxRule{}, fmt.Errorf("sandbox rule %q: outcome must be pass, fail, pending, caa-fail or ev-pending", s)
	}
	return SandboxRule{Match: m, Outcome: out}, nil
}

func (r SandboxRule) matches(name string) bool {
	return strings.Contains("."+strings.TrimPrefix(strings.ToLower(name), "*.")+".", "."+r.Match+".")
}

// sandboxOutcome is the first rule's outcome for name; pass when none
// matches.
func (s *Service) sandboxOutcome(name string) string {
	for _, rules := range [][]SandboxRule{s.SandboxRules, DefaultSandboxRules} {
		for _, r := range rules {
			if r.matches(name) {
				return r.Outcome
			}
		}
	}
	return SandboxPass
}

// sandboxNamesPass: no rule holds any of the names back.
func (s *Service) sandboxNamesPass(names []string) bool {
	for _, n := range names {
		if o := s.sandboxOutcome(n); o == SandboxFail || o == SandboxPending {
			return false
		}
	}
	return true
}

// SandboxOrgValidations are the organization validations the sandbox
// grants: every type a product of the catalogue needs.
var SandboxOrgValidations = []string{"ov", "ev", "cs", "ev_cs"}

// OrganizationCreated is told, inside the transaction that created it
// (POST /organization or an order's new organization), of a new
// organization: the sandbox grants it every validation type for a year, as
// it promises; outside the sandbox it waits for a grant.
func (s *Service) OrganizationCreated(ctx context.Context, tx store.Tx, orgID int64) error {
	if !s.Sandbox {
		return nil
	}
	now := s.now()
	for _, typ := range SandboxOrgValidations {
		if err := tx.SetOrgValidation(ctx, store.OrgValidation{OrganizationID: orgID, Type: typ, Status: "active",
			DateCreated: now, ValidatedUntil: now.AddDate(1, 0, 0)}); err != nil {
			return err
		}
	}
	return nil
}
