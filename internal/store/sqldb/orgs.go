package sqldb

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// ---- organization validations' verified contacts, domains (issue 4)

func (q *Queries) SetOrgValidationContacts(ctx context.Context, orgID int64, typ string, contacts []store.Contact) error {
	if contacts == nil {
		contacts = []store.Contact{}
	}
	return q.exec(ctx, "set org validation contacts", `UPDATE organization_validations SET verified_users = ?
		WHERE organization_id = ? AND type = ?`, js(contacts), orgID, typ)
}

const domainCols = `id, account_id, name, created_at, organization_id, container_id, is_active, validation_types, dcv_method,
	dcv_token, dcv_token_expires, email_array, locale, last_submitted_at, dcv_status, dcv_validated_method, dcv_approved_at, dcv_expires_at`

func scanDomain(row interface{ Scan(...any) error }) (*store.Domain, error) {
	var d store.Domain
	var created, types, tokenExp, emails, submitted, approved, expires string
	var active int
	if err := row.Scan(&d.ID, &d.AccountID, &d.Name, &created, &d.OrganizationID, &d.ContainerID, &active, &types, &d.DCVMethod,
		&d.DCVToken, &tokenExp, &emails, &d.Locale, &submitted, &d.DCVStatus, &d.DCVValidatedMethod, &approved, &expires); err != nil {
		return nil, err
	}
	d.CreatedAt = parseTS(created)
	d.IsActive = active != 0
	d.ValidationTypes = unjs[[]string](types)
	d.DCVTokenExpires = parseTS(tokenExp)
	d.EmailArray = unjs[[]string](emails)
	d.LastSubmittedAt = parseTS(submitted)
	d.DCVApprovedAt = parseTS(approved)
	d.DCVExpiresAt = parseTS(expires)
	return &d, nil
}

func domainArgs(d *store.Domain) []any {
	status := d.DCVStatus
	if status == "" {
		status = store.DCVPending
	}
	method := d.DCVMethod
	if method == "" {
		method = "email"
	}
	return []any{d.OrganizationID, d.ContainerID, b2i(d.IsActive), js(nonNil(d.ValidationTypes)), method,
		d.DCVToken, tsOrEmpty(d.DCVTokenExpires), js(nonNil(d.EmailArray)), d.Locale, tsOrEmpty(d.LastSubmittedAt),
		status, d.DCVValidatedMethod, tsOrEmpty(d.DCVApprovedAt), tsOrEmpty(d.DCVExpiresAt)}
}

func (q *Queries) Domain(ctx context.Context, accountID, id int64) (*store.Domain, error) {
	d, err := scanDomain(q.q.QueryRowContext(ctx, `SELECT `+domainCols+` FROM domains WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "domain")
	}
	return d, nil
}

func (q *Queries) DomainByName(ctx context.Context, accountID int64, name string) (*store.Domain, error) {
	d, err := scanDomain(q.q.QueryRowContext(q.keyed(ctx), `SELECT `+domainCols+` FROM domains WHERE account_id = ? AND name = ?`, accountID, strings.ToLower(name)))
	if err != nil {
		return nil, notFound(err, "domain")
	}
	return d, nil
}

// DomainSortKeys are the sort keys GET /domain understands.
var DomainSortKeys = map[string]string{"id": "id", "name": "name", "date_created": "created_at"}

func (q *Queries) Domains(ctx context.Context, accountID int64, f store.DomainFilter, page store.Page) ([]store.Domain, int, error) {
	where := []string{"account_id = ?"}
	args := []any{accountID}
	if f.OrganizationID != 0 {
		where = append(where, "organization_id = ?")
		args = append(args, f.OrganizationID)
	}
	if f.ContainerID != 0 {
		where = append(where, "container_id = ?")
		args = append(args, f.ContainerID)
	}
	if f.Search != "" {
		if f.SearchContains {
			where = append(where, q.d.contains("lower(name)", "lower(?)"))
			args = append(args, f.Search)
		} else {
			where = append(where, "lower(name) LIKE lower(?) ESCAPE '\\'")
			args = append(args, likePrefix(f.Search))
		}
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM domains WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count domains: %w", err)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT `+domainCols+` FROM domains WHERE `+cond+` ORDER BY `+orderBy(page.Sort, DomainSortKeys, "id")+` LIMIT ? OFFSET ?`,
		append(args, limit(page.Limit), page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list domains: %w", err)
	}
	defer rows.Close()
	out := []store.Domain{}
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan domain: %w", err)
		}
		out = append(out, *d)
	}
	return out, total, rows.Err()
}

func (q *Queries) ValidatedDomains(ctx context.Context, accountID int64, at time.Time) ([]store.Domain, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+domainCols+` FROM domains
		WHERE account_id = ? AND is_active = 1 AND dcv_status = ? AND dcv_expires_at > ? ORDER BY id`, accountID, store.DCVComplete, ts(at))
	if err != nil {
		return nil, fmt.Errorf("list validated domains: %w", err)
	}
	defer rows.Close()
	out := []store.Domain{}
	for rows.Next() {
		d, err := scanDomain(rows)
		if err != nil {
			return nil, fmt.Errorf("scan domain: %w", err)
		}
		out = append(out, *d)
	}
	return out, rows.Err()
}

func (q *Queries) CreateDomain(ctx context.Context, d *store.Domain) error {
	d.Name = strings.ToLower(d.Name)
	args := append([]any{d.AccountID, d.Name, ts(d.CreatedAt)}, domainArgs(d)...)
	id, err := q.insert(ctx, "domain", `INSERT INTO domains(`+strings.ReplaceAll(domainCols, "id, account_id", "account_id")+`)
		VALUES (`+placeholders(len(args))+`)`, args...)
	d.ID = id
	return err
}

func (q *Queries) UpdateDomain(ctx context.Context, d *store.Domain) error {
	args := append(domainArgs(d), d.ID, d.AccountID)
	return q.exec(ctx, "update domain", `UPDATE domains SET organization_id = ?, container_id = ?, is_active = ?, validation_types = ?,
		dcv_method = ?, dcv_token = ?, dcv_token_expires = ?, email_array = ?, locale = ?, last_submitted_at = ?, dcv_status = ?,
		dcv_validated_method = ?, dcv_approved_at = ?, dcv_expires_at = ? WHERE id = ? AND account_id = ?`, args...)
}

func (q *Queries) OrganizationInUse(ctx context.Context, accountID, orgID int64) (bool, error) {
	// A boolean in PostgreSQL, 0 or 1 in SQLite: both scan into a bool.
	var used bool
	err := q.q.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM orders WHERE account_id = ? AND organization_id = ?)
		OR EXISTS (SELECT 1 FROM domains WHERE account_id = ? AND organization_id = ?)`, accountID, orgID, accountID, orgID).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("organization in use: %w", err)
	}
	return used, nil
}

func (q *Queries) DeleteOrganization(ctx context.Context, accountID, id int64) error {
	if _, err := q.q.ExecContext(ctx, `DELETE FROM organization_validations WHERE organization_id IN
		(SELECT id FROM organizations WHERE account_id = ? AND id = ?)`, accountID, id); err != nil {
		return writeErr(err, "delete organization validations")
	}
	return q.exec(ctx, "delete organization", `DELETE FROM organizations WHERE account_id = ? AND id = ?`, accountID, id)
}
