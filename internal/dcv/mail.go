package dcv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	outbox "github.com/certorder/certorder/internal/mail"
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
	from     string // as configured, maybe with a display name
	fromAddr string // its address: the envelope sender
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
	a, err := mail.ParseAddress(m.from)
	if err != nil || strings.ContainsAny(m.from, "\r\n") {
		return nil, fmt.Errorf("dcv: invalid sender address %q", m.from)
	}
	m.fromAddr = a.Address
	if m.timeout <= 0 {
		m.timeout = 30 * time.Second
	}
	return m, nil
}

// From is the configured sender, as given (it may carry a display name).
func (m *Mailer) From() string { return m.from }

// Send sends one text message to all recipients in one SMTP transaction,
// composed by mail.Compose (headers built by net/mail and mime, the body
// quoted-printable with CRLF line endings; net/smtp's Data writer
// dot-stuffs lines starting with ".").
func (m *Mailer) Send(ctx context.Context, to []string, subject, body string) error {
	if len(to) == 0 {
		return errors.New("dcv: send mail: no recipients")
	}
	from, err := mail.ParseAddress(m.from)
	if err != nil {
		return fmt.Errorf("dcv: send mail: sender: %w", err)
	}
	addrs := make([]mail.Address, len(to))
	rcpts := make([]string, len(to))
	for i, r := range to {
		if strings.ContainsAny(r, "\r\n") {
			return fmt.Errorf("dcv: send mail: recipient %q contains CR or LF", r)
		}
		a, err := mail.ParseAddress(r)
		if err != nil {
			return fmt.Errorf("dcv: send mail: invalid recipient %q: %w", r, err)
		}
		addrs[i], rcpts[i] = *a, a.Address
	}
	msg, err := outbox.Compose(outbox.Envelope{From: *from, To: addrs, Subject: subject}, body, "", nil)
	if err != nil {
		return fmt.Errorf("dcv: send mail: %w", err)
	}
	return m.Transmit(ctx, rcpts, msg)
}

// Transmit hands msg, a complete message, to the relay for the addresses
// to (bare addresses) in one SMTP transaction; the envelope sender is the
// address of From.
func (m *Mailer) Transmit(ctx context.Context, to []string, msg []byte) error {
	if len(to) == 0 {
		return errors.New("dcv: send mail: no recipients")
	}
	// CR or LF would let a value inject SMTP commands.
	for _, r := range to {
		if strings.ContainsAny(r, "\r\n<>") {
			return fmt.Errorf("dcv: send mail: recipient %q contains CR, LF or angle brackets", r)
		}
		if _, err := mail.ParseAddress(r); err != nil {
			return fmt.Errorf("dcv: send mail: invalid recipient %q: %w", r, err)
		}
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
	if err := m.transact(conn, tlsCfg, to, msg); err != nil {
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
	if err := c.Hello(outbox.Domain(m.from)); err != nil {
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
	if err := c.Mail(m.fromAddr); err != nil {
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
