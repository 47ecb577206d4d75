package console

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// The forms that add and submit organizations and domains. Each calls the
// validation service the API's route calls, with the API's input: the
// permission table lets only those who may write organizations and
// domains (administrators and managers) open them, and the service's own
// rules (verified users, known types, active organizations) judge the
// rest, exactly as for a key.

// contactFields are the inputs of a contact, each named
// <contact>.<field> as the rules name them in errors.
var contactFields = []string{"first_name", "last_name", "email", "job_title", "telephone"}

// orgInputs are the inputs of a new organization, in the order shown;
// the EV details follow.
var orgInputs = []string{"name", "assumed_name", "address", "address2", "city", "state", "zip", "country", "telephone"}

var orgEVInputs = []string{"jurisdiction_country", "jurisdiction_state", "jurisdiction_city", "business_category", "registration_number", "incorporating_agency"}

// orgAliases: an error on a contact's address shows under its input; a
// rule naming a contact's field names the input of that name.
var orgAliases = func() map[string]string {
	m := map[string]string{"organization_contact": "organization_contact.email", "technical_contact": "technical_contact.email",
		"validations.type": "validations"}
	for _, c := range []string{"organization_contact", "technical_contact", "verified_user"} {
		for _, f := range contactFields {
			m[c+"."+f] = c + "." + f
		}
	}
	return m
}()

// orgTypeChoice is a validation type to tick, and whether it needs
// verified users.
type orgTypeChoice struct {
	Type          string
	VerifiedUsers bool
}

// orgSubmitForm is what the organization forms need to offer validation
// types with verified users: the types, and the users one may name.
type orgSubmitForm struct {
	Types []orgTypeChoice
	Users []option
}

func (s *Server) orgSubmitForm(r *http.Request, v *visit) (orgSubmitForm, error) {
	var f orgSubmitForm
	for _, t := range orgTypes() {
		f.Types = append(f.Types, orgTypeChoice{Type: t, VerifiedUsers: validation.OrgValidationTypes[t]})
	}
	users, _, err := s.Accounts.Users(r.Context(), v.Actor, store.UserFilter{}, store.Page{Limit: 500})
	if err != nil {
		return f, err
	}
	for _, u := range users {
		if u.Status == store.UserDeleted || u.Email == "" {
			continue
		}
		f.Users = append(f.Users, option{strconv.FormatInt(u.ID, 10), u.FirstName + " " + u.LastName + " <" + u.Email + ">"})
	}
	return f, nil
}

type newOrgData struct {
	orgSubmitForm
	Inputs, EVInputs []string
	Contacts         []string
	ContactFields    []string
}

func (s *Server) newOrgData(r *http.Request, v *visit) (*newOrgData, error) {
	sf, err := s.orgSubmitForm(r, v)
	if err != nil {
		return nil, err
	}
	return &newOrgData{orgSubmitForm: sf, Inputs: orgInputs, EVInputs: orgEVInputs,
		Contacts: []string{"organization_contact", "technical_contact"}, ContactFields: contactFields}, nil
}

func (s *Server) newOrganizationPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.newOrgData(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "neworganization", d)
	return nil
}

// contactOf is the contact of the inputs prefix.*, nil when all are empty.
func contactOf(r *http.Request, prefix string) *validation.ContactInput {
	get := func(f string) string { return strings.TrimSpace(r.PostFormValue(prefix + "." + f)) }
	c := &validation.ContactInput{FirstName: get("first_name"), LastName: get("last_name"), Email: get("email"), JobTitle: get("job_title"), Telephone: get("telephone")}
	if *c == (validation.ContactInput{}) {
		return nil
	}
	return c
}

// orgValidations are the validation types ticked, each with the verified
// users named: the users ticked and the new contact typed, if any. The
// form names one set of verified users for every type that needs them.
func orgValidations(r *http.Request) []validation.OrgValidationInput {
	var users []validation.VerifiedUserInput
	for _, id := range r.PostForm["verified_user"] {
		n, err := strconv.ParseInt(id, 10, 64)
		users = append(users, validation.VerifiedUserInput{ID: flex.Int{V: n, Set: true, Bad: err != nil}})
	}
	if c := contactOf(r, "verified_user"); c != nil {
		users = append(users, validation.VerifiedUserInput{ContactInput: *c})
	}
	var out []validation.OrgValidationInput
	for _, t := range r.PostForm["validation"] {
		in := validation.OrgValidationInput{Type: t}
		if validation.OrgValidationTypes[t] {
			in.VerifiedUsers = users
		}
		out = append(out, in)
	}
	return out
}

// newOrganization adds an organization through the rule of POST
// /organization, submitting the types ticked for validation.
func (s *Server) newOrganization(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.newOrgData(r, v)
	if err != nil {
		return err
	}
	get := func(f string) string { return r.PostFormValue(f) }
	in := &validation.OrgCreateInput{OrganizationInput: validation.OrganizationInput{
		Name: get("name"), AssumedName: get("assumed_name"), Address: get("address"), Address2: get("address2"), City: get("city"),
		State: get("state"), Zip: get("zip"), Country: get("country"), Telephone: get("telephone"),
		JurisdictionCountry: get("jurisdiction_country"), JurisdictionState: get("jurisdiction_state"), JurisdictionCity: get("jurisdiction_city"),
		BusinessCategory: get("business_category"), RegistrationNumber: get("registration_number"), IncorporatingAgency: get("incorporating_agency"),
		OrganizationContact: contactOf(r, "organization_contact"), TechnicalContact: contactOf(r, "technical_contact"),
	}}
	if vals := orgValidations(r); len(vals) > 0 {
		in.Validations = vals
	}
	res, err := s.Validation.CreateOrganization(r.Context(), v.Actor, in)
	if err != nil {
		return s.formFailure(w, r, v, "neworganization", err, d, orgAliases)
	}
	done := "created"
	if !res.Created {
		done = "reused"
	}
	return redirect(w, r, "/console/organizations/"+strconv.FormatInt(res.ID, 10), done)
}

// submitOrganization submits an organization for the types ticked, through
// the rule of POST /organization/{id}/validation.
func (s *Server) submitOrganization(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.orgData(r, v)
	if err != nil {
		return err
	}
	in := &validation.OrgValidationsInput{Validations: orgValidations(r)}
	if err := s.Validation.SubmitOrgValidation(r.Context(), v.Actor, d.Org.ID, in); err != nil {
		return s.formFailure(w, r, v, "organization", err, d, orgAliases)
	}
	return redirect(w, r, "/console/organizations/"+strconv.FormatInt(d.Org.ID, 10), "submitted")
}

// ---- domains

type newDomainData struct {
	Organizations []option
	Types         []string
	Methods       []string
}

func (s *Server) newDomainData(r *http.Request, v *visit) (*newDomainData, error) {
	d := &newDomainData{Types: domainTypes(), Methods: validation.DomainDCVMethods}
	orgs, _, err := s.Store.Organizations(r.Context(), v.Actor.Account.ID, store.Page{Limit: 500})
	if err != nil {
		return nil, errs.Internalf(err, "list organizations")
	}
	for _, o := range orgs {
		if o.IsActive {
			d.Organizations = append(d.Organizations, option{strconv.FormatInt(o.ID, 10), o.Name})
		}
	}
	return d, nil
}

func domainTypes() []string {
	var out []string
	for t := range validation.DomainValidationTypes {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

func (s *Server) newDomainPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.newDomainData(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "newdomain", d)
	return nil
}

var domainAliases = map[string]string{"validations.type": "validations", "organization.id": "organization"}

// domainValidations are the types ticked, as the API's validations[].
func domainValidations(r *http.Request) []validation.DomainValidationInput {
	out := []validation.DomainValidationInput{}
	for _, t := range r.PostForm["validation"] {
		out = append(out, validation.DomainValidationInput{Type: t})
	}
	return out
}

// newDomain adds a domain and submits it, through the rule of POST /domain.
func (s *Server) newDomain(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.newDomainData(r, v)
	if err != nil {
		return err
	}
	in := &validation.DomainInput{Name: r.PostFormValue("name"), DCVMethod: r.PostFormValue("dcv_method"), Validations: domainValidations(r),
		KeepWWW: flex.Bool{V: r.PostFormValue("keep_www") == "1", Set: r.PostFormValue("keep_www") != ""}}
	if id := strings.TrimSpace(r.PostFormValue("organization")); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		in.Organization = &flex.IDInput{ID: flex.Int{V: n, Set: true, Bad: err != nil}}
	}
	dm, err := s.Validation.AddDomain(r.Context(), v.Actor, in)
	if err != nil {
		return s.formFailure(w, r, v, "newdomain", err, d, domainAliases)
	}
	return redirect(w, r, "/console/domains/"+strconv.FormatInt(dm.ID, 10), "created")
}

// changeDomainMethod is PUT /domain/{id}/dcv/method: the domain's method
// changes and a new round starts with it.
func (s *Server) changeDomainMethod(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.domainData(r, v)
	if err != nil {
		return err
	}
	if _, err := s.Validation.ChangeDomainDCVMethod(r.Context(), v.Actor, d.Domain.ID, r.PostFormValue("dcv_method")); err != nil {
		return s.formFailure(w, r, v, "domain", err, d, domainAliases)
	}
	return redirect(w, r, "/console/domains/"+strconv.FormatInt(d.Domain.ID, 10), "submitted")
}

// submitDomain is POST /domain/{id}/validation: the domain submitted again
// for the types ticked (none ticked keeps its types).
func (s *Server) submitDomain(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.domainData(r, v)
	if err != nil {
		return err
	}
	in := &validation.DomainSubmitInput{}
	if vals := domainValidations(r); len(vals) > 0 {
		in.Validations = vals
	}
	if id := formInt(r, "organization"); id > 0 {
		in.Organization = &flex.IDInput{ID: flex.NewInt(id)}
	}
	if _, err := s.Validation.SubmitDomainValidation(r.Context(), v.Actor, d.Domain.ID, in); err != nil {
		return s.formFailure(w, r, v, "domain", err, d, domainAliases)
	}
	return redirect(w, r, "/console/domains/"+strconv.FormatInt(d.Domain.ID, 10), "submitted")
}

// canWriteOrgs: the permission table lets v's user add and submit
// organizations and domains (to show those forms).
func canWriteOrgs(v *visit) bool { return allowed(v, account.AreaOrgs, false) }
