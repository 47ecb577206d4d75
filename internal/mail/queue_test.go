package mail_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func openStore(t *testing.T) (store.Store, int64) {
	t.Helper()
	return openStoreAt(t, filepath.Join(t.TempDir(), "certorder.db"))
}

// openStoreAt opens the SQLite store at path, as one more process would,
// and returns its account, made on the first open.
func openStoreAt(t *testing.T, path string) (store.Store, int64) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if a, err := st.FirstAccount(ctx); err == nil {
		return st, a.ID
	}
	a := &store.Account{Name: "mail", CreatedAt: time.Now().UTC()}
	if err := st.InTx(ctx, func(tx store.Tx) error { return tx.CreateAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	return st, a.ID
}

var renderers = map[string]mail.Renderer{
	"test": func(_ context.Context, m *store.OutboxMail) (mail.Message, error) {
		return mail.Message{Subject: "Test " + m.Payload, Body: "Body of " + m.Payload + "\n"}, nil
	},
	"gone": func(context.Context, *store.OutboxMail) (mail.Message, error) { return mail.Message{}, mail.ErrDrop },
}

func enqueue(t *testing.T, st store.Store, acct int64, at time.Time, kind string, n int) []*store.OutboxMail {
	t.Helper()
	ctx := context.Background()
	var out []*store.OutboxMail
	err := st.InTx(ctx, func(tx store.Tx) error {
		for i := range n {
			m := &store.OutboxMail{AccountID: acct, Kind: kind, Recipient: fmt.Sprintf("r%d@example.com", i), Payload: fmt.Sprint(i),
				MessageID: mail.NewMessageID("certorder@example.com"), CreatedAt: at}
			if err := mail.Enqueue(ctx, tx, m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func relay(t *testing.T, url string) *dcv.Mailer {
	t.Helper()
	m, err := dcv.NewMailer(url, "certorder@example.com", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func unsent(t *testing.T, st store.Store, at time.Time) []store.OutboxMail {
	t.Helper()
	due, err := st.DueMail(context.Background(), at, at, 100)
	if err != nil {
		t.Fatal(err)
	}
	return due
}

// TestQueueSends: each message reaches the relay once, with the subject and
// body of its renderer and the Message-ID it was enqueued with; a message
// its renderer drops is marked done without being sent.
func TestQueueSends(t *testing.T) {
	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	c := &clock{t: time.Now().UTC()}
	ms := enqueue(t, st, acct, c.now(), "test", 3)
	enqueue(t, st, acct, c.now(), "gone", 1)
	q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: renderers, Now: c.now}
	if n := q.Round(context.Background()); n != 4 {
		t.Fatalf("round handled %d, want 4", n)
	}
	got := smtp.Messages()
	if len(got) != 3 {
		t.Fatalf("relay got %d messages, want 3", len(got))
	}
	for i, m := range ms {
		g := smtp.WaitFor(t, m.Recipient, time.Second)
		if g.Subject != fmt.Sprintf("Test %d", i) || !strings.Contains(g.Data, "Message-ID: <"+m.MessageID+">") {
			t.Errorf("message %d: subject %q, data %q", i, g.Subject, g.Data)
		}
	}
	if left := unsent(t, st, c.now().Add(time.Hour)); len(left) != 0 {
		t.Fatalf("%d messages left unsent", len(left))
	}
	if q.Round(context.Background()) != 0 || len(smtp.Messages()) != 3 {
		t.Fatal("a second round sent again")
	}
}

// TestQueueRelayDown: while the relay refuses connections each attempt is
// recorded and the message waits, with a doubling delay (on the real
// clock, which the test's clock stands for); once the relay is back, it is
// sent. Nothing is lost.
func TestQueueRelayDown(t *testing.T) {
	st, acct := openStore(t)
	c := &clock{t: time.Now().UTC()}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := ln.Addr().String()
	ln.Close() // nothing listens here now
	ms := enqueue(t, st, acct, c.now(), "test", 2)
	q := &mail.Queue{Store: st, Relay: relay(t, "smtp://"+deadAddr), Renderers: renderers, Now: c.now, WallNow: c.now,
		Retry: time.Minute, RetryMax: 10 * time.Minute}
	for attempt, wait := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute} {
		if n := q.Round(context.Background()); n != 2 {
			t.Fatalf("attempt %d handled %d, want 2", attempt+1, n)
		}
		due := unsent(t, st, c.now().Add(wait))
		if len(due) != 2 || due[0].Attempts != attempt+1 || due[0].LastError == "" || !due[0].NextAt.Equal(c.now().Add(wait).Truncate(time.Microsecond)) {
			t.Fatalf("after attempt %d: %+v", attempt+1, due)
		}
		if len(unsent(t, st, c.now().Add(wait-time.Second))) != 0 {
			t.Fatalf("after attempt %d a message is due before its backoff", attempt+1)
		}
		c.add(wait)
	}
	smtp := dcvtest.StartSMTP(t)
	q.Relay = relay(t, smtp.URL())
	if n := q.Round(context.Background()); n != 2 {
		t.Fatalf("round after recovery handled %d", n)
	}
	for _, m := range ms {
		smtp.WaitFor(t, m.Recipient, time.Second)
	}
}

// failSent is a real store on which recording message id as sent fails
// once: the process "dies" between the relay's acceptance and the commit,
// leaving the claim in the store as a killed process would.
type failSent struct {
	store.Store
	id     int64
	failed atomic.Bool
}

type failSentTx struct {
	store.Tx
	f *failSent
}

func (f *failSent) InTx(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.InTx(ctx, func(tx store.Tx) error { return fn(&failSentTx{Tx: tx, f: f}) })
}

func (t *failSentTx) MailSent(ctx context.Context, id int64, at time.Time) error {
	if id == t.f.id && t.f.failed.CompareAndSwap(false, true) {
		return errors.New("injected: process died before recording")
	}
	return t.Tx.MailSent(ctx, id, at)
}

// TestQueueResendAfterCrash: of three messages the relay (a real SMTP
// server) accepted, the one whose sending was never recorded is sent again
// by the next process on the store once its claim lapses, and not before:
// once, with the same Message-ID, subject and body. The two recorded are
// not sent again, and afterwards nothing is due.
func TestQueueResendAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "certorder.db")
	st, acct := openStoreAt(t, path)
	smtp := dcvtest.StartSMTP(t)
	c := &clock{t: time.Now().UTC()}
	ms := enqueue(t, st, acct, c.now(), "test", 3)
	dying := &mail.Queue{Store: &failSent{Store: st, id: ms[1].ID}, Relay: relay(t, smtp.URL()), Renderers: renderers, Now: c.now, Lease: time.Minute}
	if n := dying.Round(ctx); n != 3 {
		t.Fatalf("the first process handled %d messages, want 3", n)
	}
	if n := len(smtp.Messages()); n != 3 {
		t.Fatalf("the relay got %d messages before the crash, want 3", n)
	}

	// The next process: its own connection to the store, nothing but the
	// store to go by.
	next, _ := openStoreAt(t, path)
	q := &mail.Queue{Store: next, Relay: relay(t, smtp.URL()), Renderers: renderers, Now: c.now, Lease: time.Minute}
	if n := q.Round(ctx); n != 0 {
		t.Fatalf("%d messages taken again before the dead process's claim lapsed", n)
	}
	c.add(time.Minute)
	if n := q.Round(ctx); n != 1 {
		t.Fatalf("after the claim lapsed %d messages were sent again, want the unrecorded one", n)
	}
	for range 3 {
		c.add(time.Hour)
		if n := q.Round(ctx); n != 0 {
			t.Fatalf("%d messages sent a third time", n)
		}
	}
	if left := unsent(t, next, c.now().Add(48*time.Hour)); len(left) != 0 {
		t.Fatalf("messages still due: %+v", left)
	}

	got := map[string][]dcvtest.Message{}
	for _, g := range smtp.Messages() {
		pm, err := netmail.ReadMessage(strings.NewReader(g.Data))
		if err != nil {
			t.Fatalf("relay got an unreadable message: %v\n%s", err, g.Data)
		}
		id := pm.Header.Get("Message-ID")
		got[id] = append(got[id], g)
	}
	if len(got) != 3 {
		t.Fatalf("relay got %d distinct Message-IDs, want 3: %v", len(got), got)
	}
	for i, m := range ms {
		copies := got["<"+m.MessageID+">"]
		want := 1
		if i == 1 {
			want = 2
		}
		if len(copies) != want {
			t.Errorf("message %d (%s): %d copies at the relay, want %d", i, m.Recipient, len(copies), want)
			continue
		}
		for _, cp := range copies {
			if len(cp.To) != 1 || cp.To[0] != m.Recipient || cp.Subject != copies[0].Subject || cp.Body != copies[0].Body {
				t.Errorf("message %d: copy to %v %q differs from %v %q", i, cp.To, cp.Subject, copies[0].To, copies[0].Subject)
			}
		}
	}
}

// TestQueueTwoSenders: two senders on one store send each message once.
func TestQueueTwoSenders(t *testing.T) {
	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	c := &clock{t: time.Now().UTC()}
	enqueue(t, st, acct, c.now(), "test", 20)
	var wg sync.WaitGroup
	for range 2 {
		q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: renderers, Now: c.now}
		wg.Add(1)
		go func() { defer wg.Done(); q.Round(context.Background()) }()
	}
	wg.Wait()
	if n := len(smtp.Messages()); n != 20 {
		t.Fatalf("relay got %d messages, want 20", n)
	}
}

// TestQueueGivesUp: a recipient the relay refuses for good (5xx) is given
// up after one attempt; one refused for now (4xx) is tried again until
// MaxAttempts; either way the renderer's Undelivered runs for every
// attempt that did not reach the relay, and a given-up message is never
// due again.
func TestQueueGivesUp(t *testing.T) {
	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	smtp.Reject("r0@example.com", "550 5.1.1 no such user")
	smtp.Reject("r1@example.com", "451 4.3.0 try later")
	c := &clock{t: time.Now().UTC()}
	enqueue(t, st, acct, c.now(), "counted", 2)
	var undelivered atomic.Int32
	rs := map[string]mail.Renderer{"counted": func(_ context.Context, m *store.OutboxMail) (mail.Message, error) {
		return mail.Message{Subject: "s", Body: "b\n", Undelivered: func(context.Context) { undelivered.Add(1) }}, nil
	}}
	q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: rs, Now: c.now, WallNow: c.now,
		Retry: time.Minute, RetryMax: time.Minute, MaxAttempts: 3}
	for range 5 {
		q.Round(context.Background())
		c.add(time.Minute)
	}
	if n := undelivered.Load(); n != 4 {
		t.Fatalf("Undelivered ran %d times, want 4 (one for the 550, three for the 451s)", n)
	}
	if left := unsent(t, st, c.now().Add(24*time.Hour)); len(left) != 0 {
		t.Fatalf("given-up messages are still due: %+v", left)
	}
	if len(smtp.Messages()) != 0 {
		t.Fatal("a refused message was delivered")
	}
}

// TestQueueKeeps: the sandbox's queue without a relay marks each message
// sent with the subject and body its renderer made; with a relay it sends
// and keeps them too; a kind it has no renderer for (one whose body would
// carry a secret) is given up at once, never rendered nor retried.
func TestQueueKeeps(t *testing.T) {
	for _, withRelay := range []bool{false, true} {
		t.Run(fmt.Sprintf("relay=%v", withRelay), func(t *testing.T) {
			st, acct := openStore(t)
			c := &clock{t: time.Now().UTC()}
			ms := enqueue(t, st, acct, c.now(), "test", 2)
			secret := enqueue(t, st, acct, c.now(), "dcv", 1)[0]
			q := &mail.Queue{Store: st, Renderers: renderers, Now: c.now, Keep: true}
			var smtp *dcvtest.SMTP
			if withRelay {
				smtp = dcvtest.StartSMTP(t)
				q.Relay = relay(t, smtp.URL())
			}
			if n := q.Round(context.Background()); n != 3 {
				t.Fatalf("round handled %d, want 3", n)
			}
			if left := unsent(t, st, c.now().Add(24*time.Hour)); len(left) != 0 {
				t.Fatalf("%d messages left unsent", len(left))
			}
			list, _, err := st.ListMail(context.Background(), store.MailFilter{AccountID: acct})
			if err != nil || len(list) != 3 {
				t.Fatalf("outbox: %+v, %v", list, err)
			}
			for _, m := range list {
				switch m.ID {
				case secret.ID:
					if m.GivenUpAt == nil || m.SentAt != nil || m.Subject != "" || m.Body != "" || m.Attempts != 1 {
						t.Errorf("a kind without renderer: %+v", m)
					}
				default:
					i := map[int64]int{ms[0].ID: 0, ms[1].ID: 1}[m.ID]
					if m.SentAt == nil || m.Subject != fmt.Sprintf("Test %d", i) || m.Body != fmt.Sprintf("Body of %d\n", i) {
						t.Errorf("kept message %d: %+v", i, m)
					}
				}
			}
			if withRelay && len(smtp.Messages()) != 2 {
				t.Errorf("relay got %d messages, want 2", len(smtp.Messages()))
			}
		})
	}
}

// TestQueueMultipart: a message with an HTML twin goes out as
// multipart/alternative, the text part first, each part decoding to what
// the renderer made (non-ASCII and long lines included), under the
// Message-ID it was queued with.
func TestQueueMultipart(t *testing.T) {
	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	c := &clock{t: time.Now().UTC()}
	ms := enqueue(t, st, acct, c.now(), "both", 1)
	text := "Grüße, " + strings.Repeat("a long line ", 20) + "\n= end\n"
	html := "<p>Grüße &amp; " + strings.Repeat("a long line ", 20) + "</p>\n"
	rs := map[string]mail.Renderer{"both": func(context.Context, *store.OutboxMail) (mail.Message, error) {
		return mail.Message{Subject: "Zwei Teile", Body: text, HTML: html}, nil
	}}
	q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: rs, Now: c.now}
	q.Round(context.Background())
	got := smtp.WaitFor(t, ms[0].Recipient, time.Second)
	msg, err := netmail.ReadMessage(strings.NewReader(got.Data))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Message-ID") != "<"+ms[0].MessageID+">" {
		t.Errorf("Message-ID %q", msg.Header.Get("Message-ID"))
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for i, want := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		p, err := r.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		b, _ := io.ReadAll(p)
		if pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); pt != want.typ {
			t.Errorf("part %d is %s, want %s", i, pt, want.typ)
		}
		if strings.ReplaceAll(string(b), "\r\n", "\n") != want.body {
			t.Errorf("part %d = %q, want %q", i, b, want.body)
		}
	}
	if _, err := r.NextPart(); err != io.EOF {
		t.Errorf("a third part: %v", err)
	}
}

// TestQueueRetryUnderFrozenClock: the relay refuses a message's first
// attempt for now (451); with the business clock standing still (a
// test's frozen clock), the sender still tries again once the backoff has
// passed on the real clock, waking for it without waiting for its poll,
// and the relay gets the message then, not before. A relay's refusal is a
// real-world event: the wait before asking it again is real time,
// whatever business time does.
func TestQueueRetryUnderFrozenClock(t *testing.T) {
	t.Parallel()
	st, acct := openStore(t)
	smtp := dcvtest.StartSMTP(t)
	frozen := time.Now().UTC()
	ms := enqueue(t, st, acct, frozen, "test", 2)
	smtp.RejectNext(ms[1].Recipient, "451 4.3.0 try later", 1)
	const retry = 300 * time.Millisecond
	q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: renderers, Now: func() time.Time { return frozen },
		Retry: retry, Poll: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	start := time.Now()
	go func() { defer close(done); q.Run(ctx) }()
	smtp.WaitFor(t, ms[0].Recipient, 10*time.Second)
	smtp.WaitFor(t, ms[1].Recipient, 10*time.Second)
	if waited := time.Since(start); waited < retry {
		t.Errorf("the refused message arrived %v after the start, before its backoff of %v", waited, retry)
	}
	if n := len(smtp.Messages()); n != 2 {
		t.Errorf("the relay got %d messages, want 2", n)
	}
}

// TestQueueClocks: a message is first due by the business clock, so one
// made in the sandbox's travelled future goes out at once; a retry is due
// by the real clock only, so a jump of business time does not hurry it
// and business time standing still does not hold it.
func TestQueueClocks(t *testing.T) {
	const retry = time.Minute
	type move struct {
		business, wall time.Duration // how far each clock moves before the round
		sent           int           // messages at the relay after it
	}
	for _, tc := range []struct {
		name   string
		ahead  time.Duration // the business clock ahead of the real one
		refuse bool          // the relay refuses the first attempt for now
		moves  []move
	}{
		{"made in the travelled future", 365 * 24 * time.Hour, false, []move{{0, 0, 1}}},
		{"a jump does not hurry a retry", 0, true, []move{{0, 0, 0}, {24 * time.Hour, 0, 0}, {0, retry - time.Second, 0}, {0, time.Second, 1}}},
		{"a frozen business clock does not hold a retry", 0, true, []move{{0, 0, 0}, {0, retry - time.Second, 0}, {0, time.Second, 1}}},
		{"both ahead", time.Hour, true, []move{{0, 0, 0}, {time.Hour, time.Hour, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, acct := openStore(t)
			smtp := dcvtest.StartSMTP(t)
			wall := &clock{t: time.Now().UTC()}
			business := &clock{t: wall.now().Add(tc.ahead)}
			m := enqueue(t, st, acct, business.now(), "test", 1)[0]
			if tc.refuse {
				smtp.RejectNext(m.Recipient, "451 4.3.0 try later", 1)
			}
			q := &mail.Queue{Store: st, Relay: relay(t, smtp.URL()), Renderers: renderers, Now: business.now, WallNow: wall.now, Retry: retry}
			for i, mv := range tc.moves {
				business.add(mv.business)
				wall.add(mv.wall)
				q.Round(context.Background())
				if n := len(smtp.Messages()); n != mv.sent {
					t.Fatalf("round %d: the relay has %d messages, want %d", i+1, n, mv.sent)
				}
			}
		})
	}
}
