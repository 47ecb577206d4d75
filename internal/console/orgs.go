package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// isAdmin: the grants of validations are administrators' decisions (the
// validation rules refuse anyone else); the console offers them only
// where they would pass.
func isAdmin(v *visit) bool { return v.Actor.User.AccessRole == store.RoleAdministrator }

type orgValidationRow struct {
	Type, Status, Until string
	Active              bool
	// Contacts are its verified users; those waiting for a grant say so.
	Contacts []string
}

type orgRow struct {
	ID          int64
	Name        string
	Country     string
	Validations []orgValidationRow
	// Missing are the validation types the organization does not hold
	// active: what orders of those types wait for.
	Missing []string
}

func (s *Server) orgRow(o *store.Organization) orgRow {
	row := orgRow{ID: o.ID, Name: o.Name, Country: o.Country}
	now := s.Now()
	active := map[string]bool{}
	for _, ov := range o.Validations {
		ok := ov.Status == "active" && ov.ValidatedUntil.After(now)
		active[ov.Type] = active[ov.Type] || ok
		vr := orgValidationRow{Type: ov.Type, Status: ov.Status, Until: day(ov.ValidatedUntil), Active: ok}
		for _, c := range ov.VerifiedContacts {
			name := strings.TrimSpace(c.FirstName + " " + c.LastName + " <" + c.Email + ">")
			if c.Unverified {
				name += " (waits for a grant)"
			}
			vr.Contacts = append(vr.Contacts, name)
		}
		row.Validations = append(row.Validations, vr)
	}
	for _, t := range orgTypes() {
		if !active[t] {
			row.Missing = append(row.Missing, t)
		}
	}
	return row
}

func orgTypes() []string {
	var out []string
	for t := range validation.OrgValidationTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

type orgsData struct {
	Rows      []orgRow
	Page      pager
	CanCreate bool
}

func (s *Server) organizations(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := listQuery(r.URL.Query())
	lp, err := listq.Parse(q, map[string]string{"id": "", "name": "", "date_created": ""})
	if err != nil {
		return s.formFailure(w, r, v, "organizations", err, &orgsData{}, nil)
	}
	orgs, total, err := s.Store.Organizations(r.Context(), v.Actor.Account.ID, lp.Page)
	if err != nil {
		return errs.Internalf(err, "list organizations")
	}
	d := &orgsData{Page: pageOf(q, lp.Page, total, len(orgs)), CanCreate: canWriteOrgs(v)}
	for i := range orgs {
		d.Rows = append(d.Rows, s.orgRow(&orgs[i]))
	}
	s.render(w, r, v, http.StatusOK, "organizations", d)
	return nil
}

type orgData struct {
	Org      *store.Organization
	Row      orgRow
	Types    []string
	CanGrant bool
	// CanSubmit: the viewer may submit it for validation; Submit is what
	// that form offers.
	CanSubmit bool
	Submit    orgSubmitForm
}

func (s *Server) orgData(r *http.Request, v *visit) (*orgData, error) {
	id, err := pathID(r, "id", "organization")
	if err != nil {
		return nil, err
	}
	o, err := s.Store.Organization(r.Context(), v.Actor.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "organization", id)
	}
	d := &orgData{Org: o, Row: s.orgRow(o), Types: orgTypes(), CanGrant: isAdmin(v) && canWriteOrgs(v), CanSubmit: canWriteOrgs(v) && o.IsActive}
	if d.CanSubmit {
		if d.Submit, err = s.orgSubmitForm(r, v); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (s *Server) organizationPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.orgData(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "organization", d)
	return nil
}

// grantOrganization is an administrator granting a validation, through
// the rule of PUT /organization/{id}/validation/{type}.
func (s *Server) grantOrganization(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.orgData(r, v)
	if err != nil {
		return err
	}
	var until time.Time
	if u := r.PostFormValue("until"); u != "" {
		if until, err = time.Parse("2006-01-02", u); err != nil {
			return s.formFailure(w, r, v, "organization", errs.InvalidValue("validated_until", "Give the date as YYYY-MM-DD."), d, map[string]string{"validated_until": "until"})
		}
	}
	if err := s.Validation.GrantOrgValidation(r.Context(), v.Actor, d.Org.ID, r.PostFormValue("type"), until); err != nil {
		return s.formFailure(w, r, v, "organization", err, d, map[string]string{"validated_until": "until"})
	}
	return redirect(w, r, "/console/organizations/"+strconv.FormatInt(d.Org.ID, 10), "granted")
}

// ---- domains

type domainRow struct {
	ID        int64
	Name      string
	Method    string
	Status    string
	Valid     bool
	Expires   string
	Submitted string
}

func (s *Server) domainRow(d *store.Domain) domainRow {
	row := domainRow{ID: d.ID, Name: d.Name, Method: d.DCVMethod, Status: d.DCVStatus, Valid: validation.DCVValid(d, s.Now()),
		Expires: day(d.DCVExpiresAt), Submitted: day(d.LastSubmittedAt)}
	if row.Status == "" {
		row.Status = "not submitted"
	}
	return row
}

type domainsData struct {
	Rows      []domainRow
	Page      pager
	CanCreate bool
}

func (s *Server) domains(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := listQuery(r.URL.Query())
	lp, err := listq.Parse(q, map[string]string{"id": "id", "name": "name", "date_created": "created_at"})
	if err != nil {
		return s.formFailure(w, r, v, "domains", err, &domainsData{}, nil)
	}
	var f store.DomainFilter
	if sv := lp.Filters["search"]; sv != "" {
		f.Search, f.SearchContains = listq.Search(sv)
	}
	doms, total, err := s.Store.Domains(r.Context(), v.Actor.Account.ID, f, lp.Page)
	if err != nil {
		return errs.Internalf(err, "list domains")
	}
	d := &domainsData{Page: pageOf(q, lp.Page, total, len(doms)), CanCreate: canWriteOrgs(v)}
	for i := range doms {
		d.Rows = append(d.Rows, s.domainRow(&doms[i]))
	}
	s.render(w, r, v, http.StatusOK, "domains", &view{D: d, Form: q})
	return nil
}

type domainData struct {
	Domain   *store.Domain
	Row      domainRow
	Token    string
	Expires  string
	TXTName  string
	CNAME    string
	HTTPURL  string
	Emails   []string
	CanCheck bool
	CanGrant bool
	Methods  []string
	// CanSubmit: the viewer may change its method and submit it again
	// (Types for that form; Organizations when it has none yet).
	CanSubmit     bool
	Types         []string
	Org           string
	Organizations []option
}

func (s *Server) domainData(r *http.Request, v *visit) (*domainData, error) {
	id, err := pathID(r, "id", "domain")
	if err != nil {
		return nil, err
	}
	dm, err := s.Store.Domain(r.Context(), v.Actor.Account.ID, id)
	if err != nil {
		return nil, notFound(err, "domain", id)
	}
	d := &domainData{Domain: dm, Row: s.domainRow(dm), Token: dm.DCVToken, Expires: date(dm.DCVTokenExpires), Emails: dm.EmailArray,
		CanCheck: allowed(v, account.AreaOrgs, false) && validation.IsTokenMethod(dm.DCVMethod),
		CanGrant: isAdmin(v) && canWriteOrgs(v), Methods: validation.DomainDCVMethods, CanSubmit: canWriteOrgs(v), Types: domainTypes()}
	if dm.OrganizationID != 0 {
		if o, err := s.Store.Organization(r.Context(), v.Actor.Account.ID, dm.OrganizationID); err == nil {
			d.Org = o.Name
		}
	} else if d.CanSubmit {
		nd, err := s.newDomainData(r, v)
		if err != nil {
			return nil, err
		}
		d.Organizations = nd.Organizations
	}
	// What to publish, by method (spec §6.13): the random value in a TXT
	// record at the name or _dnsauth under it, a CNAME from
	// _<value>.<name> to the CA's target, or a file at the well-known path.
	switch dm.DCVMethod {
	case "dns-txt-token":
		d.TXTName = "_dnsauth." + dm.Name
	case "dns-cname-token":
		d.TXTName, d.CNAME = "_"+dm.DCVToken+"."+dm.Name, s.Validation.CNAMETarget()
	case "http-token":
		d.HTTPURL = dcv.HTTPTokenURL(dm.Name)
	}
	return d, nil
}

func date(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func (s *Server) domainPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.domainData(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "domain", d)
	return nil
}

// checkDomain is the "check now" button: the token is looked up at once,
// as PUT /domain/{id}/dcv/validate-token does.
func (s *Server) checkDomain(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.domainData(r, v)
	if err != nil {
		return err
	}
	if _, err := s.Validation.CheckDomainToken(r.Context(), v.Actor, d.Domain.ID); err != nil {
		return s.formFailure(w, r, v, "domain", err, d, nil)
	}
	return redirect(w, r, "/console/domains/"+strconv.FormatInt(d.Domain.ID, 10), "checked")
}

func (s *Server) grantDomain(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.domainData(r, v)
	if err != nil {
		return err
	}
	if _, err := s.Validation.GrantDomainValidation(r.Context(), v.Actor, d.Domain.ID, "", r.PostFormValue("dcv_method")); err != nil {
		return s.formFailure(w, r, v, "domain", err, d, nil)
	}
	return redirect(w, r, "/console/domains/"+strconv.FormatInt(d.Domain.ID, 10), "granted")
}
