package sqldb

// Issue 4, order operations: reissue and duplicate links, the status-change
// list, and the list filters of spec §2.3 and §3.2 beyond the first ones.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/store"
)

const linkCols = `certificate_id, account_id, order_id, kind, request_id, user_id, sub_id, server_platform_id, ca_cert_id,
	emails, ip_addresses, cert_valid_till, replaces_certificate_id, created_at`

// linkDest returns the scan destinations of linkCols and a function that
// finishes the decoding once the row is scanned.
func linkDest(l *store.CertificateLink) ([]any, func()) {
	var emails, ips, till, created string
	dest := []any{&l.CertificateID, &l.AccountID, &l.OrderID, &l.Kind, &l.RequestID, &l.UserID, &l.SubID, &l.ServerPlatformID, &l.CACertID,
		&emails, &ips, &till, &l.ReplacesCertificateID, &created}
	return dest, func() {
		l.Emails = unjs[[]string](emails)
		l.IPAddresses = unjs[[]string](ips)
		l.CertValidTill = parseTS(till)
		l.CreatedAt = parseTS(created)
	}
}

func (q *Queries) CreateCertificateLink(ctx context.Context, l *store.CertificateLink) error {
	_, err := q.q.ExecContext(ctx, `INSERT INTO order_certificates(`+linkCols+`) VALUES (`+placeholders(14)+`)`,
		l.CertificateID, l.AccountID, l.OrderID, l.Kind, l.RequestID, l.UserID, l.SubID, l.ServerPlatformID, l.CACertID,
		js(nonNil(l.Emails)), js(nonNil(l.IPAddresses)), tsOrEmpty(l.CertValidTill), l.ReplacesCertificateID, ts(l.CreatedAt))
	return writeErr(err, "insert certificate link")
}

func (q *Queries) scanLink(row *row) (*store.CertificateLink, error) {
	var l store.CertificateLink
	dest, finish := linkDest(&l)
	if err := row.Scan(dest...); err != nil {
		return nil, notFound(err, "certificate link")
	}
	finish()
	return &l, nil
}

func (q *Queries) CertificateLink(ctx context.Context, accountID, certificateID int64) (*store.CertificateLink, error) {
	return q.scanLink(q.q.QueryRowContext(ctx, `SELECT `+linkCols+` FROM order_certificates WHERE account_id = ? AND certificate_id = ?`,
		accountID, certificateID))
}

func (q *Queries) CertificateLinkByRequest(ctx context.Context, accountID, requestID int64) (*store.CertificateLink, error) {
	return q.scanLink(q.q.QueryRowContext(ctx, `SELECT `+linkCols+` FROM order_certificates WHERE account_id = ? AND request_id = ? AND request_id <> 0`,
		accountID, requestID))
}

// extraScan appends further destinations to a row's Scan, so that
// scanCert reads a certificate joined with more columns.
type extraScan struct {
	row   interface{ Scan(...any) error }
	extra []any
}

func (e extraScan) Scan(dest ...any) error { return e.row.Scan(append(dest, e.extra...)...) }

func (q *Queries) LinkedCertificates(ctx context.Context, accountID, orderID int64, kind string) ([]store.LinkedCertificate, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT `+prefixCols(certCols, "c.")+`, `+prefixCols(linkCols, "l.")+`
		FROM certificates c JOIN order_certificates l ON l.certificate_id = c.id
		WHERE l.account_id = ? AND l.order_id = ? AND l.kind = ? ORDER BY c.id`, accountID, orderID, kind)
	if err != nil {
		return nil, fmt.Errorf("list %s certificates: %w", kind, err)
	}
	defer rows.Close()
	out := []store.LinkedCertificate{}
	for rows.Next() {
		var lc store.LinkedCertificate
		dest, finish := linkDest(&lc.Link)
		c, err := scanCert(extraScan{row: rows, extra: dest})
		if err != nil {
			return nil, fmt.Errorf("scan %s certificate: %w", kind, err)
		}
		finish()
		lc.Certificate = *c
		out = append(out, lc)
	}
	return out, rows.Err()
}

func (q *Queries) StatusChanges(ctx context.Context, accountID int64, from, to time.Time) ([]store.OrderStatusChange, error) {
	rows, err := q.q.QueryContext(ctx, `SELECT s.order_id, o.certificate_id, s.status, s.changed_at
		FROM order_status_changes s JOIN orders o ON o.id = s.order_id
		WHERE s.account_id = ? AND s.changed_at >= ? AND s.changed_at < ?
		  AND s.id = (SELECT s2.id FROM order_status_changes s2 WHERE s2.order_id = s.order_id ORDER BY s2.changed_at DESC, s2.id DESC LIMIT 1)
		ORDER BY s.changed_at, s.id`, accountID, ts(from), ts(to))
	if err != nil {
		return nil, fmt.Errorf("list status changes: %w", err)
	}
	defer rows.Close()
	out := []store.OrderStatusChange{}
	for rows.Next() {
		var c store.OrderStatusChange
		var at string
		if err := rows.Scan(&c.OrderID, &c.CertificateID, &c.Status, &at); err != nil {
			return nil, fmt.Errorf("scan status change: %w", err)
		}
		c.At = parseTS(at)
		out = append(out, c)
	}
	return out, rows.Err()
}

// rangeWhere adds the bounds of r on col.
func rangeWhere(where *[]string, args *[]any, col string, r store.TimeRange) {
	if !r.From.IsZero() {
		*where = append(*where, col+" >= ?")
		*args = append(*args, ts(r.From))
	}
	if !r.To.IsZero() {
		*where = append(*where, col+" < ?")
		*args = append(*args, ts(r.To))
	}
}

// orderFilterWhere adds the filters of issue 4 to the orders list query
// (which reads FROM orders without an alias).
func orderFilterWhere(d *Dialect, where *[]string, args *[]any, f store.OrderFilter) {
	add := func(cond string, v ...any) { *where = append(*where, cond); *args = append(*args, v...) }
	if f.UserID != 0 {
		add("orders.user_id = ?", f.UserID)
	}
	if f.CertificateID != 0 {
		add("orders.certificate_id = ?", f.CertificateID)
	}
	if f.SerialNumber != "" {
		add("orders.certificate_id IN (SELECT id FROM certificates WHERE account_id = orders.account_id AND serial_number = ?)",
			strings.ToUpper(strings.ReplaceAll(f.SerialNumber, ":", "")))
	}
	if f.DomainName != "" {
		add("(lower(orders.common_name) = lower(?) OR EXISTS (SELECT 1 FROM "+d.textArray("orders.dns_names")+" WHERE lower(value) = lower(?)))",
			f.DomainName, f.DomainName)
	}
	if f.Email != "" {
		add(`EXISTS (SELECT 1 FROM `+d.textArray("orders.emails")+` WHERE lower(value) = lower(?)
			UNION ALL SELECT 1 FROM `+d.textArray("orders.additional_emails")+` WHERE lower(value) = lower(?))`, f.Email, f.Email)
	}
	if f.MetadataID != 0 {
		add("EXISTS (SELECT 1 FROM "+d.objectArray("orders.custom_fields")+" WHERE "+d.field("metadata_id")+" = ?)", strconv.FormatInt(f.MetadataID, 10))
	}
	if f.IsRenewed != nil {
		add("orders.is_renewed = ?", b2i(*f.IsRenewed))
	}
	if f.DisableRenewalNotifications != nil {
		add("orders.disable_renewal_notifications = ?", b2i(*f.DisableRenewalNotifications))
	}
	if !f.ValidTill.IsZero() {
		rangeWhere(where, args, "(SELECT not_after FROM certificates WHERE id = orders.certificate_id)", f.ValidTill)
	}
	rangeWhere(where, args, "orders.created_at", f.DateCreated)
}

// requestFilterWhere adds the filters of issue 4 to the requests list
// query (requests r JOIN orders o).
func requestFilterWhere(d *Dialect, where *[]string, args *[]any, f store.RequestFilter) {
	if f.MetadataID != 0 {
		cond := "EXISTS (SELECT 1 FROM " + d.objectArray("o.custom_fields") + " WHERE " + d.field("metadata_id") + " = ?"
		*args = append(*args, strconv.FormatInt(f.MetadataID, 10))
		if f.MetadataValue != "" {
			cond += " AND " + d.field("value") + " = ?"
			*args = append(*args, f.MetadataValue)
		}
		*where = append(*where, cond+")")
	} else if f.MetadataValue != "" {
		*where = append(*where, "EXISTS (SELECT 1 FROM "+d.objectArray("o.custom_fields")+" WHERE "+d.field("value")+" = ?)")
		*args = append(*args, f.MetadataValue)
	}
	rangeWhere(where, args, "r.date", f.Date)
}
