package dcv

import (
	"context"
	"net"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
)

func TestMailerSend(t *testing.T) {
	s := dcvtest.StartSMTP(t)
	m, err := NewMailer(s.URL(), "dcv@ca.example", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	body := "Approve at https://ca.example/approve/xyz\n.hidden line\n..two dots\r\nlast"
	to := []string{"admin@example.com", "hostmaster@example.com"}
	if err := m.Send(context.Background(), to, "Domain validation for example.com — approve", body); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := s.WaitFor(t, "hostmaster@example.com", 2*time.Second)
	if got.From != "dcv@ca.example" || !slices.Equal(got.To, to) {
		t.Errorf("envelope = %q -> %q", got.From, got.To)
	}
	if got.Subject != "Domain validation for example.com — approve" {
		t.Errorf("Subject = %q", got.Subject)
	}
	// Dot-stuffing by net/smtp and unstuffing by the sink round-trip lines
	// starting with "." (quoted-printable leaves them as they are).
	if want := "Approve at https://ca.example/approve/xyz\r\n.hidden line\r\n..two dots\r\nlast\r\n"; got.Body != want {
		t.Errorf("Body = %q, want %q", got.Body, want)
	}
	if strings.Contains(strings.ReplaceAll(got.Data, "\r\n", ""), "\n") || strings.Contains(strings.ReplaceAll(got.Data, "\r\n", ""), "\r") {
		t.Errorf("Data has bare CR or LF: %q", got.Data)
	}
	msg, err := mail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatalf("parsing received message: %v", err)
	}
	for k, want := range map[string]string{"From": "dcv@ca.example", "To": "admin@example.com, hostmaster@example.com"} {
		list, err := msg.Header.AddressList(k)
		var got []string
		for _, a := range list {
			got = append(got, a.Address)
		}
		if err != nil || strings.Join(got, ", ") != want {
			t.Errorf("header %s = %q (%v), want %q", k, msg.Header.Get(k), err, want)
		}
	}
	for k, want := range map[string]string{
		"MIME-Version": "1.0", "Content-Type": "text/plain; charset=utf-8", "Content-Transfer-Encoding": "quoted-printable",
	} {
		if v := msg.Header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date header: %v", err)
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@ca.example>") {
		t.Errorf("Message-ID = %q", id)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("%d messages stored, want 1 (one transaction)", n)
	}
}

func TestMailerAuthAndDefaults(t *testing.T) {
	s := dcvtest.StartSMTP(t)
	u := strings.Replace(s.URL(), "smtp://", "smtp://mailuser:secret@", 1)
	m, err := NewMailer(u, "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), []string{"a@example.com"}, "s", "b"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := s.WaitFor(t, "a@example.com", time.Second)
	if got.User != "mailuser" || got.From != "certorder@localhost" {
		t.Errorf("User %q From %q, want mailuser, certorder@localhost", got.User, got.From)
	}
}

func TestMailerRefusesInjection(t *testing.T) {
	s := dcvtest.StartSMTP(t)
	m, err := NewMailer(s.URL(), "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		to      []string
		subject string
	}{
		{"LF in subject", []string{"a@example.com"}, "hello\nBcc: victim@example.net"},
		{"CR in subject", []string{"a@example.com"}, "hello\rX: y"},
		{"CRLF in recipient", []string{"a@example.com\r\nRCPT TO:<victim@example.net>"}, "s"},
		{"invalid recipient", []string{"not an address"}, "s"},
		{"no recipients", nil, "s"},
	}
	for _, tc := range cases {
		if err := m.Send(context.Background(), tc.to, tc.subject, "body"); err == nil {
			t.Errorf("%s: Send succeeded, want error", tc.name)
		}
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d messages delivered, want 0", n)
	}
}

func TestMailerErrors(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:25", "smtp://", "smtp://h:25/?insecure=maybe", "::bad"} {
		if _, err := NewMailer(u, "", time.Second); err == nil {
			t.Errorf("NewMailer(%q): nil error", u)
		}
	}
	if _, err := NewMailer("smtp://h:25", "bad\r\nfrom", time.Second); err == nil {
		t.Error("NewMailer with CRLF in from: nil error")
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	m, err := NewMailer("smtp://127.0.0.1:"+strconv.Itoa(port), "", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Send(context.Background(), []string{"a@example.com"}, "s", "b"); err == nil {
		t.Error("Send to closed port: nil error")
	}

	// A server that accepts and never greets: the timeout ends the attempt.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		// Hold the connection open without a greeting until the test ends.
		if c, err := silent.Accept(); err == nil {
			accepted <- c
		}
	}()
	defer func() {
		select {
		case c := <-accepted:
			c.Close()
		default:
		}
	}()
	m, err = NewMailer("smtp://"+silent.Addr().String(), "", 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := m.Send(context.Background(), []string{"a@example.com"}, "s", "b"); err == nil {
		t.Error("Send to silent server: nil error")
	}
	if el := time.Since(start); el > 4*time.Second { // generous: the machine may be loaded
		t.Errorf("Send to silent server took %v", el)
	}
}
