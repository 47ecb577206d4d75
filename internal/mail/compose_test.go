package mail_test

import (
	"bytes"
	"context"
	"mime"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
)

// TestHeadersCannotBeInjected sends, through the queue and a real SMTP
// server, messages whose display names, subject and body carry CR, LF,
// quotes, commas, angle brackets and non-ASCII text, as a contact's name
// or an approver's comment may: each arrives to its one recipient with
// exactly the headers the composer writes, and every value decodes back
// to what it was.
func TestHeadersCannotBeInjected(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, toName, subject, body string
	}{
		{"CRLF and a Bcc in the name", "Mallory\r\nBcc: victim@example.net", "Zertifikat für www.example.com", "ok\n"},
		{"a lone LF and a header in the name", "Eve\nX-Injected: yes", "subject", "body\n"},
		{"quotes, comma and angle brackets", `Jane "JD" Doe, <boss@evil.example>`, `"quoted" subject, <x@y>`, "body\n"},
		{"non-ASCII everywhere", "Jürgen Müller 田中太郎", "Ihr Zertifikat für straße.example ist ausgestellt — 証明書", "Grüße, 您好\n"},
		{"an encoded word in the name", "=?utf-8?q?Bcc=3A_victim=40example=2Enet?=", "s", "body\n"},
		{"a comment that ends the body early", "Plain Name", "s", "first line\r\n.\r\nMAIL FROM:<evil@example.net>\r\nBcc: victim@example.net\r\n\r\nrest\n"},
	}
	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	from := `"Zertifikats-Stelle \"CA\", München" <ca@example.com>`
	relay, err := dcv.NewMailer(smtp.URL(), from, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	byRecipient := map[string]int{}
	rs := map[string]mail.Renderer{"hostile": func(_ context.Context, m *store.OutboxMail) (mail.Message, error) {
		c := cases[byRecipient[m.Recipient]]
		return mail.Message{Subject: c.subject, Body: c.body, HTML: "<p>" + c.body + "</p>", ToName: c.toName}, nil
	}}
	now := time.Now().UTC()
	for i := range cases {
		r := "rcpt" + string(rune('a'+i)) + "@example.org"
		byRecipient[r] = i
		m := &store.OutboxMail{AccountID: acct, Kind: "hostile", Recipient: r, Payload: "{}", MessageID: mail.NewMessageID(from), CreatedAt: now}
		if err := st.InTx(context.Background(), func(tx store.Tx) error { return mail.Enqueue(context.Background(), tx, m) }); err != nil {
			t.Fatal(err)
		}
	}
	q := &mail.Queue{Store: st, Relay: relay, Renderers: rs, Now: func() time.Time { return now }}
	if n := q.Round(context.Background()); n != len(cases) {
		t.Fatalf("round handled %d, want %d", n, len(cases))
	}
	if got := len(smtp.Messages()); got != len(cases) {
		t.Fatalf("relay got %d messages, want %d", got, len(cases))
	}
	allowed := map[string]bool{"From": true, "To": true, "Subject": true, "Date": true, "Message-Id": true, "Mime-Version": true,
		"Content-Type": true}
	for r, i := range byRecipient {
		c := cases[i]
		t.Run(c.name, func(t *testing.T) {
			got := smtp.WaitFor(t, r, time.Second)
			if len(got.To) != 1 || got.To[0] != r || got.From != "ca@example.com" {
				t.Fatalf("envelope %q -> %q, want ca@example.com -> %s", got.From, got.To, r)
			}
			if strings.Contains(strings.ReplaceAll(got.Data, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(got.Data, "\r\n", ""), "\r") {
				t.Fatalf("bare CR or LF in the message: %q", got.Data)
			}
			msg, err := netmail.ReadMessage(strings.NewReader(got.Data))
			if err != nil {
				t.Fatal(err)
			}
			for k := range msg.Header {
				if !allowed[k] {
					t.Errorf("unexpected header %s: %q", k, msg.Header[k])
				}
			}
			for k, v := range msg.Header {
				if len(v) != 1 {
					t.Errorf("header %s appears %d times", k, len(v))
				}
			}
			to, err := msg.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Address != r || to[0].Name != c.toName {
				t.Errorf("To = %q parsed as %+v (%v), want one address %s named %q", msg.Header.Get("To"), to, err, r, c.toName)
			}
			fromH, err := msg.Header.AddressList("From")
			if err != nil || len(fromH) != 1 || fromH[0].Address != "ca@example.com" || fromH[0].Name != `Zertifikats-Stelle "CA", München` {
				t.Errorf("From = %q parsed as %+v (%v)", msg.Header.Get("From"), fromH, err)
			}
			subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
			if err != nil || subject != c.subject {
				t.Errorf("Subject %q decodes to %q (%v), want %q", msg.Header.Get("Subject"), subject, err, c.subject)
			}
			if want := strings.ReplaceAll(c.body, "\r\n", "\n"); got.Text != want {
				t.Errorf("text = %q, want %q", got.Text, want)
			}
		})
	}
}

// TestComposeRefuses: an address no header may carry, a subject with a
// line break or a malformed Message-ID is refused, and the queue gives
// such a message up at once instead of retrying it.
func TestComposeRefuses(t *testing.T) {
	t.Parallel()
	ok := netmail.Address{Address: "a@example.com"}
	for _, c := range []struct {
		name string
		e    mail.Envelope
	}{
		{"CRLF in the address", mail.Envelope{From: ok, To: []netmail.Address{{Address: "a@example.com\r\nRCPT TO:<v@example.net>"}}}},
		{"two addresses in one", mail.Envelope{From: ok, To: []netmail.Address{{Address: "a@example.com, v@example.net"}}}},
		{"angle brackets in the address", mail.Envelope{From: ok, To: []netmail.Address{{Address: "<a@example.com>"}}}},
		{"LF in the subject", mail.Envelope{From: ok, To: []netmail.Address{ok}, Subject: "a\nBcc: v@example.net"}},
		{"no recipient", mail.Envelope{From: ok}},
		{"Message-ID with a line break", mail.Envelope{From: ok, To: []netmail.Address{ok}, MessageID: "x@y\r\nBcc: v@example.net"}},
	} {
		if _, err := mail.Compose(c.e, "body", "", nil); err == nil {
			t.Errorf("%s: composed", c.name)
		}
	}

	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	now := time.Now().UTC()
	m := &store.OutboxMail{AccountID: acct, Kind: "test", Recipient: "not an address", Payload: "0", MessageID: mail.NewMessageID("x@example.com"), CreatedAt: now}
	if err := st.InTx(context.Background(), func(tx store.Tx) error { return mail.Enqueue(context.Background(), tx, m) }); err != nil {
		t.Fatal(err)
	}
	q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: renderers, Now: func() time.Time { return now }}
	q.Round(context.Background())
	if left := unsent(t, st, now.Add(48*time.Hour)); len(left) != 0 {
		t.Fatalf("an unsendable message is still due: %+v", left)
	}
}

// TestAttachment: a message with an attachment is multipart/mixed, the
// text and HTML first (as multipart/alternative), the file after it; the
// file's name, even with quotes, non-ASCII and a path, arrives as one safe
// parameter and its content decodes to what was attached.
func TestAttachment(t *testing.T) {
	t.Parallel()
	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	now := time.Now().UTC()
	data := bytes.Repeat([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), 40)
	m := &store.OutboxMail{AccountID: acct, Kind: "att", Recipient: "a@example.com", Payload: "0", MessageID: mail.NewMessageID("x@example.com"), CreatedAt: now}
	if err := st.InTx(context.Background(), func(tx store.Tx) error { return mail.Enqueue(context.Background(), tx, m) }); err != nil {
		t.Fatal(err)
	}
	rs := map[string]mail.Renderer{"att": func(context.Context, *store.OutboxMail) (mail.Message, error) {
		return mail.Message{Subject: "s", Body: "text\n", HTML: "<p>html</p>\n",
			Attachments: []mail.Attachment{{Name: `../"straße".pem`, ContentType: "application/x-pem-file", Data: data}}}, nil
	}}
	q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: rs, Now: func() time.Time { return now }}
	q.Round(context.Background())
	got := smtp.WaitFor(t, "a@example.com", time.Second)
	msg, err := netmail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	if mt, _, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); mt != "multipart/mixed" {
		t.Errorf("Content-Type %q", msg.Header.Get("Content-Type"))
	}
	if got.Text != "text\n" || got.HTML != "<p>html</p>\n" {
		t.Errorf("text %q html %q", got.Text, got.HTML)
	}
	if len(got.Attachments) != 1 || got.Attachments[0].Name != `.._"straße".pem` || got.Attachments[0].ContentType != "application/x-pem-file" ||
		!bytes.Equal(got.Attachments[0].Data, data) {
		t.Errorf("attachments %+v", got.Attachments)
	}
}
