package dcvtest

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// SMTP is a real SMTP sink on 127.0.0.1 speaking enough RFC 5321 for net/smtp (EHLO/HELO,
// AUTH PLAIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT); it stores every
// message. It does not offer STARTTLS.
type SMTP struct {
	ln net.Listener
	wg sync.WaitGroup

	mu     sync.Mutex
	msgs   []Message
	conns  map[net.Conn]bool
	reject map[string]*refusal // recipient → how RCPT refuses it
	// hold, when set, is closed by Release: the DATA of a message after
	// the first holdAfter is stored, but its reply waits for it.
	hold      chan struct{}
	holdAfter int
	stopped   chan struct{} // closed when the test ends
}

// HoldAfter makes the sink answer the next n messages at once and then
// hold the reply to every later one until Release: each held message is
// stored (it counts in Messages, the relay has it) while its sender waits
// for the 250 that says so, as with a slow relay. A sender that dies
// meanwhile has handed over a message it never learns was taken.
func (s *SMTP) HoldAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.holdAfter = make(chan struct{}), n
}

// Release answers the held messages and holds no more.
func (s *SMTP) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
}

// refusal is a RCPT reply that refuses a recipient, left times (0:
// every time).
type refusal struct {
	reply string
	left  int
}

// Reject makes RCPT TO addr answer reply (e.g. "550 5.1.1 no such user"
// for a refusal for good, "451 4.3.0 try later" for a passing one).
func (s *SMTP) Reject(addr, reply string) { s.RejectNext(addr, reply, 0) }

// RejectNext makes the next n RCPT TO addr answer reply, and later ones
// take it again (n 0: every one, as Reject): a relay that refuses a
// message for now, then takes it.
func (s *SMTP) RejectNext(addr, reply string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reject == nil {
		s.reject = map[string]*refusal{}
	}
	s.reject[addr] = &refusal{reply: reply, left: n}
}

// Message is one message received.
type Message struct {
	From    string
	To      []string
	Data    string // headers and body as received after dot-unstuffing, CRLF line endings
	Subject string // decoded Subject header
	Body    string // the part of Data after the blank line
	User    string // the AUTH PLAIN user name, "" without authentication
	// Text and HTML are the decoded text/plain and text/html parts (of a
	// single-part message or of its multipart/alternative), with LF line
	// endings; Attachments the decoded parts with a Content-Disposition of
	// attachment. A message the sink cannot parse leaves them empty.
	Text, HTML  string
	Attachments []Attachment
}

// Attachment is one attached file of a received message.
type Attachment struct {
	Name, ContentType string
	Data              []byte
}

// StartSMTP starts the sink, stopped with t.Cleanup.
func StartSMTP(t testing.TB) *SMTP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("dcvtest: listen smtp: %v", err)
	}
	s := &SMTP{ln: ln, conns: map[net.Conn]bool{}, stopped: make(chan struct{})}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		close(s.stopped)
		ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

// Addr is "127.0.0.1:port".
func (s *SMTP) Addr() string { return s.ln.Addr().String() }

// URL is "smtp://127.0.0.1:port", for dcv.NewMailer.
func (s *SMTP) URL() string { return "smtp://" + s.Addr() }

// Messages returns a copy of the messages received, in arrival order.
func (s *SMTP) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		m.To = append([]string(nil), m.To...)
		out[i] = m
	}
	return out
}

// MinWait is the least a wait for a message lasts, whatever a test asks:
// the timeout only bounds a failure, and a machine running the whole suite
// under the race detector beside other work can take many seconds to send
// what takes milliseconds alone.
const MinWait = time.Minute

func patient(d time.Duration) time.Duration { return max(d, MinWait) }

// WaitFor returns the first message (in arrival order) sent to rcpt, waiting
// up to timeout (at least MinWait); it calls t.Fatal on timeout.
func (s *SMTP) WaitFor(t testing.TB, rcpt string, timeout time.Duration) Message {
	t.Helper()
	timeout = patient(timeout)
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range s.Messages() {
			for _, r := range m.To {
				if strings.EqualFold(r, rcpt) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dcvtest: no message to %s within %v", rcpt, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *SMTP) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns[c] = true
		s.mu.Unlock()
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.session(c)
			c.Close()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// session serves one connection until QUIT or an I/O error.
func (s *SMTP) session(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // a stuck client cannot hold the sink forever
	r := bufio.NewReader(c)
	w := bufio.NewWriter(c)
	reply := func(lines ...string) bool {
		for _, l := range lines {
			w.WriteString(l + "\r\n")
		}
		return w.Flush() == nil
	}
	if !reply("220 dcvtest ESMTP sink") {
		return
	}
	var cur Message
	var user string
	for {
		line, err := readLine(r)
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		ok := true
		switch strings.ToUpper(verb) {
		case "EHLO":
			ok = reply("250-dcvtest", "250-8BITMIME", "250-AUTH PLAIN", "250 SIZE 10485760")
		case "HELO":
			ok = reply("250 dcvtest")
		case "AUTH":
			u, err := authPlain(arg)
			if err != nil {
				ok = reply("501 " + err.Error())
				break
			}
			user = u
			ok = reply("235 2.7.0 authenticated")
		case "MAIL":
			a, err := pathArg(arg, "FROM:")
			if err != nil {
				ok = reply("501 " + err.Error())
				break
			}
			cur = Message{From: a, User: user}
			ok = reply("250 2.1.0 ok")
		case "RCPT":
			a, err := pathArg(arg, "TO:")
			if err != nil {
				ok = reply("501 " + err.Error())
				break
			}
			s.mu.Lock()
			var refusal string
			if r := s.reject[a]; r != nil {
				refusal = r.reply
				if r.left > 0 {
					if r.left--; r.left == 0 {
						delete(s.reject, a)
					}
				}
			}
			s.mu.Unlock()
			if refusal != "" {
				ok = reply(refusal)
				break
			}
			cur.To = append(cur.To, a)
			ok = reply("250 2.1.5 ok")
		case "DATA":
			if len(cur.To) == 0 {
				ok = reply("503 5.5.1 RCPT first")
				break
			}
			if !reply("354 end with <CRLF>.<CRLF>") {
				return
			}
			data, err := readData(r)
			if err != nil {
				return
			}
			cur.Data = data
			cur.Subject, cur.Body = parseData(data)
			cur.Text, cur.HTML, cur.Attachments = parseParts(data)
			s.mu.Lock()
			s.msgs = append(s.msgs, cur)
			hold := s.hold
			if hold != nil && s.holdAfter > 0 {
				s.holdAfter--
				hold = nil
			}
			s.mu.Unlock()
			if hold != nil {
				select {
				case <-hold:
				case <-s.stopped:
					return
				}
			}
			cur = Message{User: user}
			ok = reply("250 2.0.0 queued")
		case "RSET":
			cur = Message{User: user}
			ok = reply("250 2.0.0 ok")
		case "NOOP":
			ok = reply("250 2.0.0 ok")
		case "QUIT":
			reply("221 2.0.0 bye")
			return
		default:
			ok = reply("502 5.5.2 command not implemented")
		}
		if !ok {
			return
		}
	}
}

func readLine(r *bufio.Reader) (string, error) {
	l, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(l, "\r\n"), nil
}

// readData reads DATA lines up to the lone ".", removing the dot-stuffing of RFC 5321
// section 4.5.2, and returns them joined with CRLF.
func readData(r *bufio.Reader) (string, error) {
	var b strings.Builder
	for {
		l, err := readLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return "", err
		}
		if l == "." {
			return b.String(), nil
		}
		l = strings.TrimPrefix(l, ".")
		b.WriteString(l + "\r\n")
	}
}

// pathArg extracts the address of "FROM:<a@b> PARAMS" or "TO:<a@b>".
func pathArg(arg, prefix string) (string, error) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", errors.New("5.5.4 syntax: expected " + prefix + "<address>")
	}
	p := strings.TrimSpace(arg[len(prefix):])
	if i := strings.IndexByte(p, '>'); strings.HasPrefix(p, "<") && i > 0 {
		return p[1:i], nil
	}
	return "", errors.New("5.5.4 syntax: address must be in <>")
}

// authPlain decodes "PLAIN <base64 authzid\0user\0pass>" and returns the user.
func authPlain(arg string) (string, error) {
	mech, resp, _ := strings.Cut(arg, " ")
	if !strings.EqualFold(mech, "PLAIN") || resp == "" {
		return "", errors.New("5.5.4 only AUTH PLAIN with an initial response")
	}
	raw, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		return "", errors.New("5.5.2 invalid base64")
	}
	parts := strings.Split(string(raw), "\x00")
	if len(parts) != 3 {
		return "", errors.New("5.5.2 invalid PLAIN response")
	}
	return parts[1], nil
}

// parseParts decodes the text, HTML and attachments of a message as a
// mail reader would: the transfer encodings undone, multipart bodies
// walked.
func parseParts(data string) (text, html string, atts []Attachment) {
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		return "", "", nil
	}
	var walk func(h textproto.MIMEHeader, body io.Reader)
	walk = func(h textproto.MIMEHeader, body io.Reader) {
		mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
		if err != nil {
			mt = "text/plain"
		}
		if strings.HasPrefix(mt, "multipart/") {
			r := multipart.NewReader(body, params["boundary"])
			for {
				p, err := r.NextRawPart()
				if err != nil {
					return
				}
				walk(p.Header, decoded(p.Header, p))
			}
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return
		}
		if disp, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && disp == "attachment" {
			atts = append(atts, Attachment{Name: dp["filename"], ContentType: mt, Data: b})
			return
		}
		s := strings.ReplaceAll(string(b), "\r\n", "\n")
		switch mt {
		case "text/plain":
			text = s
		case "text/html":
			html = s
		}
	}
	h := textproto.MIMEHeader(m.Header)
	walk(h, decoded(h, m.Body))
	return text, html, atts
}

// decoded undoes a part's Content-Transfer-Encoding.
func decoded(h textproto.MIMEHeader, r io.Reader) io.Reader {
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "quoted-printable":
		return quotedprintable.NewReader(r)
	case "base64":
		return base64.NewDecoder(base64.StdEncoding, r) // which skips the line breaks
	}
	return r
}

// WaitForMatch returns the first message (in arrival order) sent to rcpt
// for which match holds, waiting up to timeout; it calls t.Fatal on
// timeout.
func (s *SMTP) WaitForMatch(t testing.TB, rcpt string, match func(Message) bool, timeout time.Duration) Message {
	t.Helper()
	timeout = patient(timeout)
	deadline := time.Now().Add(timeout)
	for {
		for _, m := range s.Messages() {
			for _, r := range m.To {
				if strings.EqualFold(r, rcpt) && match(m) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("dcvtest: no matching message to %s within %v", rcpt, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// parseData returns the decoded Subject and the body of a message; on a parse error the
// whole data is the body.
func parseData(data string) (subject, body string) {
	m, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		return "", data
	}
	subject = m.Header.Get("Subject")
	if dec, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = dec
	}
	if i := strings.Index(data, "\r\n\r\n"); i >= 0 {
		body = data[i+4:]
	}
	return subject, body
}
