package account

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	outbox "github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
)

// UserInput is the body of POST /user. With is_api_only it creates a
// service user (email, api_name, restricted_to_role_id) and its first key.
type UserInput struct {
	Username           string         `json:"username"`
	FirstName          string         `json:"first_name"`
	LastName           string         `json:"last_name"`
	Email              string         `json:"email"`
	JobTitle           string         `json:"job_title"`
	Telephone          string         `json:"telephone"`
	Container          *flex.IDInput  `json:"container"`
	AccessRoles        []flex.IDInput `json:"access_roles"`
	IsAPIOnly          flex.Bool      `json:"is_api_only"`
	APIName            string         `json:"api_name"`
	RestrictedToRoleID flex.Int       `json:"restricted_to_role_id"`
	// Locale is the language of the mail the user receives (certorder's
	// own field: CertCentral's language_id numbers are not documented).
	Locale string `json:"locale"`
}

// beyondCaller refuses a user or key that could do more than the caller's
// own key and role allow.
func beyondCaller() error {
	return forbidden("This API key and access role cannot create, change, delete or revoke a user or key with more permissions than they have.")
}

func forbidden(format string, args ...any) error {
	return errs.New(errs.Forbidden, "access_denied|missing_permission", format, args...)
}

func validUsername(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@-_+.", r)
		if !ok {
			return false
		}
	}
	return true
}

func checkKeyRole(v flex.Int) (int, error) {
	if v.Bad {
		return 0, errs.InvalidValue("restricted_to_role_id", "restricted_to_role_id must be 0, 100, 101, 102 or 103.")
	}
	switch v.V {
	case KeyRoleInherit, KeyRoleOrders, KeyRoleOrdersDomsOrgs, KeyRoleViewOnly, KeyRoleUserManagement:
		return int(v.V), nil
	}
	return 0, errs.InvalidValue("restricted_to_role_id", "restricted_to_role_id must be 0, 100, 101, 102 or 103.")
}

// visibleUser reads a user the actor may see: another account's user, a
// deleted one, or one outside the actor's containers is not found.
func (s *Service) visibleUser(ctx context.Context, r store.Reader, actor Actor, id int64) (*store.User, error) {
	u, err := r.User(ctx, actor.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Status == store.UserDeleted {
		return nil, errs.NotFoundf("user", "User %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read user %d", id)
	}
	if sc, ok := ScopeFrom(ctx); ok && !sc.seesContainer(u.ContainerID) {
		return nil, errs.NotFoundf("user", "User %d was not found.", id)
	}
	return u, nil
}

// CreateUser adds a user (POST /user). Administrators create any role;
// managers create every role but administrator, in the containers they
// see. A service user (is_api_only) gets its first API key, returned once.
func (s *Service) CreateUser(ctx context.Context, actor Actor, in *UserInput) (*store.User, string, error) {
	u := &store.User{AccountID: actor.Account.ID, ContainerID: actor.User.ContainerID, Status: store.UserActive, CreatedAt: s.now(),
		Username: strings.TrimSpace(in.Username), FirstName: strings.TrimSpace(in.FirstName), LastName: strings.TrimSpace(in.LastName),
		Email: strings.TrimSpace(in.Email), JobTitle: strings.TrimSpace(in.JobTitle), Telephone: strings.TrimSpace(in.Telephone),
		Locale: strings.TrimSpace(in.Locale)}
	apiOnly := in.IsAPIOnly.V
	u.APIOnly = apiOnly
	var list errs.List
	keyRole := 0
	keyName := strings.TrimSpace(in.APIName)
	if apiOnly {
		if u.Username == "" {
			u.Username = u.Email
		}
		if u.FirstName == "" {
			u.FirstName = "Service"
		}
		if u.LastName == "" {
			u.LastName = "User"
		}
		// A service user holds its creator's permissions (spec: "links the
		// administrator's permissions to the key").
		u.AccessRole = actor.User.AccessRole
		if keyName == "" {
			list.Add(errs.MissingField("api_name"))
		} else if len(keyName) > 255 {
			list.Add(errs.InvalidValue("api_name", "api_name must be at most 255 characters."))
		}
		var err error
		if keyRole, err = checkKeyRole(in.RestrictedToRoleID); err != nil {
			list.Add(err)
		}
	}
	switch {
	case u.Username == "" && !apiOnly:
		list.Add(errs.MissingField("username"))
	case u.Username != "" && !validUsername(u.Username):
		list.Add(errs.InvalidValue("username", "username may hold only a-z, A-Z, 0-9, @, -, _, + and . (at most 128 characters)."))
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"first_name", u.FirstName, 128}, {"last_name", u.LastName, 128}} {
		if f.v == "" {
			list.Add(errs.MissingField(f.name))
		} else if len(f.v) > f.max {
			list.Add(errs.InvalidValue(f.name, "%s must be at most %d characters.", f.name, f.max))
		}
	}
	if u.Email == "" {
		list.Add(errs.MissingField("email"))
	} else if len(u.Email) > 255 || !ValidEmail(u.Email) {
		list.Add(errs.InvalidValue("email", "email must be one valid email address."))
	}
	if len(u.JobTitle) > 64 {
		list.Add(errs.InvalidValue("job_title", "job_title must be at most 64 characters."))
	}
	if u.Locale != "" && !outbox.Locales[u.Locale] {
		list.Add(badLocale(u.Locale))
	}
	if len(u.Telephone) > 64 {
		list.Add(errs.InvalidValue("telephone", "telephone must be at most 64 characters."))
	}
	if !apiOnly {
		switch {
		case len(in.AccessRoles) == 0:
			list.Add(errs.MissingField("access_roles"))
		case len(in.AccessRoles) > 1:
			list.Add(errs.InvalidValue("access_roles", "A user has exactly one access role."))
		case in.AccessRoles[0].ID.Bad || in.AccessRoles[0].ID.V < store.RoleAdministrator || in.AccessRoles[0].ID.V > store.RoleStandardUser:
			list.Add(errs.InvalidValue("access_roles", "access_roles[].id must be 1 (administrator), 2 (limited user), 3 (finance manager), 4 (manager) or 5 (standard user)."))
		default:
			u.AccessRole = int(in.AccessRoles[0].ID.V)
		}
	}
	if in.Container != nil && (in.Container.ID.Set || in.Container.ID.Bad) {
		if in.Container.ID.Bad {
			list.Add(errs.InvalidValue("container", "container.id must be an integer."))
		} else {
			c, err := s.Store.Container(ctx, actor.Account.ID, in.Container.ID.V)
			switch {
			case errors.Is(err, store.ErrNotFound):
				list.Add(errs.InvalidValue("container", "Container %d was not found in this account.", in.Container.ID.V))
			case err != nil:
				return nil, "", errs.Internalf(err, "read container")
			case !c.IsActive:
				list.Add(errs.InvalidValue("container", "Container %d is not active.", c.ID))
			default:
				u.ContainerID = c.ID
			}
		}
	}
	if err := list.Err(); err != nil {
		return nil, "", err
	}
	if apiOnly && actor.User.AccessRole != store.RoleAdministrator {
		return nil, "", forbidden("Only administrators can create service users.")
	}
	if u.AccessRole == store.RoleAdministrator && actor.User.AccessRole != store.RoleAdministrator {
		return nil, "", forbidden("Only administrators can create administrators.")
	}
	if !Covers(actor, As(actor.Account, u, keyRole)) {
		return nil, "", beyondCaller()
	}
	var key string
	if apiOnly {
		var err error
		if key, err = NewKey(s.rand()); err != nil {
			return nil, "", errs.Internalf(err, "generate api key")
		}
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.UserByUsername(ctx, u.Username); err == nil {
			field := "username"
			if apiOnly && strings.TrimSpace(in.Username) == "" {
				field = "email"
			}
			return errs.InvalidValue(field, "The username %q is already taken.", u.Username)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.CreateUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return errs.InvalidValue("username", "The username %q is already taken.", u.Username)
			}
			return err
		}
		detail := map[string]any{"username": u.Username, "access_role": u.AccessRole, "container_id": u.ContainerID}
		if apiOnly {
			k := &store.APIKey{AccountID: u.AccountID, UserID: u.ID, Name: keyName, Hash: HashKey(key), RoleID: keyRole, CreatedAt: u.CreatedAt}
			if err := tx.CreateAPIKey(ctx, k); err != nil {
				return err
			}
			detail["api_key_id"], detail["restricted_to_role_id"] = k.ID, keyRole
		}
		return s.audit(ctx, tx, actor, "user.created", fmt.Sprintf("user:%d", u.ID), detail)
	})
	if err != nil {
		return nil, "", apiErr(err, "create user")
	}
	return u, key, nil
}

// DeleteUser deletes a user (DELETE /user/{id}): the user is kept (orders
// and requests name it) with status deleted, and every key of it is
// revoked in the same transaction.
func (s *Service) DeleteUser(ctx context.Context, actor Actor, id int64) error {
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := s.visibleUser(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		if u.AccessRole == store.RoleAdministrator && actor.User.AccessRole != store.RoleAdministrator {
			return forbidden("Only administrators can delete administrators.")
		}
		if u.ID == actor.User.ID {
			return errs.InvalidValue("user_id", "You cannot delete your own user.")
		}
		// Deleting a user who may do more than the caller would let a
		// restricted key lock out the account's administrators.
		if !Covers(actor, As(actor.Account, u, KeyRoleInherit)) {
			return beyondCaller()
		}
		if u.AccessRole == store.RoleAdministrator && !u.APIOnly {
			n, err := activeAdmins(ctx, tx, actor.Account.ID)
			if err != nil {
				return err
			}
			if n <= 1 {
				return errs.InvalidValue("user_id", "User %d is the account's last administrator.", u.ID)
			}
		}
		if err := tx.SetUserStatus(ctx, actor.Account.ID, u.ID, store.UserDeleted); err != nil {
			return err
		}
		if err := tx.RevokeAPIKeys(ctx, actor.Account.ID, u.ID, 0, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "user.deleted", fmt.Sprintf("user:%d", u.ID), map[string]any{"username": u.Username})
	}), "delete user")
}

// CreateAPIKey makes a key for a user (POST /key/user/{user_id}) and
// returns it; only its hash is stored. Administrators make keys for anyone
// they see, other users only for themselves. A restricted key cannot make
// keys at all: it could otherwise mint itself an unrestricted one.
func (s *Service) CreateAPIKey(ctx context.Context, actor Actor, userID int64, name string, role flex.Int) (*store.APIKey, string, error) {
	name = strings.TrimSpace(name)
	var list errs.List
	if name == "" {
		list.Add(errs.MissingField("name"))
	} else if len(name) > 255 {
		list.Add(errs.InvalidValue("name", "name must be at most 255 characters."))
	}
	roleID, err := checkKeyRole(role)
	list.Add(err)
	if err := list.Err(); err != nil {
		return nil, "", err
	}
	if actor.Key != nil && actor.Key.RoleID != KeyRoleInherit {
		return nil, "", forbidden("A restricted API key cannot create API keys.")
	}
	key, err := NewKey(s.rand())
	if err != nil {
		return nil, "", errs.Internalf(err, "generate api key")
	}
	var k *store.APIKey
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := s.visibleUser(ctx, tx, actor, userID)
		if err != nil {
			return err
		}
		if actor.User.AccessRole != store.RoleAdministrator && u.ID != actor.User.ID {
			return forbidden("Only administrators can create API keys for other users.")
		}
		if !Covers(actor, As(actor.Account, u, roleID)) {
			return beyondCaller()
		}
		k = &store.APIKey{AccountID: actor.Account.ID, UserID: u.ID, Name: name, Hash: HashKey(key), RoleID: roleID, CreatedAt: s.now()}
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "api_key.created", fmt.Sprintf("api_key:%d", k.ID),
			map[string]any{"user_id": u.ID, "name": name, "restricted_to_role_id": roleID})
	})
	if err != nil {
		return nil, "", apiErr(err, "create api key")
	}
	return k, key, nil
}

// VisibleKey reads a key the actor may see: administrators see every key
// of users they see, other users only their own.
func (s *Service) VisibleKey(ctx context.Context, r store.Reader, actor Actor, id int64) (*store.APIKey, error) {
	k, err := r.APIKey(ctx, actor.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.NotFoundf("key", "API key %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read api key %d", id)
	}
	if actor.User.AccessRole != store.RoleAdministrator && k.UserID != actor.User.ID {
		return nil, errs.NotFoundf("key", "API key %d was not found.", id)
	}
	if _, err := s.visibleUser(ctx, r, actor, k.UserID); err != nil {
		var e *errs.Error
		if errors.As(err, &e) && e.Kind == errs.NotFound {
			// a deleted user's keys stay listed for administrators
			if actor.User.AccessRole == store.RoleAdministrator {
				return k, nil
			}
			return nil, errs.NotFoundf("key", "API key %d was not found.", id)
		}
		return nil, err
	}
	return k, nil
}

// SetAPIKeyStatus revokes a key (PUT /key/{id}/status {"status":"revoked"}).
// Setting the status a key has is a no-op; a revoked key is never made
// active again (a new key is created instead).
func (s *Service) SetAPIKeyStatus(ctx context.Context, actor Actor, id int64, status string) error {
	status = strings.TrimSpace(status)
	switch status {
	case "":
		return errs.MissingField("status")
	case "active", "revoked":
	default:
		return errs.InvalidValue("status", "status must be active or revoked.")
	}
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		k, err := s.VisibleKey(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		switch {
		case status == "active" && k.RevokedAt != nil:
			return errs.InvalidValue("status", "API key %d is revoked and cannot be activated again; create a new key.", id)
		case status == "active" || k.RevokedAt != nil:
			return nil
		}
		// Revoking a key that may do more than the caller's would let a
		// restricted key lock out the account's administrators.
		owner, err := tx.User(ctx, actor.Account.ID, k.UserID)
		if err != nil {
			return err
		}
		if !Covers(actor, As(actor.Account, owner, k.RoleID)) {
			return beyondCaller()
		}
		if err := tx.RevokeAPIKeys(ctx, actor.Account.ID, 0, k.ID, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "api_key.revoked", fmt.Sprintf("api_key:%d", k.ID), map[string]any{"user_id": k.UserID})
	}), "revoke api key")
}

// ContainerInput is the body of POST /container/{id}/children.
type ContainerInput struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	TemplateID  flex.Int `json:"template_id"`
	ParentID    flex.Int `json:"parent_id"` // POST /container only
}

// CreateContainer adds a child container (division) under parentID.
// Only administrators create containers (checked at the route).
func (s *Service) CreateContainer(ctx context.Context, actor Actor, parentID int64, parentField string, in *ContainerInput) (*store.Container, error) {
	c := &store.Container{AccountID: actor.Account.ID, ParentID: parentID, Name: strings.TrimSpace(in.Name),
		Description: strings.TrimSpace(in.Description), IsActive: true, CreatedAt: s.now()}
	var list errs.List
	if c.Name == "" {
		list.Add(errs.MissingField("name"))
	} else if len(c.Name) > 255 {
		list.Add(errs.InvalidValue("name", "name must be at most 255 characters."))
	}
	if len(c.Description) > 1024 {
		list.Add(errs.InvalidValue("description", "description must be at most 1024 characters."))
	}
	if in.TemplateID.Bad {
		list.Add(errs.InvalidValue("template_id", "template_id must be an integer."))
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		p, err := tx.Container(ctx, actor.Account.ID, parentID)
		if errors.Is(err, store.ErrNotFound) {
			if parentField != "" {
				return errs.InvalidValue(parentField, "Container %d was not found in this account.", parentID)
			}
			return errs.NotFoundf("container", "Container %d was not found.", parentID)
		}
		if err != nil {
			return err
		}
		if !p.IsActive {
			return errs.InvalidValue(orDefault(parentField, "container_id"), "Container %d is not active.", p.ID)
		}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "container.created", fmt.Sprintf("container:%d", c.ID), map[string]any{"parent_id": parentID, "name": c.Name})
	})
	if err != nil {
		return nil, apiErr(err, "create container")
	}
	return c, nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// EditUserInput is the body of PUT /user/{id}: fields left out keep their
// value; the username never changes.
type EditUserInput struct {
	FirstName   *string        `json:"first_name"`
	LastName    *string        `json:"last_name"`
	Email       *string        `json:"email"`
	JobTitle    *string        `json:"job_title"`
	Telephone   *string        `json:"telephone"`
	Container   *flex.IDInput  `json:"container"`
	AccessRoles []flex.IDInput `json:"access_roles"`
	Locale      *string        `json:"locale"`
}

func badLocale(l string) error {
	return errs.InvalidValue("locale", "%q is not a supported locale.", l)
}

// EditUser changes a user (PUT /user/{id}) with the rules of CreateUser:
// only administrators touch administrators or make them, a container must
// be one the caller sees, and the account keeps an administrator.
func (s *Service) EditUser(ctx context.Context, actor Actor, id int64, in *EditUserInput) error {
	return apiErr(s.Store.InTx(ctx, func(tx store.Tx) error {
		u, err := s.visibleUser(ctx, tx, actor, id)
		if err != nil {
			return err
		}
		oldRole := u.AccessRole
		var list errs.List
		text := func(field string, v *string, dst *string, max int, required bool) {
			if v == nil {
				return
			}
			t := strings.TrimSpace(*v)
			switch {
			case t == "" && required:
				list.Add(errs.MissingField(field))
			case len(t) > max:
				list.Add(errs.InvalidValue(field, "%s must be at most %d characters.", field, max))
			default:
				*dst = t
			}
		}
		text("first_name", in.FirstName, &u.FirstName, 128, true)
		text("last_name", in.LastName, &u.LastName, 128, true)
		text("email", in.Email, &u.Email, 255, true)
		text("job_title", in.JobTitle, &u.JobTitle, 64, false)
		text("telephone", in.Telephone, &u.Telephone, 64, false)
		if in.Locale != nil {
			if l := strings.TrimSpace(*in.Locale); l == "" || outbox.Locales[l] {
				u.Locale = l
			} else {
				list.Add(badLocale(l))
			}
		}
		if in.Email != nil && u.Email != "" && !ValidEmail(u.Email) {
			list.Add(errs.InvalidValue("email", "email must be one valid email address."))
		}
		if in.AccessRoles != nil {
			switch {
			case len(in.AccessRoles) != 1:
				list.Add(errs.InvalidValue("access_roles", "A user has exactly one access role."))
			case in.AccessRoles[0].ID.Bad || in.AccessRoles[0].ID.V < store.RoleAdministrator || in.AccessRoles[0].ID.V > store.RoleStandardUser:
				list.Add(errs.InvalidValue("access_roles", "access_roles[].id must be 1 (administrator), 2 (limited user), 3 (finance manager), 4 (manager) or 5 (standard user)."))
			default:
				u.AccessRole = int(in.AccessRoles[0].ID.V)
			}
		}
		if in.Container != nil && (in.Container.ID.Set || in.Container.ID.Bad) {
			c, err := tx.Container(ctx, actor.Account.ID, in.Container.ID.V)
			switch {
			case in.Container.ID.Bad || errors.Is(err, store.ErrNotFound):
				list.Add(errs.InvalidValue("container", "container.id must be a container of this account."))
			case err != nil:
				return err
			case !c.IsActive:
				list.Add(errs.InvalidValue("container", "Container %d is not active.", c.ID))
			default:
				u.ContainerID = c.ID
			}
		}
		if err := list.Err(); err != nil {
			return err
		}
		if actor.User.AccessRole != store.RoleAdministrator && (oldRole == store.RoleAdministrator || u.AccessRole == store.RoleAdministrator) {
			return forbidden("Only administrators can edit or make administrators.")
		}
		// Editing a user who may do more than the caller (their email is how
		// they are reached) is as much an escalation as promoting one.
		before := *u
		before.AccessRole = oldRole
		if !Covers(actor, As(actor.Account, &before, KeyRoleInherit)) || !Covers(actor, As(actor.Account, u, KeyRoleInherit)) {
			return beyondCaller()
		}
		if oldRole == store.RoleAdministrator && u.AccessRole != store.RoleAdministrator && !u.APIOnly {
			n, err := activeAdmins(ctx, tx, actor.Account.ID)
			if err != nil {
				return err
			}
			if n <= 1 {
				return errs.InvalidValue("access_roles", "User %d is the account's last administrator.", u.ID)
			}
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return s.audit(ctx, tx, actor, "user.updated", fmt.Sprintf("user:%d", u.ID),
			map[string]any{"access_role": u.AccessRole, "container_id": u.ContainerID})
	}), "edit user")
}

// activeAdmins counts the account's active administrators who are people:
// the last one may be neither deleted nor demoted, or nobody could manage
// the account (a service user's key may be restricted or revoked).
func activeAdmins(ctx context.Context, tx store.Tx, accountID int64) (int, error) {
	users, _, err := tx.Users(ctx, accountID, store.UserFilter{}, store.Page{})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if u.AccessRole == store.RoleAdministrator && u.Status == store.UserActive && !u.APIOnly {
			n++
		}
	}
	return n, nil
}

// ValidEmail is one plain address (no display name) with a dotted domain.
func ValidEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	return at > 0 && strings.Contains(s[at+1:], ".")
}

// Users lists the users the actor sees: the account's, in the actor's
// containers unless they are an administrator (GET /user, the console's
// user list).
func (s *Service) Users(ctx context.Context, actor Actor, f store.UserFilter, page store.Page) ([]store.User, int, error) {
	if sc, ok := ScopeFrom(ctx); ok {
		f.ScopeContainerIDs = sc.Containers
	}
	users, total, err := s.Store.Users(ctx, actor.Account.ID, f, page)
	if err != nil {
		return nil, 0, errs.Internalf(err, "list users")
	}
	return users, total, nil
}

// Keys lists the API keys the actor sees (GET /key): administrators every
// key of the users they see (userID, when set, narrows to one user),
// everyone else their own.
func (s *Service) Keys(ctx context.Context, actor Actor, userID int64) ([]store.APIKey, error) {
	if actor.User.AccessRole != store.RoleAdministrator {
		if userID != 0 && userID != actor.User.ID {
			return []store.APIKey{}, nil
		}
		userID = actor.User.ID
	}
	keys, err := s.Store.APIKeys(ctx, actor.Account.ID, userID)
	if err != nil {
		return nil, errs.Internalf(err, "list api keys")
	}
	out := []store.APIKey{}
	for i := range keys {
		k, err := s.VisibleKey(ctx, s.Store, actor, keys[i].ID)
		if err != nil {
			continue // a key of a user outside the caller's containers
		}
		out = append(out, *k)
	}
	return out, nil
}

// User reads a user the actor may see (GET /user/{id}, the console's user
// page): another account's, a deleted one or one outside the actor's
// containers is not found.
func (s *Service) User(ctx context.Context, actor Actor, id int64) (*store.User, error) {
	return s.visibleUser(ctx, s.Store, actor, id)
}
