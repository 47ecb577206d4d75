package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// scopeWhere adds the visibility conditions of a non-administrator caller:
// the row's container must be one of containerIDs (when not nil; an empty
// set matches nothing) and, when userID is set, the row must be that
// user's. prefix qualifies the columns ("o." in joins).
func scopeWhere(where *[]string, args *[]any, prefix string, containerIDs []int64, userID int64) {
	if containerIDs != nil {
		if len(containerIDs) == 0 {
			*where = append(*where, "0")
		} else {
			*where = append(*where, prefix+"container_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(containerIDs)), ",")+")")
			for _, id := range containerIDs {
				*args = append(*args, id)
			}
		}
	}
	if userID != 0 {
		*where = append(*where, prefix+"user_id = ?")
		*args = append(*args, userID)
	}
}

const userCols = `id, account_id, container_id, username, first_name, last_name, email, job_title, telephone, access_role, status, created_at, api_only, locale`

func scanUser(row interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var created string
	var apiOnly int
	if err := row.Scan(&u.ID, &u.AccountID, &u.ContainerID, &u.Username, &u.FirstName, &u.LastName, &u.Email, &u.JobTitle,
		&u.Telephone, &u.AccessRole, &u.Status, &created, &apiOnly, &u.Locale); err != nil {
		return nil, err
	}
	u.CreatedAt, u.APIOnly = parseTS(created), apiOnly != 0
	return &u, nil
}

// UserSortKeys are the sort keys GET /user understands.
var UserSortKeys = map[string]string{"id": "id", "username": "username", "last_name": "last_name", "first_name": "first_name",
	"email": "email", "date_created": "created_at"}

func (q *Queries) Users(ctx context.Context, accountID int64, f store.UserFilter, page store.Page) ([]store.User, int, error) {
	where := []string{"account_id = ?", "status <> ?"}
	args := []any{accountID, store.UserDeleted}
	if f.ContainerID != 0 {
		where = append(where, "container_id = ?")
		args = append(args, f.ContainerID)
	}
	scopeWhere(&where, &args, "", f.ScopeContainerIDs, 0)
	cond := strings.Join(where, " AND ")
	var total int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE `+cond+` ORDER BY `+orderBy(page.Sort, UserSortKeys, "id")+` LIMIT ? OFFSET ?`,
		append(args, limit(page.Limit), page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	out := []store.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan user: %w", err)
		}
		out = append(out, *u)
	}
	return out, total, rows.Err()
}

func (q *Queries) UserByUsername(ctx context.Context, username string) (*store.User, error) {
	u, err := scanUser(q.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	if err != nil {
		return nil, notFound(err, "user")
	}
	return u, nil
}

func (q *Queries) SetUserStatus(ctx context.Context, accountID, id int64, status string) error {
	return q.exec(ctx, "update user status", `UPDATE users SET status = ? WHERE account_id = ? AND id = ?`, status, accountID, id)
}

const apiKeyCols = `id, account_id, user_id, name, key_hash, role_id, created_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (*store.APIKey, error) {
	var k store.APIKey
	var created string
	var revoked sql.NullString
	if err := row.Scan(&k.ID, &k.AccountID, &k.UserID, &k.Name, &k.Hash, &k.RoleID, &created, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt = parseTS(created)
	k.RevokedAt = parseTSPtr(revoked)
	return &k, nil
}

func (q *Queries) APIKey(ctx context.Context, accountID, id int64) (*store.APIKey, error) {
	k, err := scanAPIKey(q.q.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "api key")
	}
	return k, nil
}

func (q *Queries) APIKeys(ctx context.Context, accountID, userID int64) ([]store.APIKey, error) {
	query := `SELECT ` + apiKeyCols + ` FROM api_keys WHERE account_id = ?`
	args := []any{accountID}
	if userID != 0 {
		query += ` AND user_id = ?`
		args = append(args, userID)
	}
	rows, err := q.q.QueryContext(ctx, query+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	out := []store.APIKey{}
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, fmt.Errorf("scan api key: %w", err)
		}
		out = append(out, *k)
	}
	return out, rows.Err()
}

func (q *Queries) RevokeAPIKeys(ctx context.Context, accountID, userID, id int64, at time.Time) error {
	if id != 0 {
		return q.exec(ctx, "revoke api key", `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE account_id = ? AND id = ?`, ts(at), accountID, id)
	}
	_, err := q.q.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE account_id = ? AND user_id = ? AND revoked_at IS NULL`, ts(at), accountID, userID)
	if err != nil {
		return fmt.Errorf("revoke api keys of user %d: %w", userID, err)
	}
	return nil
}

func (q *Queries) UpdateUser(ctx context.Context, u *store.User) error {
	return q.exec(ctx, "update user", `UPDATE users SET first_name = ?, last_name = ?, email = ?, job_title = ?, telephone = ?, container_id = ?, access_role = ?,
		locale = ? WHERE account_id = ? AND id = ?`, u.FirstName, u.LastName, u.Email, u.JobTitle, u.Telephone, u.ContainerID, u.AccessRole, u.Locale, u.AccountID, u.ID)
}
