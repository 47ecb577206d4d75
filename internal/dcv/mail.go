package dcv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// Mailer sends DCV messages through an SMTP relay given as a URL:
// smtp://[user:pass@]host:port (STARTTLS used when the server offers it, certificate
// verified unless the query ?insecure=1 is given), smtps://... (implicit TLS). PLAIN auth
// when userinfo is set.
type Mailer struct {
	addr     string // host:port
	host     string
	implicit bool // smtps
	insecure bool
	auth     smtp.Auth
	from     string
	timeout  time.Duration
}

// NewMailer parses rawURL. from defaults to "certorder@localhost", timeout to 30s.
func NewMailer(rawURL, from string, timeout time.Duration) (*Mailer, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("dcv: SMTP URL: %w", err)
	}
	m := &Mailer{from: from, timeout: timeout}
	switch strings.ToLower(u.Scheme) {
	case "smtp":
	case "smtps":
		m.implicit = true
	default:
		return nil, fmt.Errorf("dcv: SMTP URL %q: scheme must be smtp or smtps", u.Redacted())
	}
	m.host = u.Hostname()
	if m.host == "" {
		return nil, fmt.Errorf("dcv: SMTP URL %q has no host", u.Redacted())
	}
	port := u.Port()
	if port == "" {
		port = "25"
		if m.implicit {
			port = "465"
		}
	}
	m.addr = net.JoinHostPort(m.host, port)
	switch v := u.Query().Get("insecure"); v {
	case "", "0", "false":
	case "1", "true":
		m.insecure = true
	default:
		return nil, fmt.Errorf("dcv: SMTP URL: insecure=%q must be 1 or 0", v)
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		// net/smtp's PlainAuth refuses to send the password in clear except to localhost.
		m.auth = smtp.PlainAuth("", u.User.Username(), pass, m.host)
	}
	if m.from == "" {
		m.from = "certorder@localhost"
	}
	if _, err := mail.ParseAddress(m.from); err != nil || strings.ContainsAny(m.from, "\r\n") {
		return nil, fmt.Errorf("dcv: invalid sender address %q", m.from)
	}
	if m.timeout <= 0 {
		m.timeout = 30 * time.Second
	}
	return m, nil
}

// Send sends one message to all recipients in one SMTP transaction. The message has From,
// To, Subject, Date, Message-ID, MIME-Version and Content-Type: text/plain; charset=utf-8
// headers and CRLF line endings; net/smtp's Data writer dot-stuffs lines starting with ".".
func (m *Mailer) Send(ctx context.Context, to []string, subject, body string) error {
	return m.SendMessage(ctx, to, subject, body, "", "")
}

// SendMessage is Send with an optional HTML twin of the text body (the
// message is then multipart/alternative, text first) and the message's
// Message-ID (an addr-spec without the angle brackets): a message handed
// to the relay again after a crash keeps its identity, so that receivers
// can tell a repeat. Empty makes a random one.
func (m *Mailer) SendMessage(ctx context.Context, to []string, subject, body, html, messageID string) error {
	if len(to) == 0 {
		return errors.New("dcv: send mail: no recipients")
	}
	// CR or LF would let a value inject headers or SMTP commands.
	if strings.ContainsAny(subject, "\r\n") {
		return errors.New("dcv: send mail: subject contains CR or LF")
	}
	rcpts := make([]string, len(to))
	for i, r := range to {
		if strings.ContainsAny(r, "\r\n") {
			return fmt.Errorf("dcv: send mail: recipient %q contains CR or LF", r)
		}
		a, err := mail.ParseAddress(r)
		if err != nil {
			return fmt.Errorf("dcv: send mail: invalid recipient %q: %w", r, err)
		}
		rcpts[i] = a.Address
	}
	if strings.ContainsAny(messageID, "\r\n<> ") {
		return fmt.Errorf("dcv: send mail: invalid Message-ID %q", messageID)
	}
	msg, err := m.buildMessage(rcpts, subject, body, html, messageID)
	if err != nil {
		return fmt.Errorf("dcv: send mail: %w", err)
	}

	deadline := time.Now().Add(m.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	dialer := &net.Dialer{Deadline: deadline}
	conn, err := dialer.DialContext(ctx, "tcp", m.addr)
	if err != nil {
		return fmt.Errorf("dcv: send mail: connecting to %s: %w", m.addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("dcv: send mail: %w", err)
	}
	// Cancelling ctx aborts a transaction in progress.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()

	tlsCfg := &tls.Config{ServerName: m.host, InsecureSkipVerify: m.insecure} //nolint:gosec // opt-in via ?insecure=1
	if m.implicit {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("dcv: send mail: TLS with %s: %w", m.addr, err)
		}
		conn = tc
	}
	if err := m.transact(conn, tlsCfg, rcpts, msg); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("dcv: send mail via %s: %w (%v)", m.addr, ctx.Err(), err)
		}
		return fmt.Errorf("dcv: send mail via %s: %w", m.addr, err)
	}
	return nil
}

func (m *Mailer) transact(conn net.Conn, tlsCfg *tls.Config, rcpts []string, msg []byte) error {
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello(helloName(m.from)); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if !m.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		}
	}
	if m.auth != nil {
		if err := c.Auth(m.auth); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(m.from); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("writing message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("ending message: %w", err)
	}
	return c.Quit()
}

// helloName is the domain of the sender, a better EHLO name than net/smtp's "localhost".
func helloName(from string) string {
	if a, err := mail.ParseAddress(from); err == nil {
		if i := strings.LastIndex(a.Address, "@"); i >= 0 && i+1 < len(a.Address) {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}

func (m *Mailer) buildMessage(to []string, subject, body, html, messageID string) ([]byte, error) {
	if messageID == "" {
		messageID = NewMessageID(m.from)
	}
	var b strings.Builder
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", m.from)
	hdr("To", strings.Join(to, ", "))
	// Encoded only when not plain ASCII.
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", time.Now().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+messageID+">")
	hdr("MIME-Version", "1.0")
	if html == "" {
		hdr("Content-Type", "text/plain; charset=utf-8")
		hdr("Content-Transfer-Encoding", "8bit")
		b.WriteString("\r\n")
		b.WriteString(crlf(body))
		return []byte(b.String()), nil
	}
	// multipart/alternative, built by the mime packages: the text part
	// first (what plain readers show), the HTML part last (preferred by
	// readers that can), each quoted-printable so that no line is too
	// long for SMTP.
	var parts bytes.Buffer
	w := multipart.NewWriter(&parts)
	for _, p := range []struct{ typ, content string }{{"text/plain", body}, {"text/html", html}} {
		pw, err := w.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(crlf(p.content))); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	hdr("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": w.Boundary()}))
	b.WriteString("\r\n")
	b.WriteString(parts.String())
	return []byte(b.String()), nil
}

// crlf normalizes every line ending to CRLF, as SMTP requires, and ends
// the text with one.
func crlf(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\n", "\r\n")
	if !strings.HasSuffix(s, "\r\n") {
		s += "\r\n"
	}
	return s
}

// NewMessageID is a fresh Message-ID (without angle brackets) in the
// domain of the sender address from.
func NewMessageID(from string) string {
	var id [12]byte
	_, _ = rand.Read(id[:])
	return hex.EncodeToString(id[:]) + "@" + helloName(from)
}
