package mail

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Attachment is a file carried by a message (the chain of an issued
// certificate).
type Attachment struct {
	// Name is the file name offered to the reader; any text is safe here:
	// it is encoded by the mime package, never written raw.
	Name        string
	ContentType string // e.g. application/x-pem-file
	Data        []byte
}

// Envelope is everything a composed message says besides its content.
type Envelope struct {
	From      netmail.Address
	To        []netmail.Address
	Subject   string
	MessageID string // addr-spec without angle brackets; empty makes one
	Date      time.Time
}

// Compose builds the RFC 5322 message (CRLF line endings) of e with a
// text body, an optional HTML twin and attachments. Every header is made
// by the standard library from structured values: addresses with display
// names by net/mail (quoted or RFC 2047 encoded as needed), the subject by
// mime.QEncoding, parameters by mime.FormatMediaType, so that no value,
// however it came to be (a contact's name, an order's comment), can end a
// header line and start another. The bodies are quoted-printable, so no
// line is too long for SMTP whatever the text.
//
// Structure: text/plain alone; multipart/alternative (text first, the form
// plain readers show) when there is HTML; both inside multipart/mixed, the
// attachments after them, when there are attachments.
func Compose(e Envelope, text, html string, atts []Attachment) ([]byte, error) {
	if len(e.To) == 0 {
		return nil, errors.New("mail: compose: no recipients")
	}
	for _, a := range append([]netmail.Address{e.From}, e.To...) {
		if err := checkAddrSpec(a.Address); err != nil {
			return nil, err
		}
	}
	if strings.ContainsAny(e.Subject, "\r\n") {
		return nil, errors.New("mail: compose: subject contains CR or LF")
	}
	id := e.MessageID
	if id == "" {
		id = NewMessageID(e.From.Address)
	}
	if strings.ContainsAny(id, "\r\n<> ") || !strings.Contains(id, "@") {
		return nil, fmt.Errorf("mail: compose: invalid Message-ID %q", id)
	}
	date := e.Date
	if date.IsZero() {
		date = time.Now()
	}
	h := textproto.MIMEHeader{}
	h.Set("From", e.From.String())
	to := make([]string, len(e.To))
	for i := range e.To {
		to[i] = e.To[i].String()
	}
	h.Set("To", strings.Join(to, ", "))
	h.Set("Subject", mime.QEncoding.Encode("utf-8", e.Subject))
	h.Set("Date", date.Format(time.RFC1123Z))
	h.Set("Message-ID", "<"+id+">")
	h.Set("MIME-Version", "1.0")

	var body bytes.Buffer
	content, ctype, err := alternative(text, html)
	if err != nil {
		return nil, err
	}
	if len(atts) == 0 {
		for k, v := range ctype {
			h[k] = v
		}
		body.Write(content)
	} else {
		w := multipart.NewWriter(&body)
		pw, err := w.CreatePart(ctype)
		if err != nil {
			return nil, err
		}
		if _, err := pw.Write(content); err != nil {
			return nil, err
		}
		for _, a := range atts {
			if err := attach(w, a); err != nil {
				return nil, err
			}
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		h.Set("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": w.Boundary()}))
	}
	var out bytes.Buffer
	for _, k := range []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"} {
		if v := h.Get(k); v != "" {
			out.WriteString(k + ": " + v + "\r\n")
		}
	}
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), nil
}

// checkAddrSpec refuses an address that could not be written safely into
// a header or an SMTP command: net/mail quotes a display name, but the
// address itself is written as it is.
func checkAddrSpec(a string) error {
	if a == "" || strings.ContainsAny(a, "\r\n<>, \t") {
		return fmt.Errorf("mail: compose: invalid address %q", a)
	}
	if _, err := netmail.ParseAddress(a); err != nil {
		return fmt.Errorf("mail: compose: invalid address %q: %w", a, err)
	}
	return nil
}

// alternative is the text part, or the multipart/alternative of text and
// HTML, with the header of its content.
func alternative(text, html string) ([]byte, textproto.MIMEHeader, error) {
	if html == "" {
		b, err := qp(text)
		return b, textproto.MIMEHeader{
			"Content-Type":              {"text/plain; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		}, err
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range []struct{ typ, content string }{{"text/plain", text}, {"text/html", html}} {
		pw, err := w.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, nil, err
		}
		b, err := qp(p.content)
		if err != nil {
			return nil, nil, err
		}
		if _, err := pw.Write(b); err != nil {
			return nil, nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), textproto.MIMEHeader{
		"Content-Type": {mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": w.Boundary()})},
	}, nil
}

// qp is s with CRLF line endings, quoted-printable.
func qp(s string) ([]byte, error) {
	var buf bytes.Buffer
	w := quotedprintable.NewWriter(&buf)
	if _, err := io.WriteString(w, crlf(s)); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// attach writes one attachment, base64 in lines of 76 characters.
func attach(w *multipart.Writer, a Attachment) error {
	ctype := a.ContentType
	if _, _, err := mime.ParseMediaType(ctype); err != nil || ctype == "" {
		ctype = "application/octet-stream"
	}
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' {
			return '_'
		}
		return r
	}, a.Name)
	if name == "" {
		name = "attachment"
	}
	pw, err := w.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {mime.FormatMediaType(ctype, map[string]string{"name": name})},
		"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": name})},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(a.Data)
	for len(enc) > 76 {
		if _, err := io.WriteString(pw, enc[:76]+"\r\n"); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err = io.WriteString(pw, enc+"\r\n")
	return err
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
	return hex.EncodeToString(id[:]) + "@" + Domain(from)
}

// Domain is the domain of address (which may carry a display name), or
// "localhost".
func Domain(address string) string {
	if a, err := netmail.ParseAddress(address); err == nil {
		if i := strings.LastIndex(a.Address, "@"); i >= 0 && i+1 < len(a.Address) {
			return a.Address[i+1:]
		}
	}
	return "localhost"
}
