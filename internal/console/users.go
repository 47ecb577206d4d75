package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
)

type userRow struct {
	ID             int64
	Username, Name string
	Email          string
	Role           string
	Container      string
	ContainerID    int64
	RoleID         int
	APIOnly        bool
	Password, TOTP bool
}

func (s *Server) containerNames(ctx context.Context, acct int64) map[int64]string {
	out := map[int64]string{}
	cs, err := s.Store.Containers(ctx, acct)
	if err == nil {
		for _, c := range cs {
			out[c.ID] = c.Name
		}
	}
	return out
}

func (s *Server) userRow(ctx context.Context, u *store.User, names map[int64]string) userRow {
	row := userRow{ID: u.ID, Username: u.Username, Name: u.FirstName + " " + u.LastName, Email: u.Email, Role: account.RoleNames[u.AccessRole],
		RoleID: u.AccessRole, Container: names[u.ContainerID], ContainerID: u.ContainerID, APIOnly: u.APIOnly}
	if c, err := s.Store.Credential(ctx, u.AccountID, u.ID); err == nil {
		row.Password, row.TOTP = c.PasswordHash != "", c.TOTPEnabled
	}
	return row
}

type usersData struct {
	Rows      []userRow
	Page      pager
	CanCreate bool
}

// users lists the users the caller sees, as GET /user does.
func (s *Server) users(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := listQuery(r.URL.Query())
	lp, err := listq.Parse(q, sqldb.UserSortKeys)
	if err != nil {
		return s.formFailure(w, r, v, "users", err, &usersData{}, nil)
	}
	users, total, err := s.Accounts.Users(r.Context(), v.Actor, store.UserFilter{}, lp.Page)
	if err != nil {
		return err
	}
	names := s.containerNames(r.Context(), v.Actor.Account.ID)
	d := &usersData{Page: pageOf(q, lp.Page, total, len(users)), CanCreate: allowed(v, account.AreaUsers, false)}
	for i := range users {
		d.Rows = append(d.Rows, s.userRow(r.Context(), &users[i], names))
	}
	s.render(w, r, v, http.StatusOK, "users", d)
	return nil
}

type userForm struct {
	User       *userRow
	Roles      []option
	Containers []option
	CanEdit    bool
	// CanLink: the viewer may mail the user a password link (NoMail: this
	// server mails none).
	CanLink bool
	NoMail  bool
	IsAdmin bool
	Self    bool
}

func (s *Server) userForm(ctx context.Context, v *visit) *userForm {
	f := &userForm{CanEdit: allowed(v, account.AreaUsers, false), IsAdmin: isAdmin(v), NoMail: s.Mail == nil}
	for _, id := range []int{store.RoleStandardUser, store.RoleLimitedUser, store.RoleManager, store.RoleFinanceManager, store.RoleAdministrator} {
		if id == store.RoleAdministrator && !isAdmin(v) {
			continue // only administrators make administrators
		}
		f.Roles = append(f.Roles, option{strconv.Itoa(id), account.RoleNames[id]})
	}
	if cs, err := s.Store.Containers(ctx, v.Actor.Account.ID); err == nil {
		for _, c := range cs {
			if c.IsActive {
				f.Containers = append(f.Containers, option{strconv.FormatInt(c.ID, 10), c.Name})
			}
		}
	}
	return f
}

func (s *Server) newUserPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	s.render(w, r, v, http.StatusOK, "newuser", s.userForm(r.Context(), v))
	return nil
}

// newUser creates a user through the rule of POST /user.
func (s *Server) newUser(w http.ResponseWriter, r *http.Request, v *visit) error {
	in := &account.UserInput{Username: r.PostFormValue("username"), FirstName: r.PostFormValue("first_name"), LastName: r.PostFormValue("last_name"),
		Email: r.PostFormValue("email"), JobTitle: r.PostFormValue("job_title"), Telephone: r.PostFormValue("telephone"),
		AccessRoles: []flex.IDInput{{ID: flex.NewInt(formInt(r, "role"))}}}
	if c := formInt(r, "container"); c > 0 {
		in.Container = &flex.IDInput{ID: flex.NewInt(c)}
	}
	u, _, err := s.Accounts.CreateUser(r.Context(), v.Actor, in)
	if err != nil {
		return s.formFailure(w, r, v, "newuser", err, s.userForm(r.Context(), v), map[string]string{"access_roles": "role"})
	}
	return redirect(w, r, "/console/users/"+strconv.FormatInt(u.ID, 10), "created")
}

func (s *Server) userData(r *http.Request, v *visit) (*userForm, *store.User, error) {
	id, err := pathID(r, "id", "user")
	if err != nil {
		return nil, nil, err
	}
	u, err := s.Accounts.User(r.Context(), v.Actor, id)
	if err != nil {
		return nil, nil, err
	}
	f := s.userForm(r.Context(), v)
	row := s.userRow(r.Context(), u, s.containerNames(r.Context(), v.Actor.Account.ID))
	f.User, f.Self = &row, u.ID == v.Actor.User.ID
	f.CanLink = s.Mail != nil && account.MaySetPassword(v.Actor, u) == nil
	return f, u, nil
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, _, err := s.userData(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "user", f)
	return nil
}

// editUser changes a user's role and container through PUT /user/{id}'s
// rule.
func (s *Server) editUser(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, u, err := s.userData(r, v)
	if err != nil {
		return err
	}
	in := &account.EditUserInput{AccessRoles: []flex.IDInput{{ID: flex.NewInt(formInt(r, "role"))}}}
	if c := formInt(r, "container"); c > 0 {
		in.Container = &flex.IDInput{ID: flex.NewInt(c)}
	}
	if err := s.Accounts.EditUser(r.Context(), v.Actor, u.ID, in); err != nil {
		return s.formFailure(w, r, v, "user", err, f, map[string]string{"access_roles": "role"})
	}
	return redirect(w, r, "/console/users/"+strconv.FormatInt(u.ID, 10), "saved")
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, u, err := s.userData(r, v)
	if err != nil {
		return err
	}
	if err := s.Accounts.DeleteUser(r.Context(), v.Actor, u.ID); err != nil {
		return s.formFailure(w, r, v, "user", err, f, nil)
	}
	return redirect(w, r, "/console/users", "deleted")
}

// sendPasswordLink mails a user a link to set their password. The outbox
// row and the audit event are written in one transaction; the link itself
// is made when the message is sent (RenderPasswordMail), so the outbox
// never holds it.
func (s *Server) sendPasswordLink(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, u, err := s.userData(r, v)
	if err != nil {
		return err
	}
	switch {
	case s.Mail == nil:
		return s.formFailure(w, r, v, "user", errs.New(errs.Invalid, "no_mail",
			"This server sends no mail (no --smtp relay, or the sandbox). Set the password with `certorder user passwd` instead."), f, nil)
	case u.APIOnly:
		return s.formFailure(w, r, v, "user", errs.InvalidValue("user_id", "A service user signs in with its API key only."), f, nil)
	}
	// The link sets the password of whoever reads the address, which a
	// manager may change: only those who may set the password mail one.
	if err := account.MaySetPassword(v.Actor, u); err != nil {
		return err
	}
	payload, _ := json.Marshal(passwordPayload{UserID: u.ID})
	now := s.Now()
	err = s.Store.InTx(r.Context(), func(tx store.Tx) error {
		m := &store.OutboxMail{AccountID: u.AccountID, Kind: MailKindPassword, Recipient: u.Email, Payload: string(payload), CreatedAt: now}
		if err := mail.Enqueue(r.Context(), tx, m); err != nil {
			return err
		}
		return account.Audit(r.Context(), tx, s.Log, now, v.Actor, "user.password_link_sent", fmt.Sprintf("user:%d", u.ID), map[string]any{"email": u.Email})
	})
	if err != nil {
		return errs.Internalf(err, "queue password link")
	}
	s.Mail.Kick()
	return redirect(w, r, "/console/users/"+strconv.FormatInt(u.ID, 10), "linked")
}

func (s *Server) userTOTPOff(w http.ResponseWriter, r *http.Request, v *visit) error {
	f, u, err := s.userData(r, v)
	if err != nil {
		return err
	}
	if err := s.Accounts.TurnOffTOTP(r.Context(), v.Actor, u.ID); err != nil {
		return s.formFailure(w, r, v, "user", err, f, nil)
	}
	return redirect(w, r, "/console/users/"+strconv.FormatInt(u.ID, 10), "totp-off")
}

// ---- API keys

type keyRow struct {
	ID               int64
	Name, User, Role string
	Created, Revoked string
	Active           bool
}

type keysData struct {
	Rows     []keyRow
	Users    []option
	Roles    []option
	NewKey   string
	CanAdmin bool
}

func (s *Server) keysData(ctx context.Context, v *visit) (*keysData, error) {
	keys, err := s.Accounts.Keys(ctx, v.Actor, 0)
	if err != nil {
		return nil, err
	}
	d := &keysData{CanAdmin: isAdmin(v)}
	for _, k := range keys {
		row := keyRow{ID: k.ID, Name: k.Name, User: s.userName(ctx, k.AccountID, k.UserID), Created: day(k.CreatedAt), Active: k.RevokedAt == nil}
		for name, id := range account.KeyRoleNames {
			if id == k.RoleID {
				row.Role = strings.ReplaceAll(name, "_", " ")
			}
		}
		if k.RevokedAt != nil {
			row.Revoked = day(*k.RevokedAt)
		}
		d.Rows = append(d.Rows, row)
	}
	if d.CanAdmin {
		users, _, err := s.Accounts.Users(ctx, v.Actor, store.UserFilter{}, store.Page{Limit: 500})
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			d.Users = append(d.Users, option{strconv.FormatInt(u.ID, 10), u.Username})
		}
	}
	for _, id := range account.KeyRoles {
		for name, kid := range account.KeyRoleNames {
			if kid == id {
				d.Roles = append(d.Roles, option{strconv.Itoa(id), strings.ReplaceAll(name, "_", " ")})
			}
		}
	}
	return d, nil
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.keysData(r.Context(), v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "keys", d)
	return nil
}

// createKey makes a key through POST /key/user/{user_id}'s rule and shows
// it once, on the answer to the form: it is never stored or shown again.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, v *visit) error {
	user := formInt(r, "user")
	if user == 0 {
		user = v.Actor.User.ID
	}
	_, key, err := s.Accounts.CreateAPIKey(r.Context(), v.Actor, user, r.PostFormValue("name"), flex.NewInt(formInt(r, "role")))
	d, derr := s.keysData(r.Context(), v)
	if derr != nil {
		return derr
	}
	if err != nil {
		return s.formFailure(w, r, v, "keys", err, d, map[string]string{"restricted_to_role_id": "role", "user_id": "user"})
	}
	d.NewKey = key
	s.render(w, r, v, http.StatusCreated, "keys", &view{D: d, Notice: "The key was created. Copy it now: it is not shown again."})
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request, v *visit) error {
	id, err := pathID(r, "id", "key")
	if err != nil {
		return err
	}
	if err := s.Accounts.SetAPIKeyStatus(r.Context(), v.Actor, id, "revoked"); err != nil {
		d, derr := s.keysData(r.Context(), v)
		if derr != nil {
			return derr
		}
		return s.formFailure(w, r, v, "keys", err, d, nil)
	}
	return redirect(w, r, "/console/keys", "keyrevoked")
}
