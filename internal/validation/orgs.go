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
	"github.com/certorder/certorder/internal/store"
)

// OrgCreateInput is the body of POST /organization (spec §6.1): the
// organization object an order may also carry, plus a pre-validation
// request.
type OrgCreateInput struct {
	OrganizationInput
	Validations []OrgValidationInput `json:"validations"`
}

// OrgValidationsInput is the body of POST /organization/{id}/validation
// (spec §6.4).
type OrgValidationsInput struct {
	Validations []OrgValidationInput `json:"validations"`
}

// OrgValidationInput is one validation asked for: its type and, for ev,
// cs and ev_cs, the verified users.
type OrgValidationInput struct {
	Type          string              `json:"type"`
	VerifiedUsers []VerifiedUserInput `json:"verified_users"`
}

// VerifiedUserInput is an existing user of the account ({"id": N}) or a
// new contact (spec §6.4).
type VerifiedUserInput struct {
	ID flex.Int `json:"id"`
	ContactInput
}

// ContactInput is a person in an organization object.
type ContactInput struct {
	FirstName          string `json:"first_name"`
	LastName           string `json:"last_name"`
	Email              string `json:"email"`
	JobTitle           string `json:"job_title"`
	Telephone          string `json:"telephone"`
	TelephoneExtension string `json:"telephone_extension"`
}

// OrganizationInput is an order's organization, either {"id": N} or a new
// one created with the order, and the body of POST /organization (spec
// §6.1 shape). The EV fields are our own names: the spec
// found no CertCentral field names for them.
type OrganizationInput struct {
	ID                    flex.Int          `json:"id"`
	Name                  string            `json:"name"`
	AssumedName           string            `json:"assumed_name"`
	Address               string            `json:"address"`
	Address2              string            `json:"address2"`
	City                  string            `json:"city"`
	State                 string            `json:"state"`
	Zip                   string            `json:"zip"`
	Country               string            `json:"country"`
	Telephone             string            `json:"telephone"`
	JurisdictionCountry   string            `json:"jurisdiction_country"`
	JurisdictionState     string            `json:"jurisdiction_state"`
	JurisdictionCity      string            `json:"jurisdiction_city"`
	BusinessCategory      string            `json:"business_category"`
	RegistrationNumber    string            `json:"registration_number"`
	IncorporatingAgency   string            `json:"incorporating_agency"`
	OrganizationContact   *ContactInput     `json:"organization_contact"`
	TechnicalContact      *ContactInput     `json:"technical_contact"`
	SkipDuplicateOrgCheck flex.Bool         `json:"skip_duplicate_org_check"`
	Contacts              []OrgContactInput `json:"contacts"` // seed 004
}

// trimmed returns a copy with surrounding spaces removed from every text
// field, so validation, the duplicate check and the stored record all see
// the same values.
func (in OrganizationInput) trimmed() OrganizationInput {
	for _, f := range []*string{&in.Name, &in.AssumedName, &in.Address, &in.Address2, &in.City, &in.State,
		&in.Zip, &in.Country, &in.Telephone, &in.JurisdictionCountry, &in.JurisdictionState, &in.JurisdictionCity,
		&in.BusinessCategory, &in.RegistrationNumber, &in.IncorporatingAgency} {
		*f = strings.TrimSpace(*f)
	}
	return in
}

// OrgContactInput is one organization.contacts entry of seed 004: an
// existing user by user_id, or a new contact.
type OrgContactInput struct {
	ContactType string   `json:"contact_type"`
	UserID      flex.Int `json:"user_id"`
	ContactInput
}

// StoreContact is the contact as the store records it; nil stays nil.
func (c *ContactInput) StoreContact() *store.Contact {
	if c == nil {
		return nil
	}
	return &store.Contact{FirstName: c.FirstName, LastName: c.LastName, Email: c.Email, JobTitle: c.JobTitle, Telephone: c.Telephone, TelephoneExtension: c.TelephoneExtension}
}

// ValidCountry: c is an ISO 3166-1 alpha-2 code in shape (two letters,
// either case).
func ValidCountry(c string) bool {
	if len(c) != 2 {
		return false
	}
	for _, r := range strings.ToLower(c) {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// OrgValidationTypes are the validations an organization can be submitted
// for, and whether each needs verified users (spec §6.4). ds and smime
// exist in CertCentral but no product of certorder needs them.
var OrgValidationTypes = map[string]bool{"ov": false, "ev": true, "cs": true, "ev_cs": true}

// orgValidationLife is how long a granted organization validation lasts:
// 825 days for OV and code signing (Baseline Requirements 4.2.1, CS BR
// 4.2.1 reuse of organization data), 398 days for EV and EV code signing
// (EV Guidelines 11.14.3, thirteen months).
func orgValidationLife(typ string) time.Duration {
	if typ == "ev" || typ == "ev_cs" {
		return 398 * 24 * time.Hour
	}
	return 825 * 24 * time.Hour
}

// orgFields names the fields of an organization object in errors: nested
// in an order (missing_field:organization.name, invalid_value:organization,
// as decided for nested objects) or at the top of POST /organization
// (missing_field:name, invalid_value:name).
type orgFields struct{ nested bool }

func (f orgFields) name(field string) string {
	if f.nested {
		return "organization." + field
	}
	return field
}

func (f orgFields) missing(field string) error { return errs.MissingField(f.name(field)) }

func (f orgFields) invalid(field, format string, args ...any) error {
	if f.nested {
		return errs.InvalidValue("organization", format, args...)
	}
	return errs.InvalidValue(field, format, args...)
}

// NewOrganization checks a new organization object and runs the duplicate
// check (name, address, city, state, country, case-insensitive, after
// trimming) unless skip_duplicate_org_check. It returns the organization
// to create and, when one exists, the identical organization to reuse
// instead. Both an order's inline organization (nested: its fields are
// named organization.x in errors) and POST /organization go through it.
func NewOrganization(ctx context.Context, r store.Reader, actor account.Actor, raw *OrganizationInput, nested bool, now time.Time) (org, dup *store.Organization, err error) {
	f := orgFields{nested: nested}
	in := raw.trimmed()
	var list errs.List
	req := func(field, v string) {
		if v == "" {
			list.Add(f.missing(field))
		} else if len(v) > 64 {
			list.Add(f.invalid(field, "%s must be at most 64 characters.", f.name(field)))
		}
	}
	req("name", in.Name)
	req("address", in.Address)
	req("city", in.City)
	req("state", in.State)
	req("zip", in.Zip)
	req("country", in.Country)
	if in.Country != "" && !ValidCountry(in.Country) {
		list.Add(f.invalid("country", "%s must be an ISO 3166-1 alpha-2 code.", f.name("country")))
	}
	if in.JurisdictionCountry != "" && !ValidCountry(in.JurisdictionCountry) {
		list.Add(f.invalid("jurisdiction_country", "%s must be an ISO 3166-1 alpha-2 code.", f.name("jurisdiction_country")))
	}
	if in.Name != "" && in.AssumedName != "" && len(in.Name)+len(in.AssumedName) > 61 {
		list.Add(f.invalid("assumed_name", "name and assumed_name together must be at most 61 characters."))
	}
	for _, ct := range []*ContactInput{in.OrganizationContact, in.TechnicalContact} {
		if ct != nil && ct.Email != "" && !account.ValidEmail(ct.Email) {
			field := "organization_contact"
			if ct == in.TechnicalContact {
				field = "technical_contact"
			}
			list.Add(f.invalid(field, "%q is not a valid contact email address.", ct.Email))
		}
	}
	if err := list.Err(); err != nil {
		return nil, nil, err
	}
	if !in.SkipDuplicateOrgCheck.V {
		found, err := r.FindOrganization(ctx, actor.Account.ID, in.Name, in.Address, in.City, in.State, in.Country)
		switch {
		case err == nil:
			dup = found
		case !errors.Is(err, store.ErrNotFound):
			return nil, nil, errs.Internalf(err, "duplicate organization check")
		}
	}
	return &store.Organization{
		AccountID: actor.Account.ID, ContainerID: actor.User.ContainerID,
		Name: in.Name, AssumedName: in.AssumedName,
		Address: in.Address, Address2: in.Address2, City: in.City, State: in.State, Zip: in.Zip,
		Country: strings.ToLower(in.Country), Telephone: in.Telephone,
		JurisdictionCountry: strings.ToLower(in.JurisdictionCountry), JurisdictionState: in.JurisdictionState,
		JurisdictionCity: in.JurisdictionCity, BusinessCategory: in.BusinessCategory,
		RegistrationNumber: in.RegistrationNumber, IncorporatingAgency: in.IncorporatingAgency,
		OrganizationContact: in.OrganizationContact.StoreContact(), TechnicalContact: in.TechnicalContact.StoreContact(),
		IsActive: true, CreatedAt: now,
	}, dup, nil
}

// checkFullContact: a contact given to POST /organization names a person
// who can be reached.
func checkFullContact(field string, c *ContactInput, list *errs.List) {
	if c == nil {
		return
	}
	for _, f := range []struct{ name, v string }{{"first_name", c.FirstName}, {"last_name", c.LastName}, {"email", c.Email}} {
		if strings.TrimSpace(f.v) == "" {
			list.Add(errs.MissingField(field + "." + f.name))
		}
	}
}

// OrgCreated is the outcome of POST /organization.
type OrgCreated struct {
	ID int64
	// Created is false when the duplicate check found the organization.
	Created bool
}

// CreateOrganization adds an organization (POST /organization). An
// identical one (the order path's duplicate check) is answered instead of
// a new one unless skip_duplicate_org_check; validations in the body are
// submitted either way.
func (s *Service) CreateOrganization(ctx context.Context, actor account.Actor, in *OrgCreateInput) (*OrgCreated, error) {
	if in == nil {
		return nil, errs.MissingField("name")
	}
	now := s.now()
	var list errs.List
	org, _, err := NewOrganization(ctx, s.Store, actor, &in.OrganizationInput, false, now)
	list.Add(err)
	checkFullContact("organization_contact", in.OrganizationContact, &list)
	checkFullContact("technical_contact", in.TechnicalContact, &list)
	var vals []store.OrgValidation
	if in.Validations != nil {
		vals, err = s.checkOrgValidations(ctx, actor, in.Validations)
		list.Add(err)
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	res := &OrgCreated{}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		// The duplicate check again, inside the transaction, so that two
		// identical requests cannot both create.
		target := org
		if !in.SkipDuplicateOrgCheck.V {
			found, err := tx.FindOrganization(ctx, actor.Account.ID, org.Name, org.Address, org.City, org.State, org.Country)
			if err == nil {
				target = found
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if target.ID == 0 {
			if err := tx.CreateOrganization(ctx, target); err != nil {
				return err
			}
			res.Created = true
			if err := s.OrganizationCreated(ctx, tx, target.ID); err != nil {
				return err
			}
		}
		res.ID = target.ID
		cur, err := tx.Organization(ctx, actor.Account.ID, target.ID)
		if err != nil {
			return err
		}
		if err := s.submitOrgValidations(ctx, tx, cur, vals, now); err != nil {
			return err
		}
		action := "organization.created"
		if !res.Created {
			action = "organization.reused"
		}
		return s.audit(ctx, tx, actor, action, fmt.Sprintf("organization:%d", target.ID),
			map[string]any{"name": target.Name, "validations": typesOf(vals)})
	})
	if err != nil {
		return nil, apiErr(err, "create organization")
	}
	return res, nil
}

// SubmitOrgValidation submits an organization for validation (POST
// /organization/{id}/validation). In sandbox mode the validations are
// granted at once; otherwise they wait, pending, for an administrator.
func (s *Service) SubmitOrgValidation(ctx context.Context, actor account.Actor, orgID int64, in *OrgValidationsInput) error {
	org, err := s.Store.Organization(ctx, actor.Account.ID, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("organization", "Organization %d was not found.", orgID)
	}
	if err != nil {
		return errs.Internalf(err, "read organization %d", orgID)
	}
	if in == nil || len(in.Validations) == 0 {
		return errs.MissingField("validations")
	}
	vals, err := s.checkOrgValidations(ctx, actor, in.Validations)
	if err != nil {
		return err
	}
	if !org.IsActive {
		return errs.InvalidValue("organization", "Organization %d is not active.", org.ID)
	}
	now := s.now()
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		cur, err := tx.Organization(ctx, actor.Account.ID, orgID)
		if err != nil {
			return err
		}
		if err := s.submitOrgValidations(ctx, tx, cur, vals, now); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "organization.validation_submitted", fmt.Sprintf("organization:%d", orgID),
			map[string]any{"validations": typesOf(vals)})
	})
	if err != nil {
		return apiErr(err, "submit organization validation")
	}
	if s.Sandbox {
		s.validated(ctx, actor)
	}
	return nil
}

// checkOrgValidations reads validations[]: known types, each once, and
// verified users where the type needs them (existing users of the account
// by id, or new contacts with a name and an email address).
func (s *Service) checkOrgValidations(ctx context.Context, actor account.Actor, in []OrgValidationInput) ([]store.OrgValidation, error) {
	var list errs.List
	if len(in) == 0 {
		return nil, errs.MissingField("validations")
	}
	seen := map[string]bool{}
	var out []store.OrgValidation
	for _, v := range in {
		typ := strings.ToLower(strings.TrimSpace(v.Type))
		needsUsers, known := OrgValidationTypes[typ]
		switch {
		case typ == "":
			list.Add(errs.MissingField("validations.type"))
			continue
		case !known:
			list.Add(errs.InvalidValue("validations", "%q is not a validation type certorder offers; use ov, ev, cs or ev_cs.", v.Type))
			continue
		case seen[typ]:
			list.Add(errs.InvalidValue("validations", "The validation type %q is listed twice.", typ))
			continue
		}
		seen[typ] = true
		if needsUsers && len(v.VerifiedUsers) == 0 {
			list.Add(errs.MissingField("verified_users"))
			continue
		}
		val := store.OrgValidation{Type: typ}
		bad := false
		for _, u := range v.VerifiedUsers {
			c, err := s.verifiedContact(ctx, actor, u)
			if err != nil {
				list.Add(err)
				bad = true
				continue
			}
			val.VerifiedContacts = append(val.VerifiedContacts, c)
		}
		if !bad {
			out = append(out, val)
		}
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) verifiedContact(ctx context.Context, actor account.Actor, u VerifiedUserInput) (store.Contact, error) {
	switch {
	case u.ID.Bad:
		return store.Contact{}, errs.InvalidValue("verified_users", "verified_users[].id must be an integer.")
	case u.ID.Set:
		usr, err := s.Store.User(ctx, actor.Account.ID, u.ID.V)
		if errors.Is(err, store.ErrNotFound) {
			return store.Contact{}, errs.InvalidValue("verified_users", "User %d was not found in this account.", u.ID.V)
		}
		if err != nil {
			return store.Contact{}, errs.Internalf(err, "read user %d", u.ID.V)
		}
		return store.Contact{UserID: usr.ID, FirstName: usr.FirstName, LastName: usr.LastName, Email: usr.Email,
			JobTitle: usr.JobTitle, Telephone: usr.Telephone}, nil
	}
	c := u.ContactInput.StoreContact()
	c.FirstName, c.LastName, c.Email = strings.TrimSpace(c.FirstName), strings.TrimSpace(c.LastName), strings.TrimSpace(c.Email)
	if c.FirstName == "" || c.LastName == "" || c.Email == "" {
		return store.Contact{}, errs.InvalidValue("verified_users", "A verified user is an existing user {\"id\": N} or a new contact with first_name, last_name and email.")
	}
	if !account.ValidEmail(c.Email) {
		return store.Contact{}, errs.InvalidValue("verified_users", "%q is not a valid email address.", c.Email)
	}
	return *c, nil
}

// submitOrgValidations records the submissions: granted at once in
// sandbox mode; otherwise pending, except that a validation still in
// force stays active. Its verified users are then replaced by the
// submitted ones, of which only those it had verified already stay
// verified: the others wait, unverified, for an administrator's grant.
// Whoever may submit an organization would otherwise choose, by a
// resubmission, who approves its EV orders (evapproval.go).
func (s *Service) submitOrgValidations(ctx context.Context, tx store.Tx, org *store.Organization, vals []store.OrgValidation, now time.Time) error {
	for _, v := range vals {
		v.OrganizationID = org.ID
		switch cur := findOrgValidation(org, v.Type); {
		case s.Sandbox:
			v.Status, v.DateCreated, v.ValidatedUntil = "active", now, now.Add(orgValidationLife(v.Type))
		case cur != nil && cur.Status == "active" && cur.ValidatedUntil.After(now):
			v.Status, v.DateCreated, v.ValidatedUntil = cur.Status, cur.DateCreated, cur.ValidatedUntil
			v.VerifiedContacts = keepVerified(cur.VerifiedContacts, v.VerifiedContacts)
		default:
			v.Status, v.DateCreated, v.ValidatedUntil = "pending", now, time.Time{}
		}
		if err := tx.SetOrgValidation(ctx, v); err != nil {
			return err
		}
		if v.VerifiedContacts != nil {
			if err := tx.SetOrgValidationContacts(ctx, org.ID, v.Type, v.VerifiedContacts); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepVerified marks every submitted contact unverified unless its
// address, the one approval emails go to, is that of a contact verified
// already. A user named by id counts by the address it has now: an
// address changed since the grant is verified by none.
func keepVerified(verified, submitted []store.Contact) []store.Contact {
	out := make([]store.Contact, 0, len(submitted))
	for _, c := range submitted {
		c.Unverified = true
		if e, ok := CanonicalEmail(c.Email); ok {
			c.Unverified = !slices.ContainsFunc(verified, func(v store.Contact) bool {
				ve, ok := CanonicalEmail(v.Email)
				return ok && !v.Unverified && ve == e
			})
		}
		out = append(out, c)
	}
	return out
}

func findOrgValidation(org *store.Organization, typ string) *store.OrgValidation {
	for i := range org.Validations {
		if org.Validations[i].Type == typ {
			return &org.Validations[i]
		}
	}
	return nil
}

func typesOf(vals []store.OrgValidation) []string {
	out := []string{}
	for _, v := range vals {
		out = append(out, v.Type)
	}
	return out
}

// GrantOrgValidation is an administrator's decision that an organization
// is validated for typ (PUT /organization/{id}/validation/{type}, and
// `certorder org validate`): the validation becomes active until until
// (zero: the type's full life). Pending orders that become ready issue.
// actor.User is nil when the command line grants it.
func (s *Service) GrantOrgValidation(ctx context.Context, actor account.Actor, orgID int64, typ string, until time.Time) error {
	if actor.User != nil && actor.User.AccessRole != store.RoleAdministrator {
		return errs.New(errs.Forbidden, "access_denied|missing_permission", "Only administrators can grant validations.")
	}
	typ = strings.ToLower(strings.TrimSpace(typ))
	if _, ok := OrgValidationTypes[typ]; !ok {
		return errs.InvalidValue("type", "%q is not a validation type certorder offers; use ov, ev, cs or ev_cs.", typ)
	}
	now := s.now()
	switch {
	case until.IsZero():
		until = now.Add(orgValidationLife(typ))
	case !until.After(now):
		return errs.InvalidValue("validated_until", "validated_until must be in the future.")
	case until.After(now.Add(orgValidationLife(typ))):
		return errs.InvalidValue("validated_until", "A %s validation lasts at most %d days.", typ, int(orgValidationLife(typ).Hours()/24))
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		org, err := tx.Organization(ctx, actor.Account.ID, orgID)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("organization", "Organization %d was not found.", orgID)
		}
		if err != nil {
			return err
		}
		if err := tx.SetOrgValidation(ctx, store.OrgValidation{OrganizationID: org.ID, Type: typ, Status: "active",
			DateCreated: now, ValidatedUntil: until}); err != nil {
			return err
		}
		// The grant verifies the verified users as submitted, those
		// submitted while the validation was in force included.
		if cur := findOrgValidation(org, typ); cur != nil && slices.ContainsFunc(cur.VerifiedContacts, func(c store.Contact) bool { return c.Unverified }) {
			contacts := slices.Clone(cur.VerifiedContacts)
			for i := range contacts {
				contacts[i].Unverified = false
			}
			if err := tx.SetOrgValidationContacts(ctx, org.ID, typ, contacts); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "organization.validation_granted", fmt.Sprintf("organization:%d", org.ID),
			map[string]any{"type": typ, "validated_until": until})
	})
	if err != nil {
		return apiErr(err, "grant organization validation")
	}
	s.validated(ctx, actor)
	return nil
}

// DeleteOrganization removes an organization (DELETE /organization/{id},
// spec §6.6): never the account's first organization, nor one an order or
// a domain names (400 cannot_delete_organization, our code).
func (s *Service) DeleteOrganization(ctx context.Context, actor account.Actor, id int64) error {
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		org, err := tx.Organization(ctx, actor.Account.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return errs.NotFoundf("organization", "Organization %d was not found.", id)
		}
		if err != nil {
			return err
		}
		first, _, err := tx.Organizations(ctx, actor.Account.ID, store.Page{Limit: 1, Sort: []string{"id"}})
		if err != nil {
			return err
		}
		if len(first) > 0 && first[0].ID == org.ID {
			return errs.New(errs.Invalid, "cannot_delete_organization", "Organization %d is the account's first organization and cannot be deleted.", org.ID)
		}
		used, err := tx.OrganizationInUse(ctx, actor.Account.ID, org.ID)
		if err != nil {
			return err
		}
		if used {
			return errs.New(errs.Invalid, "cannot_delete_organization", "Organization %d is used by an order or a domain and cannot be deleted.", org.ID)
		}
		if err := tx.DeleteOrganization(ctx, actor.Account.ID, org.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "organization.deleted", fmt.Sprintf("organization:%d", org.ID), map[string]any{"name": org.Name})
	})
	return apiErr(err, "delete organization")
}
