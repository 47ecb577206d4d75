package api

import (
	"net/http"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
)

// accountDetails: GET /account → the documented fields certorder keeps:
// the account's id and the addresses copied on all its mail (admin_email,
// comma-separated as PUT /account takes them).
func (s *Server) accountDetails(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	acct, err := s.Store.Account(r.Context(), a.Account.ID)
	if err != nil {
		return errs.Internalf(err, "read account %d", a.Account.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": acct.ID, "admin_email": strings.Join(acct.Notifications.AdminEmails, ", ")})
	return nil
}

// updateAccountEmails: PUT /account {admin_email, emergency_emails} → 204.
func (s *Server) updateAccountEmails(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in account.AccountEmailsInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.UpdateAccountEmails(r.Context(), a, &in); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// accountSettings: GET /account/settings → {"account_settings":[{name,
// value}]}, the body PUT takes (certorder's own read: CertCentral
// documents only the PUT).
func (s *Server) accountSettings(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	acct, err := s.Store.Account(r.Context(), a.Account.ID)
	if err != nil {
		return errs.Internalf(err, "read account %d", a.Account.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"account_settings": account.Settings(acct)})
	return nil
}

// updateAccountSettings: PUT /account/settings {account_settings:[{name,
// value}]} → 204.
func (s *Server) updateAccountSettings(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in account.SettingsInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.UpdateSettings(r.Context(), a, &in); err != nil {
		return err
	}
	noContent(w)
	return nil
}
