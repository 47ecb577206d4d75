package notify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
)

// Every event method below runs inside the transaction of its event and
// writes only outbox rows; the caller kicks the sender (Kick) once the
// transaction has committed.

// RequestPending queues "a request waits for your approval" (CertCentral's
// order confirmation mail) about request r of order o. skipUser is the
// first approver of a two-step request now waiting for its second
// approval, who may not give it.
func (n *Notifier) RequestPending(ctx context.Context, tx store.Tx, o *store.Order, r *store.Request, skipUser int64, now time.Time) error {
	if !n.Enabled() {
		return nil
	}
	d, err := n.requestData(ctx, tx, o, r)
	if err != nil {
		return err
	}
	d.SecondApproval = r.Status == store.RequestPending && r.ReviewerID != 0
	to, err := n.recipients(ctx, tx, o, account.SettingConfirmation, skipUser)
	if err != nil {
		return err
	}
	return n.queue(ctx, tx, now, KindRequestPending, o, to, d)
}

// RequestDecided queues the approval or the rejection of request r (with
// the approver's comment) to the people the account's settings name.
func (n *Notifier) RequestDecided(ctx context.Context, tx store.Tx, o *store.Order, r *store.Request, now time.Time) error {
	if !n.Enabled() {
		return nil
	}
	kind, setting := KindRequestApproved, account.SettingApproval
	switch r.Status {
	case store.RequestApproved:
	case store.RequestRejected:
		kind, setting = KindRequestRejected, account.SettingRejection
	default:
		return nil
	}
	d, err := n.requestData(ctx, tx, o, r)
	if err != nil {
		return err
	}
	to, err := n.recipients(ctx, tx, o, setting, 0)
	if err != nil {
		return err
	}
	return n.queue(ctx, tx, now, kind, o, to, d)
}

func (n *Notifier) requestData(ctx context.Context, tx store.Tx, o *store.Order, r *store.Request) (RequestMail, error) {
	d := RequestMail{Order: n.OrderData(o), RequestID: r.ID, RequestType: r.Type, Comments: r.Comments,
		ProcessorComment: r.ProcessorComment, RequestURL: n.apiURL(fmt.Sprintf("/request/%d", r.ID))}
	var err error
	if d.Requester, err = userName(ctx, tx, o.AccountID, r.RequesterID); err != nil {
		return d, err
	}
	if d.Processor, err = userName(ctx, tx, o.AccountID, r.ProcessorID); err != nil {
		return d, err
	}
	return d, nil
}

func userName(ctx context.Context, tx store.Reader, acct, id int64) (string, error) {
	if id == 0 {
		return "", nil
	}
	u, err := tx.User(ctx, acct, id)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return fullName(u.FirstName, u.LastName), nil
}

// recipients reads the account's settings inside tx (they may have
// changed since the caller's account was read) and lists the recipients
// of setting.
func (n *Notifier) recipients(ctx context.Context, tx store.Tx, o *store.Order, setting string, skipUser int64) ([]Recipient, error) {
	acct, err := tx.Account(ctx, o.AccountID)
	if err != nil {
		return nil, err
	}
	return Recipients(ctx, tx, acct, o, setting, skipUser)
}

// recipientsOf is recipients with the account's settings as acct holds
// them; nil reads them in tx.
func (n *Notifier) recipientsOf(ctx context.Context, tx store.Tx, acct *store.Account, o *store.Order, setting string) ([]Recipient, error) {
	if acct == nil || acct.ID != o.AccountID {
		return n.recipients(ctx, tx, o, setting, 0)
	}
	return Recipients(ctx, tx, acct, o, setting, 0)
}

// IssuedKind is the mail kind of a certificate issued as what (a first
// certificate, store.CertKindReissue or store.CertKindDuplicate).
func IssuedKind(certKind string) string {
	switch certKind {
	case store.CertKindReissue:
		return KindReissueIssued
	case store.CertKindDuplicate:
		return KindDuplicateIssued
	}
	return KindCertificateIssued
}

// Issued queues the mail of a certificate issued for order o: links to
// download it and, attached when the message is sent, its chain as a PEM
// file. CertCentral sends certificate issued mail for new, renewed,
// reissued and duplicate certificates, with a copy of the certificate.
func (n *Notifier) Issued(ctx context.Context, tx store.Tx, o *store.Order, c *store.Certificate, certKind string, now time.Time) error {
	return n.IssuedFor(ctx, tx, nil, o, c, certKind, now)
}

// IssuedFor is Issued with the account's recipient settings as acct holds
// them, read by the caller moments before (with the credentials of the
// request that placed the order): the order's own transaction then reads
// nothing more for an account that mails nobody, which on PostgreSQL is a
// round trip fewer under the write lock. The mail goes as the settings
// stood when the request came, as if it had come a moment sooner. nil
// (or another account's) reads them in tx.
func (n *Notifier) IssuedFor(ctx context.Context, tx store.Tx, acct *store.Account, o *store.Order, c *store.Certificate, certKind string, now time.Time) error {
	if !n.Enabled() {
		return nil
	}
	to, err := n.recipientsOf(ctx, tx, acct, o, account.SettingApproval)
	if err != nil {
		return err
	}
	if len(to) == 0 {
		return nil
	}
	d := IssuedMail{Order: n.OrderData(o), CertificateID: c.ID, SerialNumber: c.SerialNumber,
		ValidFrom: c.NotBefore.UTC().Format(time.DateOnly), ValidTill: c.NotAfter.UTC().Format(time.DateOnly),
		DownloadURL:      n.apiURL(fmt.Sprintf("/certificate/%d/download/format/pem_all", c.ID)),
		OrderDownloadURL: n.apiURL(fmt.Sprintf("/certificate/download/order/%d", o.ID)),
		Attachment:       AttachmentName(c.CommonName, c.ID)}
	if n.Chain == nil {
		d.Attachment = ""
	}
	if c.CommonName != "" && c.CommonName != o.CommonName || len(c.DNSNames) > 0 {
		// A reissue may name other names than the order did.
		names := []string{}
		if c.CommonName != "" {
			names = append(names, c.CommonName)
		}
		for _, v := range c.DNSNames {
			if !strings.EqualFold(v, c.CommonName) {
				names = append(names, v)
			}
		}
		d.CommonName = c.CommonName
		d.Names, d.MoreNames = Truncate(names)
	}
	return n.queue(ctx, tx, now, IssuedKind(certKind), o, to, d)
}

// AttachmentName is the file name of a certificate's chain: its common
// name made safe for a file name ("*.example.com" is
// "star_example_com.pem"), or the certificate id.
func AttachmentName(cn string, certID int64) string {
	cn = strings.Replace(cn, "*", "star", 1)
	var b strings.Builder
	for _, r := range cn {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), "_")
	if name == "" || len(name) > 64 {
		name = fmt.Sprintf("certificate_%d", certID)
	}
	return name + ".pem"
}

// Revoked queues the mail of certificates of order o revoked (with the
// reason and the requester's comments).
func (n *Notifier) Revoked(ctx context.Context, tx store.Tx, o *store.Order, certs []*store.Certificate,
	reason, comments string, now time.Time) error {
	if !n.Enabled() {
		return nil
	}
	d := RevokedMail{Order: n.OrderData(o), Reason: reason, Comments: comments, RevokedAt: now.UTC().Format("2006-01-02 15:04") + " UTC",
		OrderRevoked: o.Status == store.OrderRevoked}
	for _, c := range certs {
		d.Serials = append(d.Serials, c.SerialNumber)
	}
	to, err := n.recipients(ctx, tx, o, account.SettingApproval, 0)
	if err != nil {
		return err
	}
	return n.queue(ctx, tx, now, KindCertificateRevoked, o, to, d)
}

// Render makes an event's message when it is sent. A "waiting for
// approval" message whose request was decided (or is gone) meanwhile is
// dropped: it would ask for what is done. An issued certificate's chain is
// read and attached.
func (n *Notifier) Render(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	var (
		data         any
		locale, name string
		err          error
		attach       func(*mail.Message) error
	)
	switch m.Kind {
	case KindRequestPending, KindRequestApproved, KindRequestRejected:
		var d RequestMail
		if locale, name, err = Payload(m, &d); err != nil {
			return mail.Message{}, err
		}
		if m.Kind == KindRequestPending {
			r, err := n.Store.Request(ctx, m.AccountID, d.RequestID)
			if errors.Is(err, store.ErrNotFound) || err == nil && r.Status != store.RequestSubmitted && r.Status != store.RequestPending {
				return mail.Message{}, mail.ErrDrop
			}
			if err != nil {
				return mail.Message{}, err
			}
		}
		data = d
	case KindCertificateIssued, KindReissueIssued, KindDuplicateIssued:
		var d IssuedMail
		if locale, name, err = Payload(m, &d); err != nil {
			return mail.Message{}, err
		}
		data = d
		if d.Attachment != "" && n.Chain != nil {
			attach = func(msg *mail.Message) error {
				pem, err := n.Chain(ctx, m.AccountID, d.CertificateID)
				if err != nil {
					return fmt.Errorf("%s mail %d: chain of certificate %d: %w", m.Kind, m.ID, d.CertificateID, err)
				}
				msg.Attachments = append(msg.Attachments, mail.Attachment{Name: d.Attachment, ContentType: "application/x-pem-file", Data: pem})
				return nil
			}
		}
	case KindCertificateRevoked:
		var d RevokedMail
		if locale, name, err = Payload(m, &d); err != nil {
			return mail.Message{}, err
		}
		data = d
	default:
		return mail.Message{}, fmt.Errorf("notify: no renderer for kind %q", m.Kind)
	}
	msg, err := n.Templates.Render(m.Kind, locale, data)
	if err != nil {
		return mail.Message{}, err
	}
	msg.ToName = name
	if attach != nil {
		if err := attach(&msg); err != nil {
			return mail.Message{}, err
		}
	}
	return msg, nil
}
