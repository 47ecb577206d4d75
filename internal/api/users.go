package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqldb"
)

type accessRoleView struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

type userView struct {
	ID                      int64            `json:"id"`
	Username                string           `json:"username"`
	AccountID               int64            `json:"account_id"`
	FirstName               string           `json:"first_name"`
	LastName                string           `json:"last_name"`
	Email                   string           `json:"email"`
	JobTitle                string           `json:"job_title,omitempty"`
	Telephone               string           `json:"telephone,omitempty"`
	Status                  string           `json:"status"`
	DateCreated             string           `json:"date_created"`
	Container               *containerView   `json:"container,omitempty"`
	AccessRoles             []accessRoleView `json:"access_roles"`
	Type                    string           `json:"type"`
	HasContainerAssignments bool             `json:"has_container_assignments"`
	// Locale is certorder's own: the language of the user's mail, shown
	// when set.
	Locale string `json:"locale,omitempty"`
}

func (s *Server) userView(r *http.Request, vc *viewCache, u *store.User) userView {
	return userView{ID: u.ID, Username: u.Username, AccountID: u.AccountID, FirstName: u.FirstName, LastName: u.LastName,
		Email: u.Email, JobTitle: u.JobTitle, Telephone: u.Telephone, Status: u.Status, DateCreated: stamp(u.CreatedAt),
		Container:   containerViewOf(vc.container(r.Context(), u.ContainerID)),
		AccessRoles: []accessRoleView{{ID: u.AccessRole, Name: account.RoleNames[u.AccessRole]}}, Type: "standard", Locale: u.Locale}
}

// createUser: POST /user → 201 {"id"}; a service user (is_api_only) also
// gets "api_key", shown this once.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in account.UserInput
	if err := decode(r, &in); err != nil {
		return err
	}
	u, key, err := s.Accounts.CreateUser(r.Context(), a, &in)
	if err != nil {
		return err
	}
	ans := map[string]any{"id": u.ID}
	if key != "" {
		ans["api_key"] = key
	}
	writeJSON(w, http.StatusCreated, ans)
	return nil
}

// listUsers: GET /user[?container_id=N][&offset&limit&sort] → {"users", "page"}.
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	q := r.URL.Query()
	lp, err := listq.Parse(q, sqldb.UserSortKeys)
	if err != nil {
		return err
	}
	var f store.UserFilter
	v := q.Get("container_id")
	if v == "" {
		v = lp.Filters["container_id"]
	}
	if v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return errs.InvalidValue("container_id", "container_id must be a positive integer.")
		}
		f.ContainerID = n
	}
	users, total, err := s.Accounts.Users(r.Context(), a, f, lp.Page)
	if err != nil {
		return err
	}
	vc := s.newViewCache(a.Account.ID)
	out := make([]userView, 0, len(users))
	for i := range users {
		out = append(out, s.userView(r, vc, &users[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": out, "page": pageView{Total: total, Limit: lp.Page.Limit, Offset: lp.Page.Offset}})
	return nil
}

func (s *Server) visibleUser(r *http.Request, a account.Actor, raw string) (*store.User, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return nil, errs.NotFoundf("user", "User %q was not found.", raw)
	}
	u, err := s.Store.User(r.Context(), a.Account.ID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Status == store.UserDeleted {
		return nil, errs.NotFoundf("user", "User %d was not found.", id)
	}
	if err != nil {
		return nil, errs.Internalf(err, "read user %d", id)
	}
	if _, err := s.Store.Container(r.Context(), a.Account.ID, u.ContainerID); err != nil {
		return nil, errs.NotFoundf("user", "User %d was not found.", id) // outside the caller's containers
	}
	return u, nil
}

// userInfo: GET /user/{id}.
func (s *Server) userInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	u, err := s.visibleUser(r, a, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.userView(r, s.newViewCache(a.Account.ID), u))
	return nil
}

// deleteUser: DELETE /user/{id} → 204.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "user")
	if err != nil {
		return err
	}
	if err := s.Accounts.DeleteUser(r.Context(), a, id); err != nil {
		return err
	}
	noContent(w)
	return nil
}

type keyUserView struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type keyView struct {
	ID                 int64        `json:"id"`
	User               *keyUserView `json:"user,omitempty"`
	Status             string       `json:"status"`
	CreateDate         string       `json:"create_date"`
	Name               string       `json:"name"`
	IsLegacy           bool         `json:"is_legacy"`
	RestrictedToRoleID int          `json:"restricted_to_role_id"`
}

func keyViewOf(k *store.APIKey, u *store.User) keyView {
	v := keyView{ID: k.ID, Status: "active", CreateDate: stamp(k.CreatedAt), Name: k.Name, RestrictedToRoleID: k.RoleID}
	if k.RevokedAt != nil {
		v.Status = "revoked"
	}
	if u != nil {
		v.User = &keyUserView{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName}
	}
	return v
}

// createKey: POST /key/user/{user_id} {"name", "restricted_to_role_id"} →
// 201 {"id", "api_key"}; the key is shown this once.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	uid, err := pathID(r, "user_id", "user")
	if err != nil {
		return err
	}
	var in struct {
		Name               string   `json:"name"`
		RestrictedToRoleID flex.Int `json:"restricted_to_role_id"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	k, key, err := s.Accounts.CreateAPIKey(r.Context(), a, uid, in.Name, in.RestrictedToRoleID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": k.ID, "api_key": key})
	return nil
}

// listKeys: GET /key[?user_id=N] → {"api_keys": [...]}. Administrators see
// the keys of every user they see; other users their own.
func (s *Server) listKeys(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var uid int64
	if v := r.URL.Query().Get("user_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return errs.InvalidValue("user_id", "user_id must be a positive integer.")
		}
		uid = n
	}
	keys, err := s.Accounts.Keys(r.Context(), a, uid)
	if err != nil {
		return err
	}
	vc := s.newViewCache(a.Account.ID)
	out := make([]keyView, 0, len(keys))
	for i := range keys {
		out = append(out, keyViewOf(&keys[i], vc.user(r.Context(), keys[i].UserID)))
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": out})
	return nil
}

// keyInfo: GET /key/{id}; the key itself is never shown again.
func (s *Server) keyInfo(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "key")
	if err != nil {
		return err
	}
	k, err := s.Accounts.VisibleKey(r.Context(), s.Store, a, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, keyViewOf(k, s.newViewCache(a.Account.ID).user(r.Context(), k.UserID)))
	return nil
}

// setKeyStatus: PUT /key/{id}/status {"status": "revoked"} → 204.
func (s *Server) setKeyStatus(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "key")
	if err != nil {
		return err
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.SetAPIKeyStatus(r.Context(), a, id, in.Status); err != nil {
		return err
	}
	noContent(w)
	return nil
}

// createChildContainer: POST /container/{id}/children {"name",
// "description", "template_id"} → 201 {"id"}.
func (s *Server) createChildContainer(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	parent, err := pathID(r, "id", "container")
	if err != nil {
		return err
	}
	var in account.ContainerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.Accounts.CreateContainer(r.Context(), a, parent, "", &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID})
	return nil
}

// createContainer: POST /container {"name", "parent_id", ...} → 201 {"id"};
// our shorthand for the documented /container/{parent}/children. Without
// parent_id the child goes under the caller's container.
func (s *Server) createContainer(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	var in account.ContainerInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.ParentID.Bad || in.ParentID.Set && in.ParentID.V <= 0 {
		return errs.InvalidValue("parent_id", "parent_id must be the id of a container.")
	}
	parent := a.User.ContainerID
	if in.ParentID.Set {
		parent = in.ParentID.V
	}
	c, err := s.Accounts.CreateContainer(r.Context(), a, parent, "parent_id", &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": c.ID})
	return nil
}

// containerChildren: GET /container/{id}/children → the immediate children.
func (s *Server) containerChildren(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "container")
	if err != nil {
		return err
	}
	if _, err := s.Store.Container(r.Context(), a.Account.ID, id); errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf("container", "Container %d was not found.", id)
	} else if err != nil {
		return errs.Internalf(err, "read container %d", id)
	}
	cs, err := s.Store.Containers(r.Context(), a.Account.ID)
	if err != nil {
		return errs.Internalf(err, "list containers")
	}
	out := []*containerView{}
	for i := range cs {
		if cs[i].ParentID == id && cs[i].ID != id {
			out = append(out, containerViewOf(&cs[i]))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"containers": out})
	return nil
}

// editUser: PUT /user/{id} → 204.
func (s *Server) editUser(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	id, err := pathID(r, "id", "user")
	if err != nil {
		return err
	}
	var in account.EditUserInput
	if err := decode(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.EditUser(r.Context(), a, id, &in); err != nil {
		return err
	}
	noContent(w)
	return nil
}
