package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// verifiedUserView is a verified user of a validation (spec §6.5
// verified_users[{id, first_name, last_name}]) and, in organization info,
// one of verified_contacts (spec §6.3, with status as in §2.6). id is the
// account user's id; a contact that is no user has none.
type verifiedUserView struct {
	ID        int64  `json:"id,omitempty"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Email     string `json:"email,omitempty"`
	JobTitle  string `json:"job_title,omitempty"`
	Telephone string `json:"telephone,omitempty"`
	Status    string `json:"status,omitempty"`
}

func verifiedUserOf(c store.Contact) verifiedUserView {
	return verifiedUserView{ID: c.UserID, FirstName: c.FirstName, LastName: c.LastName, Email: c.Email,
		JobTitle: c.JobTitle, Telephone: c.Telephone}
}

// orgValidationStatus: a stored active validation past validated_until is
// shown as expired (spec §7.5).
func (s *Server) orgValidationStatus(v store.OrgValidation) string {
	if v.Status == "active" && !v.ValidatedUntil.After(s.Now()) {
		return "expired"
	}
	return v.Status
}

func (s *Server) orgValidationViewOf(val store.OrgValidation) orgValidationView {
	n := validationNames[val.Type]
	v := orgValidationView{Type: val.Type, Name: n[0], Description: n[1], Status: s.orgValidationStatus(val)}
	if !val.DateCreated.IsZero() {
		v.DateCreated = stamp(val.DateCreated)
	}
	if !val.ValidatedUntil.IsZero() {
		v.ValidatedUntil = stamp(val.ValidatedUntil)
	}
	for _, c := range val.VerifiedContacts {
		v.VerifiedUsers = append(v.VerifiedUsers, verifiedUserOf(c))
	}
	return v
}

// verifiedContactsOf gathers the verified users of every validation of the
// organization, each once; a contact is active when one of its
// validations is in force.
func (s *Server) verifiedContactsOf(o *store.Organization) []verifiedUserView {
	out := []verifiedUserView{}
	index := map[string]int{}
	for _, val := range o.Validations {
		st := "pending"
		if s.orgValidationStatus(val) == "active" {
			st = "active"
		}
		for _, c := range val.VerifiedContacts {
			cst := st
			if c.Unverified {
				cst = "pending" // submitted while in force, not granted yet
			}
			key := strings.ToLower(c.Email)
			if c.UserID != 0 {
				key = "user:" + strconv.FormatInt(c.UserID, 10)
			}
			if i, ok := index[key]; ok {
				if cst == "active" {
					out[i].Status = cst
				}
				continue
			}
			v := verifiedUserOf(c)
			v.Status = cst
			index[key] = len(out)
			out = append(out, v)
		}
	}
	return out
}

// createOrganization: POST /organization → 201 {"id"} (spec §6.1). An
// identical organization is answered with its id (the duplicate check).
func (s *Server) createOrganization(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in validation.OrgCreateInput
	if err := decode(r, &in); err != nil {
		return err
	}
	res, err := s.Validation.CreateOrganization(r.Context(), a, &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, idView{ID: res.ID})
	return nil
}

func (s *Server) readOrganization(r *http.Request, a account.Actor) (*store.Organization, error) {
	id, err := pathID(r, "id", "organization")
	if err != nil {
		return nil, err
	}
	o, err := s.Store.Organization(r.Context(), a.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("organization", "Organization %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read organization %d", id)
	}
	return o, nil
}

// organizationValidations: GET /organization/{id}/validation (spec §6.5).
func (s *Server) organizationValidations(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	o, err := s.readOrganization(r, a)
	if err != nil {
		return err
	}
	out := []orgValidationView{}
	for _, v := range o.Validations {
		out = append(out, s.orgValidationViewOf(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"validations": out})
	return nil
}

// submitOrganizationValidation: POST /organization/{id}/validation → 204
// (spec §6.4; the success status is [infer]).
func (s *Server) submitOrganizationValidation(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "organization")
	if err != nil {
		return err
	}
	var in validation.OrgValidationsInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Validation.SubmitOrgValidation(r.Context(), a, id, &in); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// grantInput is the optional body of the administrator grants.
type grantInput struct {
	ValidatedUntil string `json:"validated_until"` // yyyy-MM-dd or RFC 3339
	DCVMethod      string `json:"dcv_method"`
}

// readGrant reads an optional body: none, or a JSON object.
func readGrant(r *http.Request) (grantInput, error) {
	var in grantInput
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return in, errs.New(errs.TooLarge, "request_too_large", "The request body is larger than %d bytes.", MaxBodyBytes)
		}
		return in, errs.New(errs.Invalid, "bad_request_format", "The request body could not be read.")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return in, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	return in, decode(r, &in)
}

// grantOrganizationValidation: PUT /organization/{id}/validation/{type}
// → 204. certorder's own call (CertCentral has none): an administrator
// declares the organization validated. Body (optional):
// {"validated_until": "2027-01-31"}.
func (s *Server) grantOrganizationValidation(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "organization")
	if err != nil {
		return err
	}
	in, err := readGrant(r)
	if err != nil {
		return err
	}
	var until time.Time
	if v := strings.TrimSpace(in.ValidatedUntil); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t, err = time.Parse(dateLayout, v)
		}
		if err != nil {
			return errs.InvalidValue("validated_until", "validated_until must be a date (yyyy-MM-dd) or an RFC 3339 time.")
		}
		until = t.UTC()
	}
	if err := s.Validation.GrantOrgValidation(r.Context(), a, id, r.PathValue("type"), until); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// deleteOrganization: DELETE /organization/{id} → 204 (spec §6.6).
func (s *Server) deleteOrganization(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "organization")
	if err != nil {
		return err
	}
	if err := s.Validation.DeleteOrganization(r.Context(), a, id); err != nil {
		return err
	}
	noContent(w)
	return nil
}
