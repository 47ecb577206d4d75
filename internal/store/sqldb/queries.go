package sqldb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Queries implements store.Reader and store.Writer over a querier in one
// dialect; the querier's errors are classified (unavailable.go).
type Queries struct {
	q checked
	d *Dialect
}

const timeLayout = "2006-01-02T15:04:05.000000Z"

func ts(t time.Time) string { return t.UTC().Format(timeLayout) }

func tsPtr(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return ts(*t)
}

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		t, _ = time.Parse(time.RFC3339Nano, s)
	}
	return t.UTC()
}

func parseTSPtr(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t := parseTS(s.String)
	return &t
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "null"
	}
	return string(b)
}

func unjs[T any](s string) T {
	var v T
	if s != "" {
		_ = json.Unmarshal([]byte(s), &v)
	}
	return v
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	return fmt.Errorf("read %s: %w", what, err)
}

func writeErr(err error, what string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	// SQLite's and PostgreSQL's (SQLSTATE 23505) unique violations.
	case strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "SQLSTATE 23505"):
		return fmt.Errorf("%s: %w: %v", what, store.ErrConflict, err)
	// The refusals of migration 0039's functions (PostgreSQL): funds
	// that cannot cover a charge, an account or order that is not there.
	case strings.Contains(msg, "SQLSTATE CO402"):
		return fmt.Errorf("%s: %w: %v", what, store.ErrInsufficientFunds, err)
	case strings.Contains(msg, "SQLSTATE CO404"):
		return fmt.Errorf("%s: %w: %v", what, store.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (q *Queries) insert(ctx context.Context, what, query string, args ...any) (int64, error) {
	if q.d.returning {
		var id int64
		if err := q.q.QueryRowContext(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
			return 0, writeErr(err, "insert "+what)
		}
		return id, nil
	}
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, writeErr(err, "insert "+what)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert %s: last id: %w", what, err)
	}
	return id, nil
}

// claim runs a compare-and-set update and reports whether it changed a
// row: of several callers racing for one row, exactly one wins.
func (q *Queries) claim(ctx context.Context, what, query string, args ...any) (bool, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return false, writeErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}

func (q *Queries) exec(ctx context.Context, what, query string, args ...any) error {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return writeErr(err, what)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// ---- accounts, containers, users, keys

func (q *Queries) AccountCount(ctx context.Context) (int, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n)
	return n, err
}

const accountCols = `id, name, approval_mode, allow_skip_approval, created_at, balance_cents, require_unique_alternative_order_id,
	issuing_ca_selection, revoke_order_with_certificate, notification_settings`

func scanAccount(row interface{ Scan(...any) error }) (*store.Account, error) {
	var a store.Account
	var created string
	var skip, unique, caSelection, revokeOrder int
	var notifications string
	if err := row.Scan(&a.ID, &a.Name, &a.ApprovalMode, &skip, &created, &a.BalanceCents, &unique, &caSelection, &revokeOrder, &notifications); err != nil {
		return nil, err
	}
	if err := finishAccount(&a, created, skip, unique, caSelection, revokeOrder, notifications); err != nil {
		return nil, err
	}
	return &a, nil
}

// finishAccount sets what the columns of an account row stand for.
func finishAccount(a *store.Account, created string, skip, unique, caSelection, revokeOrder int, notifications string) error {
	if notifications != "" {
		if err := json.Unmarshal([]byte(notifications), &a.Notifications); err != nil {
			return fmt.Errorf("notification settings of account %d: %w", a.ID, err)
		}
	}
	a.RequireUniqueAltOrderID = unique != 0
	a.IssuingCASelection = caSelection != 0
	a.RevokeOrderWithCertificate = revokeOrder != 0
	a.AllowSkipApproval = skip != 0
	a.CreatedAt = parseTS(created)
	return nil
}

func (q *Queries) Account(ctx context.Context, id int64) (*store.Account, error) {
	a, err := scanAccount(q.q.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
	if err != nil {
		return nil, notFound(err, "account")
	}
	return a, nil
}

func (q *Queries) FirstAccount(ctx context.Context) (*store.Account, error) {
	a, err := scanAccount(q.q.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts ORDER BY id LIMIT 1`))
	if err != nil {
		return nil, notFound(err, "account")
	}
	return a, nil
}

func (q *Queries) CreateAccount(ctx context.Context, a *store.Account) error {
	if a.ApprovalMode == "" {
		a.ApprovalMode = "one_step"
	}
	id, err := q.insert(ctx, "account", `INSERT INTO accounts(name, approval_mode, allow_skip_approval, created_at,
		balance_cents, require_unique_alternative_order_id, issuing_ca_selection, revoke_order_with_certificate) VALUES (?,?,?,?,?,?,?,?)`,
		a.Name, a.ApprovalMode, b2i(a.AllowSkipApproval), ts(a.CreatedAt), a.BalanceCents, b2i(a.RequireUniqueAltOrderID),
		b2i(a.IssuingCASelection), b2i(a.RevokeOrderWithCertificate))
	a.ID = id
	return err
}

const containerCols = `id, account_id, parent_id, name, description, is_active, created_at`

func scanContainer(row interface{ Scan(...any) error }) (*store.Container, error) {
	var c store.Container
	var active int
	var created string
	if err := row.Scan(&c.ID, &c.AccountID, &c.ParentID, &c.Name, &c.Description, &active, &created); err != nil {
		return nil, err
	}
	c.IsActive = active != 0
	c.CreatedAt = parseTS(created)
	return &c, nil
}

func (q *Queries) Container(ctx context.Context, accountID, id int64) (*store.Container, error) {
	c, err := scanContainer(q.q.QueryRowContext(ctx, `SELECT `+containerCols+` FROM containers WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "container")
	}
	return c, nil
}

func (q *Queries) Containers(ctx context.Context, accountID int64) ([]store.Container, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+containerCols+` FROM containers WHERE account_id = ? ORDER BY id`, accountID)
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	defer rows.Close()
	out := []store.Container{}
	for rows.Next() {
		c, err := scanContainer(rows)
		if err != nil {
			return nil, fmt.Errorf("scan container: %w", err)
		}
		out = append(out, *c)
	}
	return out, rows.Err()
}

func (q *Queries) CreateContainer(ctx context.Context, c *store.Container) error {
	id, err := q.insert(ctx, "container", `INSERT INTO containers(account_id, parent_id, name, description, is_active, created_at) VALUES (?,?,?,?,?,?)`,
		c.AccountID, c.ParentID, c.Name, c.Description, b2i(c.IsActive), ts(c.CreatedAt))
	c.ID = id
	return err
}

func (q *Queries) User(ctx context.Context, accountID, id int64) (*store.User, error) {
	u, err := scanUser(q.q.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "user")
	}
	return u, nil
}

func (q *Queries) CreateUser(ctx context.Context, u *store.User) error {
	if u.Status == "" {
		u.Status = "active"
	}
	id, err := q.insert(ctx, "user", `INSERT INTO users(account_id, container_id, username, first_name, last_name, email, job_title, telephone, access_role, status, created_at, api_only, locale)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.AccountID, u.ContainerID, u.Username, u.FirstName, u.LastName, u.Email, u.JobTitle, u.Telephone, u.AccessRole, u.Status, ts(u.CreatedAt), b2i(u.APIOnly), u.Locale)
	u.ID = id
	return err
}

// keyActorSQL joins a key to its user and account; the columns are
// apiKeyCols, userCols and accountCols in that order.
var keyActorSQL = `SELECT ` + prefixCols(apiKeyCols, "k.") + `, ` + prefixCols(userCols, "u.") + `, ` + prefixCols(accountCols, "a.") + `
	FROM api_keys k JOIN users u ON u.account_id = k.account_id AND u.id = k.user_id JOIN accounts a ON a.id = k.account_id
	WHERE k.key_hash = ?`

func (q *Queries) KeyActor(ctx context.Context, hash []byte) (*store.APIKey, *store.User, *store.Account, error) {
	var (
		k                                 store.APIKey
		u                                 store.User
		a                                 store.Account
		kCreated, uCreated, aCreated      string
		revoked                           sql.NullString
		apiOnly, skip, unique, caSel, rvk int
		notifications                     string
	)
	err := q.q.QueryRowContext(q.keyed(ctx), keyActorSQL, hash).Scan(
		&k.ID, &k.AccountID, &k.UserID, &k.Name, &k.Hash, &k.RoleID, &kCreated, &revoked,
		&u.ID, &u.AccountID, &u.ContainerID, &u.Username, &u.FirstName, &u.LastName, &u.Email, &u.JobTitle,
		&u.Telephone, &u.AccessRole, &u.Status, &uCreated, &apiOnly, &u.Locale,
		&a.ID, &a.Name, &a.ApprovalMode, &skip, &aCreated, &a.BalanceCents, &unique, &caSel, &rvk, &notifications)
	if err != nil {
		return nil, nil, nil, notFound(err, "api key")
	}
	k.CreatedAt, k.RevokedAt = parseTS(kCreated), parseTSPtr(revoked)
	u.CreatedAt, u.APIOnly = parseTS(uCreated), apiOnly != 0
	if err := finishAccount(&a, aCreated, skip, unique, caSel, rvk, notifications); err != nil {
		return nil, nil, nil, err
	}
	return &k, &u, &a, nil
}

func (q *Queries) APIKeyByHash(ctx context.Context, hash []byte) (*store.APIKey, error) {
	var k store.APIKey
	var created string
	var revoked sql.NullString
	err := q.q.QueryRowContext(ctx, `SELECT id, account_id, user_id, name, key_hash, role_id, created_at, revoked_at FROM api_keys WHERE key_hash = ?`, hash).
		Scan(&k.ID, &k.AccountID, &k.UserID, &k.Name, &k.Hash, &k.RoleID, &created, &revoked)
	if err != nil {
		return nil, notFound(err, "api key")
	}
	k.CreatedAt = parseTS(created)
	k.RevokedAt = parseTSPtr(revoked)
	return &k, nil
}

func (q *Queries) CreateAPIKey(ctx context.Context, k *store.APIKey) error {
	id, err := q.insert(ctx, "api key", `INSERT INTO api_keys(account_id, user_id, name, key_hash, role_id, created_at) VALUES (?,?,?,?,?,?)`,
		k.AccountID, k.UserID, k.Name, k.Hash, k.RoleID, ts(k.CreatedAt))
	k.ID = id
	return err
}

// ---- organizations

const orgCols = `id, account_id, container_id, name, assumed_name, address, address2, city, state, zip, country, telephone,
	jurisdiction_country, jurisdiction_state, jurisdiction_city, business_category, registration_number, incorporating_agency,
	organization_contact, technical_contact, is_active, created_at`

func scanOrg(row interface{ Scan(...any) error }) (*store.Organization, error) {
	var o store.Organization
	var oc, tc sql.NullString
	var active int
	var created string
	if err := row.Scan(&o.ID, &o.AccountID, &o.ContainerID, &o.Name, &o.AssumedName, &o.Address, &o.Address2, &o.City, &o.State, &o.Zip, &o.Country, &o.Telephone,
		&o.JurisdictionCountry, &o.JurisdictionState, &o.JurisdictionCity, &o.BusinessCategory, &o.RegistrationNumber, &o.IncorporatingAgency,
		&oc, &tc, &active, &created); err != nil {
		return nil, err
	}
	if oc.Valid && oc.String != "" && oc.String != "null" {
		o.OrganizationContact = unjs[*store.Contact](oc.String)
	}
	if tc.Valid && tc.String != "" && tc.String != "null" {
		o.TechnicalContact = unjs[*store.Contact](tc.String)
	}
	o.IsActive = active != 0
	o.CreatedAt = parseTS(created)
	return &o, nil
}

func (q *Queries) orgValidations(ctx context.Context, orgID int64) ([]store.OrgValidation, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT organization_id, type, status, date_created, validated_until, verified_users FROM organization_validations WHERE organization_id = ? ORDER BY type`, orgID)
	if err != nil {
		return nil, fmt.Errorf("list org validations: %w", err)
	}
	defer rows.Close()
	out := []store.OrgValidation{}
	for rows.Next() {
		var v store.OrgValidation
		var created, until, users string
		if err := rows.Scan(&v.OrganizationID, &v.Type, &v.Status, &created, &until, &users); err != nil {
			return nil, fmt.Errorf("scan org validation: %w", err)
		}
		v.DateCreated, v.ValidatedUntil = parseTS(created), parseTS(until)
		v.VerifiedContacts = unjs[[]store.Contact](users)
		out = append(out, v)
	}
	return out, rows.Err()
}

func (q *Queries) Organization(ctx context.Context, accountID, id int64) (*store.Organization, error) {
	o, err := scanOrg(q.q.QueryRowContext(ctx, `SELECT `+orgCols+` FROM organizations WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "organization")
	}
	if o.Validations, err = q.orgValidations(ctx, o.ID); err != nil {
		return nil, err
	}
	return o, nil
}

func (q *Queries) FindOrganization(ctx context.Context, accountID int64, name, address, city, state, country string) (*store.Organization, error) {
	o, err := scanOrg(q.q.QueryRowContext(ctx, `SELECT `+orgCols+` FROM organizations
		WHERE account_id = ? AND lower(name) = lower(?) AND lower(address) = lower(?) AND lower(city) = lower(?) AND lower(state) = lower(?) AND lower(country) = lower(?)
		ORDER BY id LIMIT 1`, accountID, name, address, city, state, country))
	if err != nil {
		return nil, notFound(err, "organization")
	}
	if o.Validations, err = q.orgValidations(ctx, o.ID); err != nil {
		return nil, err
	}
	return o, nil
}

func (q *Queries) Organizations(ctx context.Context, accountID int64, page store.Page) ([]store.Organization, int, error) {
	var total int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM organizations WHERE account_id = ?`, accountID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count organizations: %w", err)
	}
	order := orderBy(page.Sort, map[string]string{"id": "id", "name": "name", "date_created": "created_at"}, "id")
	rows, err := q.q.QueryContext(ctx, `SELECT `+orgCols+` FROM organizations WHERE account_id = ? ORDER BY `+order+` LIMIT ? OFFSET ?`,
		accountID, limit(page.Limit), page.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list organizations: %w", err)
	}
	out := []store.Organization{}
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("scan organization: %w", err)
		}
		out = append(out, *o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	for i := range out {
		if out[i].Validations, err = q.orgValidations(ctx, out[i].ID); err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

func (q *Queries) CreateOrganization(ctx context.Context, o *store.Organization) error {
	var oc, tc any
	if o.OrganizationContact != nil {
		oc = js(o.OrganizationContact)
	}
	if o.TechnicalContact != nil {
		tc = js(o.TechnicalContact)
	}
	id, err := q.insert(ctx, "organization", `INSERT INTO organizations(account_id, container_id, name, assumed_name, address, address2, city, state, zip, country, telephone,
		jurisdiction_country, jurisdiction_state, jurisdiction_city, business_category, registration_number, incorporating_agency,
		organization_contact, technical_contact, is_active, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		o.AccountID, o.ContainerID, o.Name, o.AssumedName, o.Address, o.Address2, o.City, o.State, o.Zip, o.Country, o.Telephone,
		o.JurisdictionCountry, o.JurisdictionState, o.JurisdictionCity, o.BusinessCategory, o.RegistrationNumber, o.IncorporatingAgency,
		oc, tc, b2i(o.IsActive), ts(o.CreatedAt))
	o.ID = id
	return err
}

func (q *Queries) SetOrgValidation(ctx context.Context, v store.OrgValidation) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO organization_validations(organization_id, type, status, date_created, validated_until) VALUES (?,?,?,?,?)
		ON CONFLICT(organization_id, type) DO UPDATE SET status = excluded.status, date_created = excluded.date_created, validated_until = excluded.validated_until`,
		v.OrganizationID, v.Type, v.Status, ts(v.DateCreated), ts(v.ValidatedUntil))
	return writeErr(err, "set org validation")
}

// ---- orders

const orderCols = `id, account_id, container_id, user_id, organization_id, product_name_id, status, common_name, dns_names, organization_units, csr,
	server_platform_id, signature_hash, profile_option, validity_years, validity_days, custom_expiration_date, order_valid_till, comments,
	auto_renew, custom_renewal_message, disable_renewal_notifications, additional_emails, locale, renewal_of_order_id, renewed_thumbprint,
	is_renewed, renewed_order_id, payment_method, card_last4, dcv_method, disable_ct, apply_cr_discount, cr_serial_number, skip_approval,
	custom_fields, alternative_order_id, certificate_id, created_at, updated_at,
	emails, ip_addresses, dcv_random_value, dcv_random_expires, ca_cert_id, cert_valid_till, price_cents, extra`

func scanOrder(row interface{ Scan(...any) error }) (*store.Order, error) {
	var o store.Order
	var dns, ous, emails, fields, validTill, created, updated string
	var certEmails, ips, dcvExpires, certTill, extra string
	var disableNotif, isRenewed, disableCT, crDiscount, skip int
	if err := row.Scan(&o.ID, &o.AccountID, &o.ContainerID, &o.UserID, &o.OrganizationID, &o.ProductNameID, &o.Status, &o.CommonName, &dns, &ous, &o.CSR,
		&o.ServerPlatformID, &o.SignatureHash, &o.ProfileOption, &o.ValidityYears, &o.ValidityDays, &o.CustomExpirationDate, &validTill, &o.Comments,
		&o.AutoRenew, &o.CustomRenewalMessage, &disableNotif, &emails, &o.Locale, &o.RenewalOfOrderID, &o.RenewedThumbprint,
		&isRenewed, &o.RenewedOrderID, &o.PaymentMethod, &o.CardLast4, &o.DCVMethod, &disableCT, &crDiscount, &o.CRSerialNumber, &skip,
		&fields, &o.AlternativeOrderID, &o.CertificateID, &created, &updated,
		&certEmails, &ips, &o.DCVRandomValue, &dcvExpires, &o.CACertID, &certTill, &o.PriceCents, &extra); err != nil {
		return nil, err
	}
	o.Emails = unjs[[]string](certEmails)
	o.IPAddresses = unjs[[]string](ips)
	o.DCVRandomExpires = parseTS(dcvExpires)
	o.CertValidTill = parseTS(certTill)
	o.Extra = unjs[store.OrderExtra](extra)
	o.DNSNames = unjs[[]string](dns)
	o.OrganizationUnits = unjs[[]string](ous)
	o.AdditionalEmails = unjs[[]string](emails)
	o.CustomFields = unjs[[]store.CustomField](fields)
	o.OrderValidTill = parseTS(validTill)
	o.CreatedAt, o.UpdatedAt = parseTS(created), parseTS(updated)
	o.DisableRenewalNotifications = disableNotif != 0
	o.IsRenewed = isRenewed != 0
	o.DisableCT = disableCT != 0
	o.ApplyCRDiscount = crDiscount != 0
	o.SkipApproval = skip != 0
	return &o, nil
}

func orderArgs(o *store.Order) []any {
	return []any{o.AccountID, o.ContainerID, o.UserID, o.OrganizationID, o.ProductNameID, o.Status, o.CommonName, js(nonNil(o.DNSNames)), js(nonNil(o.OrganizationUnits)), o.CSR,
		o.ServerPlatformID, o.SignatureHash, o.ProfileOption, o.ValidityYears, o.ValidityDays, o.CustomExpirationDate, ts(o.OrderValidTill), o.Comments,
		o.AutoRenew, o.CustomRenewalMessage, b2i(o.DisableRenewalNotifications), js(nonNil(o.AdditionalEmails)), o.Locale, o.RenewalOfOrderID, o.RenewedThumbprint,
		b2i(o.IsRenewed), o.RenewedOrderID, o.PaymentMethod, o.CardLast4, o.DCVMethod, b2i(o.DisableCT), b2i(o.ApplyCRDiscount), o.CRSerialNumber, b2i(o.SkipApproval),
		js(nonNilFields(o.CustomFields)), o.AlternativeOrderID, o.CertificateID, ts(o.CreatedAt), ts(o.UpdatedAt),
		js(nonNil(o.Emails)), js(nonNil(o.IPAddresses)), o.DCVRandomValue, tsOrEmpty(o.DCVRandomExpires), o.CACertID,
		tsOrEmpty(o.CertValidTill), o.PriceCents, js(o.Extra)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilFields(s []store.CustomField) []store.CustomField {
	if s == nil {
		return []store.CustomField{}
	}
	return s
}

// tsOrEmpty stores a zero time as ” so that it reads back as zero.
func tsOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ts(t)
}

func (q *Queries) OrderByAlternativeID(ctx context.Context, accountID int64, altID string) (*store.Order, error) {
	o, err := scanOrder(q.q.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders
		WHERE account_id = ? AND alternative_order_id = ? AND alternative_order_id <> '' ORDER BY id DESC LIMIT 1`, accountID, altID))
	if err != nil {
		return nil, notFound(err, "order")
	}
	return o, nil
}

// ChargeBalance adds delta to the account's balance, refusing to take it
// below zero. Where the transaction holds writes back (PostgreSQL) the
// charge is held back too, as a statement that fails instead of updating
// nothing: its store.ErrInsufficientFunds or store.ErrNotFound then comes
// from a later statement of the transaction, or from its commit.
func (q *Queries) ChargeBalance(ctx context.Context, accountID, delta int64) error {
	if l := q.q.laterExecer(); l != nil {
		l.ExecLater("charge balance", `SELECT certorder_charge(?, ?)`, accountID, delta)
		return nil
	}
	res, err := q.q.ExecContext(ctx, `UPDATE accounts SET balance_cents = balance_cents + ?
		WHERE id = ? AND balance_cents + ? >= 0`, delta, accountID, delta)
	if err != nil {
		return writeErr(err, "charge balance")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return writeErr(err, "charge balance")
	}
	if n == 0 {
		if _, err := q.Account(ctx, accountID); err != nil {
			return err
		}
		return store.ErrInsufficientFunds
	}
	return nil
}

func (q *Queries) EnsureDomain(ctx context.Context, accountID int64, name string, at time.Time) (*store.Domain, error) {
	// A domain the account already has is not an error: the insert then
	// touches no row, so this cannot go through q.exec.
	if _, err := q.q.ExecContext(ctx, `INSERT INTO domains(account_id, name, created_at) VALUES (?,?,?)
		ON CONFLICT (account_id, name) DO NOTHING`, accountID, name, ts(at)); err != nil {
		return nil, writeErr(err, "create domain")
	}
	d := &store.Domain{AccountID: accountID, Name: name}
	var created string
	if err := q.q.QueryRowContext(ctx, `SELECT id, created_at FROM domains WHERE account_id = ? AND name = ?`, accountID, name).Scan(&d.ID, &created); err != nil {
		return nil, notFound(err, "domain")
	}
	d.CreatedAt = parseTS(created)
	return d, nil
}

func (q *Queries) SetAccountOptions(ctx context.Context, a *store.Account) error {
	return q.exec(ctx, "update account", `UPDATE accounts SET approval_mode = ?, allow_skip_approval = ?,
		require_unique_alternative_order_id = ?, issuing_ca_selection = ?, revoke_order_with_certificate = ? WHERE id = ?`,
		a.ApprovalMode, b2i(a.AllowSkipApproval), b2i(a.RequireUniqueAltOrderID), b2i(a.IssuingCASelection), b2i(a.RevokeOrderWithCertificate), a.ID)
}

func (q *Queries) SetAccountNotifications(ctx context.Context, accountID int64, n store.AccountNotifications) error {
	b, err := json.Marshal(n)
	if err != nil {
		return err
	}
	return q.exec(ctx, "update account notification settings", `UPDATE accounts SET notification_settings = ? WHERE id = ?`, string(b), accountID)
}

// insertOrderSQL inserts every column of orderCols but the id, built once
// (an order placement would build it, and the statement cache hash it,
// per call).
var insertOrderSQL = `INSERT INTO orders(` + orderColsButID + `) VALUES (` + placeholders(strings.Count(orderColsButID, ",")+1) + `)`

// orderColsButID are orderCols without the id, which the store assigns.
var orderColsButID = strings.ReplaceAll(orderCols, "id, account_id", "account_id")

// insertOrderWithIDSQL is insertOrderSQL with the id given.
var insertOrderWithIDSQL = `INSERT INTO orders(id, ` + orderColsButID + `) VALUES (?,` + placeholders(strings.Count(orderColsButID, ",")+1) + `)`

// CreateOrder inserts o and sets its id. Where the transaction takes ids
// ahead and holds writes back (PostgreSQL), the insert travels with the
// transaction's next statement: an order's insert fails only on a broken
// reference, which its caller does not tell apart.
func (q *Queries) CreateOrder(ctx context.Context, o *store.Order) error {
	if t, l := q.q.idTaker(), q.q.laterExecer(); t != nil && l != nil {
		id, err := q.q.takeID(t, "orders")
		if err != nil {
			return err
		}
		o.ID = id
		l.ExecLater("insert order", insertOrderWithIDSQL, append([]any{id}, orderArgs(o)...)...)
		return nil
	}
	id, err := q.insert(ctx, "order", insertOrderSQL, orderArgs(o)...)
	o.ID = id
	return err
}

// updateOrderSQL sets every column of orderCols but the id, built once.
var updateOrderSQL = func() string {
	cols := strings.Split(orderColsButID, ",")
	sets := make([]string, len(cols))
	for i, c := range cols {
		sets[i] = strings.TrimSpace(c) + " = ?"
	}
	return `UPDATE orders SET ` + strings.Join(sets, ", ") + ` WHERE id = ? AND account_id = ?`
}()

func (q *Queries) UpdateOrder(ctx context.Context, o *store.Order) error {
	args := append(orderArgs(o), o.ID, o.AccountID)
	return q.exec(ctx, "update order", updateOrderSQL, args...)
}

func (q *Queries) SetOrderCertificate(ctx context.Context, accountID, orderID, certID int64) error {
	return q.exec(ctx, "set order certificate", `UPDATE orders SET certificate_id = ? WHERE id = ? AND account_id = ?`, certID, orderID, accountID)
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

func (q *Queries) Order(ctx context.Context, accountID, id int64) (*store.Order, error) {
	o, err := scanOrder(q.q.QueryRowContext(ctx, `SELECT `+orderCols+` FROM orders WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "order")
	}
	return o, nil
}

// OrderByCertificate finds the order whose primary certificate has the
// serial or thumbprint (order info accepts either in place of the id).
func (q *Queries) OrderByCertificate(ctx context.Context, accountID int64, serialHex, thumbprint string) (*store.Order, error) {
	o, err := scanOrder(q.q.QueryRowContext(ctx, `SELECT `+prefixCols(orderCols, "o.")+` FROM orders o JOIN certificates c ON c.id = o.certificate_id
		WHERE o.account_id = ? AND (c.serial_number = ? OR c.thumbprint = ?)`, accountID, strings.ToUpper(serialHex), strings.ToUpper(thumbprint)))
	if err != nil {
		return nil, notFound(err, "order")
	}
	return o, nil
}

func prefixCols(cols, prefix string) string {
	parts := strings.Split(cols, ",")
	for i, p := range parts {
		parts[i] = prefix + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}

func limit(n int) int {
	if n <= 0 {
		return 1 << 62 // no limit, in a form both dialects accept
	}
	return n
}

// orderBy turns validated API sort keys into an ORDER BY clause; unknown
// keys never reach SQL. A key's columns (allowed may name several, comma
// separated) take its direction. def, the id column, ends the clause
// unless a key named it already, so that equal keys still have one order
// and pages never overlap; it takes the direction of the last key, so that
// one sort key in either direction is exactly the order of an index on
// (account_id, key, id) read forwards or backwards (migration 0014).
func orderBy(keys []string, allowed map[string]string, def string) string {
	var parts []string
	desc, tiebreak := false, true
	for _, k := range keys {
		cols, ok := allowed[strings.TrimPrefix(k, "-")]
		if !ok {
			continue
		}
		desc = strings.HasPrefix(k, "-")
		for _, col := range strings.Split(cols, ", ") {
			if col == def {
				tiebreak = false
			}
			if desc {
				col += " DESC"
			}
			parts = append(parts, col)
		}
	}
	if tiebreak {
		if desc {
			def += " DESC"
		}
		parts = append(parts, def)
	}
	return strings.Join(parts, ", ")
}

// OrderSortKeys are the sort keys ListOrders understands: the properties
// of an order list entry, and the names clients send for them
// (order_id is the id; product_name sorts by the product's id, which
// groups each product's orders as its name would).
var OrderSortKeys = map[string]string{
	"id": "id", "order_id": "id", "date_created": "created_at", "status": "status", "common_name": "common_name",
	"product_name_id": "product_name_id", "product_name": "product_name_id", "valid_till": "order_valid_till",
	"organization_id": "organization_id", "container_id": "container_id", "user_id": "user_id",
	"order_valid_till": "order_valid_till", "is_renewed": "is_renewed",
}

func (q *Queries) Orders(ctx context.Context, accountID int64, f store.OrderFilter, page store.Page) ([]store.Order, int, error) {
	count, list, args := q.ordersSQL(accountID, f, page)
	var total int
	if err := q.q.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count orders: %w", err)
	}
	rows, err := q.q.QueryContext(ctx, list, append(args, limit(page.Limit), page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list orders: %w", err)
	}
	defer rows.Close()
	out := []store.Order{}
	for rows.Next() {
		o, err := scanOrder(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan order: %w", err)
		}
		out = append(out, *o)
	}
	return out, total, rows.Err()
}

// ordersSQL is the count and the page query of an order list and the
// arguments of both (the page query takes LIMIT and OFFSET after them).
func (q *Queries) ordersSQL(accountID int64, f store.OrderFilter, page store.Page) (count, list string, args []any) {
	where := []string{"account_id = ?"}
	args = []any{accountID}
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	if f.ProductNameID != "" {
		add("product_name_id = ?", f.ProductNameID)
	}
	if f.CommonName != "" {
		add("common_name = ?", f.CommonName)
	}
	if f.ContainerID != 0 {
		add("container_id = ?", f.ContainerID)
	}
	if f.OrganizationID != 0 {
		add("organization_id = ?", f.OrganizationID)
	}
	if f.ID != 0 {
		add("id = ?", f.ID)
	}
	scopeWhere(&where, &args, "", f.ScopeContainerIDs, f.ScopeUserID)
	orderFilterWhere(q.d, &where, &args, f)
	if f.Search != "" {
		// Spec §1.5: the search of orders looks at the common name and
		// the emails (client certificates).
		if f.SearchContains {
			where = append(where, `(`+q.d.contains("lower(common_name)", "lower(?)")+`
				OR EXISTS (SELECT 1 FROM `+q.d.textArray("orders.emails")+` WHERE `+q.d.contains("lower(value)", "lower(?)")+`))`)
			args = append(args, f.Search, f.Search)
		} else {
			where = append(where, `(lower(common_name) LIKE lower(?) ESCAPE '\'
				OR EXISTS (SELECT 1 FROM `+q.d.textArray("orders.emails")+` WHERE lower(value) LIKE lower(?) ESCAPE '\'))`)
			args = append(args, likePrefix(f.Search), likePrefix(f.Search))
		}
	}
	cond := strings.Join(where, " AND ")
	return `SELECT COUNT(*) FROM orders WHERE ` + cond,
		`SELECT ` + orderCols + ` FROM orders WHERE ` + cond + ` ORDER BY ` + orderBy(page.Sort, OrderSortKeys, "id") + ` LIMIT ? OFFSET ?`,
		args
}

func likePrefix(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s) + "%"
}

// ---- requests

const requestCols = `id, account_id, order_id, type, status, requester_id, processor_id, comments, processor_comment, date, date_processed, reviewer_id, detail`

func scanRequest(row interface{ Scan(...any) error }) (*store.Request, error) {
	var r store.Request
	var date string
	var processed sql.NullString
	if err := row.Scan(&r.ID, &r.AccountID, &r.OrderID, &r.Type, &r.Status, &r.RequesterID, &r.ProcessorID, &r.Comments, &r.ProcessorComment, &date, &processed, &r.ReviewerID, &r.Detail); err != nil {
		return nil, err
	}
	r.Date = parseTS(date)
	r.DateProcessed = parseTSPtr(processed)
	return &r, nil
}

func (q *Queries) Request(ctx context.Context, accountID, id int64) (*store.Request, error) {
	r, err := scanRequest(q.q.QueryRowContext(ctx, `SELECT `+requestCols+` FROM requests WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "request")
	}
	return r, nil
}

func (q *Queries) RequestsForOrder(ctx context.Context, accountID, orderID int64) ([]store.Request, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+requestCols+` FROM requests WHERE account_id = ? AND order_id = ? ORDER BY id`, accountID, orderID)
	if err != nil {
		return nil, fmt.Errorf("list order requests: %w", err)
	}
	defer rows.Close()
	out := []store.Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("scan request: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// RequestSortKeys are the sort keys ListRequests understands (date_created
// is the request's date, as clients name it on every other list).
// Requests sorted by a property of their order are grouped by order, so
// that the list reads the orders' (account_id, key, id) index and each
// order's requests in turn instead of sorting the account's requests.
var RequestSortKeys = map[string]string{"id": "r.id", "date": "r.date", "date_created": "r.date", "status": "r.status",
	"type": "r.type", "date_processed": "r.date_processed", "order_id": "r.order_id", "common_name": "o.common_name, o.id",
	"product_name_id": "o.product_name_id, o.id", "product_name": "o.product_name_id, o.id"}

func (q *Queries) Requests(ctx context.Context, accountID int64, f store.RequestFilter, page store.Page) ([]store.Request, int, error) {
	count, list, args := q.requestsSQL(accountID, f, page)
	var total int
	if err := q.q.QueryRowContext(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count requests: %w", err)
	}
	rows, err := q.q.QueryContext(ctx, list, append(args, limit(page.Limit), page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	out := []store.Request{}
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("scan request: %w", err)
		}
		out = append(out, *r)
	}
	return out, total, rows.Err()
}

// requestsSQL is the count and the page query of a request list and the
// arguments of both (the page query takes LIMIT and OFFSET after them).
func (q *Queries) requestsSQL(accountID int64, f store.RequestFilter, page store.Page) (count, list string, args []any) {
	// A request and its order are of one account; saying so of both lets
	// the planner start from either table's index.
	where := []string{"r.account_id = ?", "o.account_id = ?"}
	args = []any{accountID, accountID}
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Status != "" {
		add("r.status = ?", f.Status)
	}
	if f.Type != "" {
		add("r.type = ?", f.Type)
	}
	if f.ContainerID != 0 {
		add("o.container_id = ?", f.ContainerID)
	}
	scopeWhere(&where, &args, "o.", f.ScopeContainerIDs, f.ScopeUserID)
	requestFilterWhere(q.d, &where, &args, f)
	if f.Search != "" {
		if f.SearchContains {
			add(q.d.contains("lower(o.common_name)", "lower(?)"), f.Search)
		} else {
			add("lower(o.common_name) LIKE lower(?) ESCAPE '\\'", likePrefix(f.Search))
		}
	}
	cond := strings.Join(where, " AND ")
	join := `requests r JOIN orders o ON o.id = r.order_id`
	if len(page.Sort) > 0 && strings.HasPrefix(RequestSortKeys[strings.TrimPrefix(page.Sort[0], "-")], "o.") && q.d == SQLite {
		// Sorted by a property of the order, the orders come first, in
		// their index's order, and each one's requests after it; SQLite
		// keeps the tables of a CROSS JOIN in the order written.
		join = `orders o CROSS JOIN requests r ON o.id = r.order_id`
	}
	from := ` FROM ` + join + ` WHERE ` + cond
	return `SELECT COUNT(*)` + from,
		`SELECT ` + prefixCols(requestCols, "r.") + from + ` ORDER BY ` + orderBy(page.Sort, RequestSortKeys, "r.id") + ` LIMIT ? OFFSET ?`,
		args
}

func (q *Queries) CreateRequest(ctx context.Context, r *store.Request) error {
	id, err := q.insert(ctx, "request", `INSERT INTO requests(account_id, order_id, type, status, requester_id, processor_id, comments, processor_comment, date, date_processed, detail)
		VALUES (?,?,?,?,?,?,?,?,?,?,?)`, r.AccountID, r.OrderID, r.Type, r.Status, r.RequesterID, r.ProcessorID, r.Comments, r.ProcessorComment, ts(r.Date), tsPtr(r.DateProcessed), r.Detail)
	r.ID = id
	return err
}

func (q *Queries) UpdateRequest(ctx context.Context, r *store.Request) error {
	return q.exec(ctx, "update request", `UPDATE requests SET status = ?, processor_id = ?, processor_comment = ?, date_processed = ?, reviewer_id = ?
		WHERE id = ? AND account_id = ?`,
		r.Status, r.ProcessorID, r.ProcessorComment, tsPtr(r.DateProcessed), r.ReviewerID, r.ID, r.AccountID)
}

// ---- certificates

const certCols = `id, account_id, order_id, status, serial_number, thumbprint, issuer_id, common_name, dns_names, csr, signature_hash, key_size, der,
	not_before, not_after, created_at, issued_at`

func scanCert(row interface{ Scan(...any) error }) (*store.Certificate, error) {
	var c store.Certificate
	var serial, thumb, nb, na, issued sql.NullString
	var dns, created string
	if err := row.Scan(&c.ID, &c.AccountID, &c.OrderID, &c.Status, &serial, &thumb, &c.IssuerID, &c.CommonName, &dns, &c.CSR, &c.SignatureHash, &c.KeySize, &c.DER,
		&nb, &na, &created, &issued); err != nil {
		return nil, err
	}
	c.SerialNumber, c.Thumbprint = serial.String, thumb.String
	c.DNSNames = unjs[[]string](dns)
	if nb.Valid {
		c.NotBefore = parseTS(nb.String)
	}
	if na.Valid {
		c.NotAfter = parseTS(na.String)
	}
	c.CreatedAt = parseTS(created)
	c.IssuedAt = parseTSPtr(issued)
	return &c, nil
}

func (q *Queries) Certificate(ctx context.Context, accountID, id int64) (*store.Certificate, error) {
	c, err := scanCert(q.q.QueryRowContext(ctx, `SELECT `+certCols+` FROM certificates WHERE account_id = ? AND id = ?`, accountID, id))
	if err != nil {
		return nil, notFound(err, "certificate")
	}
	return c, nil
}

func (q *Queries) CertificateBySerial(ctx context.Context, accountID int64, serialHex string) (*store.Certificate, error) {
	c, err := scanCert(q.q.QueryRowContext(ctx, `SELECT `+certCols+` FROM certificates WHERE account_id = ? AND serial_number = ?`, accountID, strings.ToUpper(serialHex)))
	if err != nil {
		return nil, notFound(err, "certificate")
	}
	return c, nil
}

func (q *Queries) SerialExists(ctx context.Context, serialHex string) (bool, error) {
	var n int
	err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM serials WHERE serial_number = ?`, serialHex).Scan(&n)
	return n > 0, err
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const insertCertificate = `INSERT INTO certificates(account_id, order_id, status, serial_number, thumbprint, issuer_id, common_name, dns_names, csr,
		signature_hash, key_size, der, not_before, not_after, created_at, issued_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func certificateArgs(c *store.Certificate) []any {
	var nb, na any
	if !c.NotBefore.IsZero() {
		nb, na = ts(c.NotBefore), ts(c.NotAfter)
	}
	return []any{c.AccountID, c.OrderID, c.Status, nullStr(c.SerialNumber), nullStr(c.Thumbprint), c.IssuerID, c.CommonName, js(nonNil(c.DNSNames)), c.CSR,
		c.SignatureHash, c.KeySize, c.DER, nb, na, ts(c.CreatedAt), tsPtr(c.IssuedAt)}
}

func (q *Queries) CreateCertificate(ctx context.Context, c *store.Certificate) error {
	id, err := q.insert(ctx, "certificate", insertCertificate, certificateArgs(c)...)
	c.ID = id
	return err
}

// insertSerial reserves a serial for an order.
const insertSerial = `INSERT INTO serials(serial_number, order_id, reserved_at) VALUES (?,?,?)`

// The statement of CreateOrderCertificate where it is held back, built
// once: the certificate's insert with its id, the serial's reservation
// when asked, and the order's update.
var (
	insertCertificateWithID = strings.Replace(strings.Replace(insertCertificate,
		"certificates(account_id", "certificates(id, account_id", 1), "VALUES (", "VALUES (?,", 1)
	setOrderCertificateSQL  = `SELECT certorder_set_order_certificate(?, ?, ?)`
	heldOrderCertificate    = `WITH c AS (` + insertCertificateWithID + `) ` + setOrderCertificateSQL
	heldReservedCertificate = `WITH s AS (` + insertSerial + `), c AS (` + insertCertificateWithID + `) ` + setOrderCertificateSQL
)

// CreateOrderCertificate records c and makes it its order's certificate,
// reserving its serial when asked. Where the transaction takes ids ahead
// and holds writes back (PostgreSQL), all of it is held back as one
// statement: the certificate's id is taken ahead, and the order's update
// is certorder_set_order_certificate (migration 0039), which fails with
// store.ErrNotFound instead of updating no row.
func (q *Queries) CreateOrderCertificate(ctx context.Context, c *store.Certificate, reserve bool, at time.Time) error {
	t, l := q.q.idTaker(), q.q.laterExecer()
	if t == nil || l == nil {
		// SQLite: the statements one by one, which cost no round trips.
		if reserve {
			if err := q.ReserveSerialKeepingIntent(ctx, c.SerialNumber, c.OrderID, at); err != nil {
				return err
			}
		}
		if err := q.CreateCertificate(ctx, c); err != nil {
			return err
		}
		return q.SetOrderCertificate(ctx, c.AccountID, c.OrderID, c.ID)
	}
	id, err := q.q.takeID(t, "certificates")
	if err != nil {
		return err
	}
	query, args := heldOrderCertificate, append([]any{id}, certificateArgs(c)...)
	if reserve {
		query = heldReservedCertificate
		args = append([]any{c.SerialNumber, c.OrderID, ts(at)}, args...)
	}
	l.ExecLater("create order certificate", query, append(args, c.OrderID, c.AccountID, id)...)
	c.ID = id
	return nil
}

func (q *Queries) UpdateCertificate(ctx context.Context, c *store.Certificate) error {
	var nb, na any
	if !c.NotBefore.IsZero() {
		nb, na = ts(c.NotBefore), ts(c.NotAfter)
	}
	return q.exec(ctx, "update certificate", `UPDATE certificates SET status = ?, serial_number = ?, thumbprint = ?, issuer_id = ?, common_name = ?, dns_names = ?, csr = ?,
		signature_hash = ?, key_size = ?, der = ?, not_before = ?, not_after = ?, issued_at = ? WHERE id = ? AND account_id = ?`,
		c.Status, nullStr(c.SerialNumber), nullStr(c.Thumbprint), c.IssuerID, c.CommonName, js(nonNil(c.DNSNames)), c.CSR,
		c.SignatureHash, c.KeySize, c.DER, nb, na, tsPtr(c.IssuedAt), c.ID, c.AccountID)
}

func (q *Queries) ReserveSerial(ctx context.Context, serialHex string, orderID int64, at time.Time) error {
	if err := q.ReserveSerialKeepingIntent(ctx, serialHex, orderID, at); err != nil {
		return err
	}
	// The certificate is recorded in this transaction: its intent is done.
	return q.DeleteIssuanceIntent(ctx, serialHex)
}

func (q *Queries) ReserveSerialKeepingIntent(ctx context.Context, serialHex string, orderID int64, at time.Time) error {
	if _, err := q.q.ExecContext(ctx, insertSerial, serialHex, orderID, ts(at)); err != nil {
		return writeErr(err, "reserve serial")
	}
	return nil
}

// ---- metadata, audit

// metadataSQL reads an account's custom fields, which every order placed
// checks, through metadata_account.
const metadataSQL = `SELECT id, account_id, label, is_required, is_active, data_type FROM metadata WHERE account_id = ? ORDER BY id`

func (q *Queries) Metadata(ctx context.Context, accountID int64) ([]store.Metadata, error) {
	rows, err := q.q.QueryContext(ctx, metadataSQL, accountID)
	if err != nil {
		return nil, fmt.Errorf("list metadata: %w", err)
	}
	defer rows.Close()
	out := []store.Metadata{}
	for rows.Next() {
		var m store.Metadata
		var req, act int
		if err := rows.Scan(&m.ID, &m.AccountID, &m.Label, &req, &act, &m.DataType); err != nil {
			return nil, fmt.Errorf("scan metadata: %w", err)
		}
		m.IsRequired, m.IsActive = req != 0, act != 0
		out = append(out, m)
	}
	return out, rows.Err()
}

func (q *Queries) CreateMetadata(ctx context.Context, m *store.Metadata) error {
	id, err := q.insert(ctx, "metadata", `INSERT INTO metadata(account_id, label, is_required, is_active, data_type) VALUES (?,?,?,?,?)`,
		m.AccountID, m.Label, b2i(m.IsRequired), b2i(m.IsActive), m.DataType)
	m.ID = id
	return err
}

func (q *Queries) Audit(ctx context.Context, e *store.AuditEvent) error {
	if e.Detail == "" {
		e.Detail = "{}"
	}
	// Held back where the transaction can: nothing reads the event's id
	// (it stays 0 then), and its insert fails only with the transaction.
	return q.execLater(ctx, "insert audit event", `INSERT INTO audit_events(account_id, user_id, at, action, object, detail) VALUES (?,?,?,?,?,?)`,
		e.AccountID, e.UserID, ts(e.At), e.Action, e.Object, e.Detail)
}

func (q *Queries) AuditEvents(ctx context.Context, accountID int64, n int) ([]store.AuditEvent, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT id, account_id, user_id, at, action, object, detail FROM audit_events WHERE account_id = ? ORDER BY id DESC LIMIT ?`, accountID, limit(n))
	if err != nil {
		return nil, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	out := []store.AuditEvent{}
	for rows.Next() {
		var e store.AuditEvent
		var at string
		if err := rows.Scan(&e.ID, &e.AccountID, &e.UserID, &at, &e.Action, &e.Object, &e.Detail); err != nil {
			return nil, fmt.Errorf("scan audit event: %w", err)
		}
		e.At = parseTS(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
