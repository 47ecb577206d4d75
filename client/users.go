package client

import (
	"context"
	"net/http"
	"net/url"
)

// Access role ids of users.
const (
	RoleAdministrator  = 1
	RoleLimitedUser    = 2
	RoleFinanceManager = 3
	RoleManager        = 4
	RoleStandardUser   = 5
)

// API key restrictions (restricted_to_role_id); 0 inherits the user's role.
const (
	KeyRoleInherit                    = 0
	KeyRoleOrders                     = 100
	KeyRoleOrdersDomainsOrganizations = 101
	KeyRoleViewOnly                   = 102
	KeyRoleUserManagement             = 103
)

// NewUser is the body of POST /user.
type NewUser struct {
	Username    string  `json:"username"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	Email       string  `json:"email"`
	JobTitle    string  `json:"job_title,omitempty"`
	Telephone   string  `json:"telephone,omitempty"`
	Container   *IDRef  `json:"container,omitempty"`
	AccessRoles []IDRef `json:"access_roles"`
}

// NewServiceUser is the body of POST /user for an API-only user.
type NewServiceUser struct {
	Email              string `json:"email"`
	APIName            string `json:"api_name"`
	RestrictedToRoleID int    `json:"restricted_to_role_id,omitempty"`
}

// UserList is a page of users.
type UserList struct {
	Users []User `json:"users"`
	Page  Page   `json:"page"`
}

// APIKey describes a key; the key itself is shown only at creation.
type APIKey struct {
	ID   int64 `json:"id"`
	User *struct {
		ID        int64  `json:"id"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
	} `json:"user,omitempty"`
	Status             string `json:"status"` // active, revoked
	CreateDate         string `json:"create_date"`
	Name               string `json:"name"`
	IsLegacy           bool   `json:"is_legacy"`
	RestrictedToRoleID int    `json:"restricted_to_role_id"`
}

// CreatedKey is the answer of a key creation: the key is in it this once.
type CreatedKey struct {
	ID     int64  `json:"id"`
	APIKey string `json:"api_key"`
}

// CreateUser adds a user and returns its id.
func (c *Client) CreateUser(ctx context.Context, u *NewUser) (int64, error) {
	var out IDRef
	if err := c.call(ctx, request{method: http.MethodPost, path: "/user", body: u}, &out); err != nil {
		return 0, err
	}
	return out.ID, nil
}

// CreateServiceUser adds an API-only user; the answer holds its first key.
func (c *Client) CreateServiceUser(ctx context.Context, u *NewServiceUser) (*CreatedKey, error) {
	body := struct {
		IsAPIOnly bool `json:"is_api_only"`
		*NewServiceUser
	}{true, u}
	var out CreatedKey
	if err := c.call(ctx, request{method: http.MethodPost, path: "/user", body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListUsers reads one page of users; containerID 0 means every container
// the key sees.
func (c *Client) ListUsers(ctx context.Context, containerID int64, opts *ListOptions) (*UserList, error) {
	q := opts.values()
	if containerID != 0 {
		q.Set("container_id", pathInt(containerID))
	}
	var out UserList
	if err := c.call(ctx, request{method: http.MethodGet, path: "/user", query: q}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetUser reads one user.
func (c *Client) GetUser(ctx context.Context, id int64) (*User, error) {
	var out User
	if err := c.call(ctx, request{method: http.MethodGet, path: "/user/" + pathInt(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteUser deletes a user and revokes its keys.
func (c *Client) DeleteUser(ctx context.Context, id int64) error {
	return c.call(ctx, request{method: http.MethodDelete, path: "/user/" + pathInt(id)}, nil)
}

// CreateKey makes an API key for a user; roleID restricts it (0 inherits).
func (c *Client) CreateKey(ctx context.Context, userID int64, name string, roleID int) (*CreatedKey, error) {
	body := map[string]any{"name": name, "restricted_to_role_id": roleID}
	var out CreatedKey
	if err := c.call(ctx, request{method: http.MethodPost, path: "/key/user/" + pathInt(userID), body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListKeys lists API keys; userID 0 lists every key the caller sees.
func (c *Client) ListKeys(ctx context.Context, userID int64) ([]APIKey, error) {
	q := url.Values{}
	if userID != 0 {
		q.Set("user_id", pathInt(userID))
	}
	var out struct {
		APIKeys []APIKey `json:"api_keys"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/key", query: q}, &out); err != nil {
		return nil, err
	}
	return out.APIKeys, nil
}

// GetKey reads one key's details (never the key itself).
func (c *Client) GetKey(ctx context.Context, id int64) (*APIKey, error) {
	var out APIKey
	if err := c.call(ctx, request{method: http.MethodGet, path: "/key/" + pathInt(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeKey revokes a key for good.
func (c *Client) RevokeKey(ctx context.Context, id int64) error {
	body := map[string]string{"status": "revoked"}
	return c.call(ctx, request{method: http.MethodPut, path: "/key/" + pathInt(id) + "/status", body: body}, nil)
}

// CreateContainer adds a child container under parentID and returns its id.
func (c *Client) CreateContainer(ctx context.Context, parentID int64, name, description string, templateID int) (int64, error) {
	body := map[string]any{"name": name, "description": description}
	if templateID != 0 {
		body["template_id"] = templateID
	}
	var out IDRef
	if err := c.call(ctx, request{method: http.MethodPost, path: "/container/" + pathInt(parentID) + "/children", body: body}, &out); err != nil {
		return 0, err
	}
	return out.ID, nil
}

// ListChildContainers reads a container's immediate children.
func (c *Client) ListChildContainers(ctx context.Context, id int64) ([]Container, error) {
	var out struct {
		Containers []Container `json:"containers"`
	}
	if err := c.call(ctx, request{method: http.MethodGet, path: "/container/" + pathInt(id) + "/children"}, &out); err != nil {
		return nil, err
	}
	return out.Containers, nil
}

// UserUpdate is the body of PUT /user/{id}; nil fields keep their value.
type UserUpdate struct {
	FirstName   *string `json:"first_name,omitempty"`
	LastName    *string `json:"last_name,omitempty"`
	Email       *string `json:"email,omitempty"`
	JobTitle    *string `json:"job_title,omitempty"`
	Telephone   *string `json:"telephone,omitempty"`
	Container   *IDRef  `json:"container,omitempty"`
	AccessRoles []IDRef `json:"access_roles,omitempty"`
}

// UpdateUser edits a user.
func (c *Client) UpdateUser(ctx context.Context, id int64, u *UserUpdate) error {
	return c.call(ctx, request{method: http.MethodPut, path: "/user/" + pathInt(id), body: u}, nil)
}
