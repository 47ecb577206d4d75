package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/store"
)

func (q *Queries) Credential(ctx context.Context, accountID, userID int64) (*store.Credential, error) {
	var c store.Credential
	var updated string
	var enabled int
	err := q.q.QueryRowContext(ctx, `SELECT user_id, account_id, password_hash, totp_seed, totp_enabled, totp_last_step, updated_at
		FROM user_credentials WHERE account_id = ? AND user_id = ?`, accountID, userID).
		Scan(&c.UserID, &c.AccountID, &c.PasswordHash, &c.TOTPSeed, &enabled, &c.TOTPLastStep, &updated)
	if err != nil {
		return nil, notFound(err, "credential")
	}
	c.TOTPEnabled, c.UpdatedAt = enabled != 0, parseTS(updated)
	return &c, nil
}

func (q *Queries) PutCredential(ctx context.Context, c *store.Credential) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO user_credentials(user_id, account_id, password_hash, totp_seed, totp_enabled, totp_last_step, updated_at)
		VALUES (?,?,?,?,?,?,?)
		ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, totp_seed = excluded.totp_seed,
			totp_enabled = excluded.totp_enabled, totp_last_step = excluded.totp_last_step, updated_at = excluded.updated_at`,
		c.UserID, c.AccountID, c.PasswordHash, c.TOTPSeed, b2i(c.TOTPEnabled), c.TOTPLastStep, ts(c.UpdatedAt))
	return writeErr(err, "put credential")
}

func (q *Queries) UseTOTPStep(ctx context.Context, accountID, userID, step int64) (bool, error) {
	res, err := q.q.ExecContext(ctx, `UPDATE user_credentials SET totp_last_step = ?
		WHERE account_id = ? AND user_id = ? AND totp_last_step < ?`, step, accountID, userID, step)
	if err != nil {
		return false, writeErr(err, "use totp step")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, writeErr(err, "use totp step")
	}
	return n == 1, nil
}

const sessionCols = `id, account_id, user_id, token_hash, second_factor, created_at, expires_at, last_seen_at, ended_at`

func (q *Queries) SessionByHash(ctx context.Context, hash []byte) (*store.Session, error) {
	var s store.Session
	var second int
	var created, expires, seen string
	var ended sql.NullString
	err := q.q.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM console_sessions WHERE token_hash = ?`, hash).
		Scan(&s.ID, &s.AccountID, &s.UserID, &s.TokenHash, &second, &created, &expires, &seen, &ended)
	if err != nil {
		return nil, notFound(err, "session")
	}
	s.SecondFactor = second != 0
	s.CreatedAt, s.ExpiresAt, s.LastSeenAt, s.EndedAt = parseTS(created), parseTS(expires), parseTS(seen), parseTSPtr(ended)
	return &s, nil
}

func (q *Queries) CreateSession(ctx context.Context, s *store.Session) error {
	id, err := q.insert(ctx, "session", `INSERT INTO console_sessions(account_id, user_id, token_hash, second_factor, created_at, expires_at, last_seen_at, ended_at)
		VALUES (?,?,?,?,?,?,?,?)`,
		s.AccountID, s.UserID, s.TokenHash, b2i(s.SecondFactor), ts(s.CreatedAt), ts(s.ExpiresAt), ts(s.LastSeenAt), tsPtr(s.EndedAt))
	if err != nil {
		return err
	}
	s.ID = id
	return nil
}

func (q *Queries) TouchSession(ctx context.Context, id int64, at time.Time) error {
	return q.exec(ctx, "touch session", `UPDATE console_sessions SET last_seen_at = ? WHERE id = ? AND ended_at IS NULL`, ts(at), id)
}

func (q *Queries) CompleteSession(ctx context.Context, id int64) error {
	return q.exec(ctx, "complete session", `UPDATE console_sessions SET second_factor = 1 WHERE id = ? AND ended_at IS NULL`, id)
}

func (q *Queries) EndSession(ctx context.Context, id int64, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE console_sessions SET ended_at = ? WHERE id = ? AND ended_at IS NULL`, ts(at), id)
	return writeErr(err, "end session")
}

func (q *Queries) EndUserSessions(ctx context.Context, accountID, userID, keep int64, at time.Time) error {
	_, err := q.q.ExecContext(ctx, `UPDATE console_sessions SET ended_at = ?
		WHERE account_id = ? AND user_id = ? AND id <> ? AND ended_at IS NULL`, ts(at), accountID, userID, keep)
	return writeErr(err, "end user sessions")
}

// signInName is the key of a name's failures: usernames are compared
// without case, as people type them.
func signInName(username string) string { return strings.ToLower(strings.TrimSpace(username)) }

func (q *Queries) SignInFailures(ctx context.Context, username string) (int, time.Time, error) {
	var n int
	var last string
	err := q.q.QueryRowContext(ctx, `SELECT failures, last_at FROM signin_failures WHERE username = ?`, signInName(username)).Scan(&n, &last)
	if err == sql.ErrNoRows {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("read sign-in failures: %w", err)
	}
	return n, parseTS(last), nil
}

func (q *Queries) CountSignInAttempt(ctx context.Context, username string, seen int, seenAt, at, forget time.Time) (bool, error) {
	name := signInName(username)
	if _, err := q.q.ExecContext(ctx, `DELETE FROM signin_failures WHERE last_at < ?`, ts(forget)); err != nil {
		return false, writeErr(err, "forget sign-in failures")
	}
	// A compare-and-set on the row as it was read: no row (nothing
	// counted, or forgotten or cleared since) inserts; a row counts on
	// only while it holds what was read.
	res, err := q.q.ExecContext(ctx, `INSERT INTO signin_failures(username, failures, last_at) VALUES (?, 1, ?)
		ON CONFLICT (username) DO UPDATE SET failures = signin_failures.failures + 1, last_at = excluded.last_at
		WHERE signin_failures.failures = ? AND signin_failures.last_at = ?`, name, ts(at), seen, ts(seenAt))
	if err != nil {
		return false, writeErr(err, "count sign-in attempt")
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, writeErr(err, "count sign-in attempt")
	}
	return n == 1, nil
}

func (q *Queries) ClearSignInFailures(ctx context.Context, username string) error {
	_, err := q.q.ExecContext(ctx, `DELETE FROM signin_failures WHERE username = ?`, signInName(username))
	return writeErr(err, "clear sign-in failures")
}

func (q *Queries) AuditLog(ctx context.Context, accountID int64, f store.AuditFilter, page store.Page) ([]store.AuditEvent, int, error) {
	where := []string{"account_id = ?"}
	args := []any{accountID}
	if f.UserID != 0 {
		where, args = append(where, "user_id = ?"), append(args, f.UserID)
	}
	if a := strings.TrimSpace(f.Action); strings.HasSuffix(a, ".") {
		where, args = append(where, "substr(action, 1, ?) = ?"), append(args, len(a), a)
	} else if a != "" {
		where, args = append(where, "action = ?"), append(args, a)
	}
	if f.Object != "" {
		where, args = append(where, "object = ?"), append(args, f.Object)
	}
	if !f.At.From.IsZero() {
		where, args = append(where, "at >= ?"), append(args, ts(f.At.From))
	}
	if !f.At.To.IsZero() {
		where, args = append(where, "at < ?"), append(args, ts(f.At.To))
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := q.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM audit_events WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count audit events: %w", err)
	}
	rows, err := q.q.QueryContext(ctx, `SELECT id, account_id, user_id, at, action, object, detail FROM audit_events
		WHERE `+cond+` ORDER BY id DESC LIMIT ? OFFSET ?`, append(args, limit(page.Limit), page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	out := []store.AuditEvent{}
	for rows.Next() {
		var e store.AuditEvent
		var at string
		if err := rows.Scan(&e.ID, &e.AccountID, &e.UserID, &at, &e.Action, &e.Object, &e.Detail); err != nil {
			return nil, 0, fmt.Errorf("scan audit event: %w", err)
		}
		e.At = parseTS(at)
		out = append(out, e)
	}
	return out, total, rows.Err()
}
