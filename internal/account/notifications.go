package account

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// Who receives an order's lifecycle mail. CertCentral documents it as an
// account's "certificate lifecycle recipient settings" (Settings >
// Notifications; PUT /account/settings): for each kind of mail, which of
// four groups of people receive it. The order's additional_emails and the
// addresses of the account's "send all account notifications to" list
// (admin_email, PUT /account) receive every lifecycle mail whatever the
// settings.

// Recipient groups, as PUT /account/settings names them.
const (
	GroupOrderUsers  = "order-users"  // the user who placed the order
	GroupOrgContact  = "org-contact"  // the order's organization contact
	GroupTechContact = "tech-contact" // the order's technical contact
	GroupAdmin       = "admin"        // the administrators and managers who may approve the order's requests
)

// Groups lists the recipient groups.
var Groups = []string{GroupOrderUsers, GroupOrgContact, GroupTechContact, GroupAdmin}

// The recipient settings, one per kind of lifecycle mail.
const (
	// SettingConfirmation: "order confirmation", a request waiting for
	// approval.
	SettingConfirmation = "confirmation_email_recipients"
	// SettingRejection: a request rejected.
	SettingRejection = "rejection_email_recipients"
	// SettingApproval: a request approved, and what follows it (the
	// certificate issued, reissued, duplicated or revoked).
	SettingApproval = "approval_email_recipients"
	// SettingRenewal: renewal (expiring) and expired certificate notices,
	// and automatic renewals.
	SettingRenewal = "renewal_email_recipients"
)

// DefaultRecipients are CertCentral's documented defaults: order
// confirmation to administrator and manager roles, rejection to the user
// placing the order, approval and renewal to that user and the technical
// contact.
var DefaultRecipients = map[string][]string{
	SettingConfirmation: {GroupAdmin},
	SettingRejection:    {GroupOrderUsers},
	SettingApproval:     {GroupOrderUsers, GroupTechContact},
	SettingRenewal:      {GroupOrderUsers, GroupTechContact},
}

// keptSettings are the other settings CertCentral documents for PUT
// /account/settings; certorder sends no such mail, so it keeps their
// values as sent and acts on none.
var keptSettings = map[string]bool{
	"email_preference": true, "account_fund_expiry_notices": true, "account_fund_adjustment_notices": true,
	"no_top_level_container_in_email": true,
}

// settingNames lists the recipient settings in the documentation's order.
var settingNames = []string{SettingConfirmation, SettingRejection, SettingApproval, SettingRenewal}

// RecipientGroups are the groups that receive the mail of setting for
// the account: its own choice, or the default.
func RecipientGroups(acct *store.Account, setting string) []string {
	if g, ok := acct.Notifications.Recipients[setting]; ok {
		return g
	}
	return DefaultRecipients[setting]
}

// maxAccountEmails bounds each address list of PUT /account: every
// address receives a copy of every lifecycle mail of the account.
const maxAccountEmails = 20

// SettingInput is one entry of PUT /account/settings.
type SettingInput struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// SettingsInput is the body of PUT /account/settings.
type SettingsInput struct {
	AccountSettings []SettingInput `json:"account_settings"`
}

// Setting is one entry of GET /account/settings, in the form PUT takes:
// a recipient setting's value is a JSON array in a string, as in
// CertCentral's example.
type Setting struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Settings lists the account's settings as GET /account/settings shows
// them: the four recipient settings (defaults included), then the kept
// ones that were set.
func Settings(acct *store.Account) []Setting {
	out := []Setting{}
	for _, name := range settingNames {
		b, _ := json.Marshal(RecipientGroups(acct, name))
		out = append(out, Setting{Name: name, Value: string(b)})
	}
	for _, name := range sortedNames(acct.Notifications.Other) {
		v := acct.Notifications.Other[name]
		var n json.Number
		if err := json.Unmarshal([]byte(v), &n); err == nil {
			out = append(out, Setting{Name: name, Value: n})
			continue
		}
		var s string
		if err := json.Unmarshal([]byte(v), &s); err == nil {
			out = append(out, Setting{Name: name, Value: s})
			continue
		}
		out = append(out, Setting{Name: name, Value: json.RawMessage(v)})
	}
	return out
}

func sortedNames(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parseGroups reads a recipient setting's value: CertCentral's example
// sends a JSON array inside a string ("[\"order-users\",\"admin\"]"), its
// table a comma-separated string ("order-users, admin"); a plain JSON
// array is taken too. An empty string or array is no group.
func parseGroups(raw json.RawMessage) ([]string, bool) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false
		}
		s = strings.TrimSpace(s)
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &list); err != nil {
				return nil, false
			}
		} else if s != "" {
			list = strings.Split(s, ",")
		}
	}
	out := []string{}
	for _, g := range list {
		g = strings.ToLower(strings.Trim(strings.TrimSpace(g), `"`))
		if !slices.Contains(Groups, g) {
			return nil, false
		}
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, true
}

// UpdateSettings applies PUT /account/settings: each named setting is
// replaced, the others keep their values. A recipient setting takes the
// groups order-users, org-contact, tech-contact and admin (none: only the
// order's additional emails and the account's copies receive that mail);
// the other documented settings are kept as sent. An unknown name, or a
// value that is not what its setting takes, refuses the whole call.
func (s *Service) UpdateSettings(ctx context.Context, actor Actor, in *SettingsInput) error {
	if in == nil || len(in.AccountSettings) == 0 {
		return errs.MissingField("account_settings")
	}
	var list errs.List
	recipients := map[string][]string{}
	other := map[string]string{}
	for i, st := range in.AccountSettings {
		name := strings.TrimSpace(st.Name)
		raw := bytes.TrimSpace(st.Value)
		switch {
		case name == "":
			list.Add(errs.MissingField("account_settings.name"))
		case len(raw) == 0 || string(raw) == "null":
			list.Add(errs.MissingField("account_settings.value"))
		case slices.Contains(settingNames, name):
			g, ok := parseGroups(raw)
			if !ok {
				list.Add(errs.InvalidValue("account_settings", "account_settings[%d] (%s): the value is a list of %s.", i, name, strings.Join(Groups, ", ")))
				continue
			}
			recipients[name] = g
		case keptSettings[name]:
			if len(raw) > 1000 {
				list.Add(errs.InvalidValue("account_settings", "account_settings[%d] (%s): the value is too long.", i, name))
				continue
			}
			other[name] = string(raw)
		default:
			list.Add(errs.InvalidValue("account_settings", "account_settings[%d]: unknown setting %q (one of %s).", i, name,
				strings.Join(append(slices.Clone(settingNames), sortedNames(boolKeys(keptSettings))...), ", ")))
		}
	}
	if err := list.Err(); err != nil {
		return err
	}
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		acct, err := tx.Account(ctx, actor.Account.ID)
		if err != nil {
			return err
		}
		n := acct.Notifications
		n.Recipients = mergeInto(n.Recipients, recipients)
		n.Other = mergeInto(n.Other, other)
		if err := tx.SetAccountNotifications(ctx, acct.ID, n); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "account.settings_updated", fmt.Sprintf("account:%d", acct.ID),
			map[string]any{"recipients": recipients, "other": other})
	}), "update account settings")
}

func boolKeys(m map[string]bool) map[string]string {
	out := map[string]string{}
	for k := range m {
		out[k] = ""
	}
	return out
}

func mergeInto[V any](dst, src map[string]V) map[string]V {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = map[string]V{}
	}
	for k, v := range src {
		dst[k] = v
	}
	return dst
}

// AccountEmailsInput is the body of PUT /account: comma-separated
// addresses (a JSON array is taken too). A field left out keeps its list;
// an empty one clears it.
type AccountEmailsInput struct {
	AdminEmail      json.RawMessage `json:"admin_email"`
	EmergencyEmails json.RawMessage `json:"emergency_emails"`
}

// parseEmails reads one address list of PUT /account.
func parseEmails(field string, raw json.RawMessage) ([]string, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, errs.InvalidValue(field, "%s is a comma-separated list of email addresses.", field)
		}
		list = strings.Split(s, ",")
	}
	out := []string{}
	for _, e := range list {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if len(e) > 255 || !ValidEmail(e) {
			return nil, errs.InvalidValue(field, "%q is not one valid email address.", e)
		}
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, e) }) {
			out = append(out, e)
		}
	}
	if len(out) > maxAccountEmails {
		return nil, errs.InvalidValue(field, "%s takes at most %d addresses.", field, maxAccountEmails)
	}
	return out, nil
}

// UpdateAccountEmails applies PUT /account: the addresses copied on every
// lifecycle mail of the account (admin_email) and its emergency contacts
// (kept; certorder sends no emergency mail).
func (s *Service) UpdateAccountEmails(ctx context.Context, actor Actor, in *AccountEmailsInput) error {
	present := func(r json.RawMessage) bool {
		return len(bytes.TrimSpace(r)) > 0 && string(bytes.TrimSpace(r)) != "null"
	}
	if in == nil || !present(in.AdminEmail) && !present(in.EmergencyEmails) {
		return errs.MissingField("admin_email")
	}
	var admin, emergency []string
	var list errs.List
	var err error
	if present(in.AdminEmail) {
		if admin, err = parseEmails("admin_email", in.AdminEmail); err != nil {
			list.Add(err)
		}
	}
	if present(in.EmergencyEmails) {
		if emergency, err = parseEmails("emergency_emails", in.EmergencyEmails); err != nil {
			list.Add(err)
		}
	}
	if err := list.Err(); err != nil {
		return err
	}
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		acct, err := tx.Account(ctx, actor.Account.ID)
		if err != nil {
			return err
		}
		n := acct.Notifications
		if admin != nil {
			n.AdminEmails = admin
		}
		if emergency != nil {
			n.EmergencyEmails = emergency
		}
		if err := tx.SetAccountNotifications(ctx, acct.ID, n); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "account.emails_updated", fmt.Sprintf("account:%d", acct.ID),
			map[string]any{"admin_email": n.AdminEmails, "emergency_emails": n.EmergencyEmails})
	}), "update account emails")
}

// Approvers are the people who may approve the requests of an order in
// container: active users whose access role approves (CanApprove) and who
// see the container (administrators see every container, managers their
// own and those below it). Service users are left out: they exist for
// their API key and read no mail.
func Approvers(ctx context.Context, r store.Reader, acct *store.Account, container int64) ([]store.User, error) {
	ctx = withoutScope(ctx)
	users, _, err := r.Users(ctx, acct.ID, store.UserFilter{}, store.Page{})
	if err != nil {
		return nil, err
	}
	var all []store.Container
	var out []store.User
	for _, u := range users {
		if u.Status != store.UserActive || u.APIOnly || !CanApprove(As(acct, &u, KeyRoleInherit)) {
			continue
		}
		if u.AccessRole != store.RoleAdministrator {
			if all == nil {
				if all, err = r.Containers(ctx, acct.ID); err != nil {
					return nil, err
				}
			}
			if !slices.Contains(Subtree(all, u.ContainerID), container) {
				continue
			}
		}
		out = append(out, u)
	}
	return out, nil
}
