package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
)

const sbClockPath, sbMailPath = v2 + "/sandbox/clock", v2 + "/sandbox/mail"

type sbClock struct {
	Now           string `json:"now"`
	WallClock     string `json:"wall_clock"`
	Offset        string `json:"offset"`
	OffsetSeconds int64  `json:"offset_seconds"`
}

func sbDecode(t *testing.T, status int, hdr http.Header, body []byte, v any) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body: %s", status, clip(body))
	}
	requireJSON(t, hdr)
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode: %v: %s", err, clip(body))
	}
}

func sbGetClock(t *testing.T, srv *testenv.Server) sbClock {
	t.Helper()
	var c sbClock
	status, hdr, body := srv.Do("GET", sbClockPath, "")
	sbDecode(t, status, hdr, body, &c)
	return c
}

func sbMove(t *testing.T, srv *testenv.Server, body string) sbClock {
	t.Helper()
	var c sbClock
	status, hdr, b := srv.Do("POST", sbClockPath, body)
	sbDecode(t, status, hdr, b, &c)
	return c
}

func sbTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("time %q: %v", s, err)
	}
	return v
}

func sbDaysRemaining(t *testing.T, srv *testenv.Server, id int64) int {
	t.Helper()
	var o struct {
		Certificate struct {
			DaysRemaining *int `json:"days_remaining"`
		} `json:"certificate"`
	}
	status, hdr, body := srv.Do("GET", fmt.Sprintf("%s/order/certificate/%d", v2, id), "")
	sbDecode(t, status, hdr, body, &o)
	if o.Certificate.DaysRemaining == nil {
		t.Fatalf("order %d without days_remaining: %s", id, clip(body))
	}
	return *o.Certificate.DaysRemaining
}

// TestSandboxClockTravel: an administrator moves the sandbox's business
// clock forward, by a duration, a number of days or to a time, and every
// date the server reasons with follows: a certificate has 30 days less to
// live after 30 days, a domain validation expires once the clock passes its
// end, and a certificate issued after the move is dated by the moved
// clock. The clock never moves back.
func TestSandboxClockTravel(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	c := sbGetClock(t, srv)
	if c.OffsetSeconds != 0 || c.Offset != "0s" || c.Now != c.WallClock {
		t.Fatalf("fresh clock = %+v", c)
	}
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	placed.requireChain(t, "example.com")
	before := sbDaysRemaining(t, srv, placed.ID)
	dom := domAdd(t, srv, domBody("travel.example.com", 1, "", "ov"))
	d := domGet(t, srv, dom.ID)
	if d.Status != "active" {
		t.Fatalf("sandbox domain = %+v", d)
	}
	dcvEnd := sbTime(t, d.DCVExpiration["ov"])

	c = sbMove(t, srv, `{"advance":"30d","ignored":true}`)
	if c.OffsetSeconds != 30*86400 || c.Offset != "720h0m0s" || sbTime(t, c.Now).Sub(sbTime(t, c.WallClock)) != 720*time.Hour {
		t.Fatalf("after 30d: %+v", c)
	}
	if got := sbGetClock(t, srv); got.OffsetSeconds != c.OffsetSeconds {
		t.Fatalf("GET after the move: %+v", got)
	}
	if after := sbDaysRemaining(t, srv, placed.ID); after != before-30 {
		t.Errorf("days_remaining %d after 30 days, want %d", after, before-30)
	}
	_, csr2 := lcKey(t)
	laterOrder := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr2))
	later := laterOrder.requireChain(t, "example.com")[0]
	if want := time.Now().Add(720 * time.Hour); later.NotBefore.Before(want.Add(-time.Hour)) || later.NotBefore.After(want.Add(time.Hour)) {
		t.Errorf("notBefore %s of a certificate issued 30 days ahead, want about %s", later.NotBefore, want)
	}
	// Its issue date is the same clock's (date_issued in the API).
	acct, err := srv.App.Store.FirstAccount(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if c, err := srv.App.Store.Certificate(context.Background(), acct.ID, laterOrder.CertificateID); err != nil || c.IssuedAt == nil ||
		c.IssuedAt.Sub(later.NotBefore) < 0 || c.IssuedAt.Sub(later.NotBefore) > time.Minute {
		t.Errorf("issued at %v (%v), notBefore %s", c.IssuedAt, err, later.NotBefore)
	}
	c = sbMove(t, srv, `{"advance":"1h30m"}`)
	if c.OffsetSeconds != 30*86400+5400 {
		t.Fatalf("after 1h30m more: %+v", c)
	}
	if d := domGet(t, srv, dom.ID); d.Status != "active" {
		t.Fatalf("domain validation expired early: %+v", d)
	}
	to := dcvEnd.Add(24 * time.Hour)
	c = sbMove(t, srv, `{"to":"`+to.Format(time.RFC3339)+`"}`)
	if d := sbTime(t, c.Now).Sub(to); d < -2*time.Second || d > 2*time.Second {
		t.Fatalf("to %s: %+v", to, c)
	}
	if d := domGet(t, srv, dom.ID); d.Status != "pending" || len(d.Validations) != 1 || d.Validations[0].Status != "expired" {
		t.Errorf("domain after its validation ended: %+v", d)
	}
	moved := sbGetClock(t, srv).OffsetSeconds

	sendRefusals(t, srv, []callRefusal{
		{name: "backwards by a duration", method: "POST", path: sbClockPath, body: `{"advance":"-1h"}`, status: 400, codes: []string{"invalid_value:advance"}},
		{name: "zero", method: "POST", path: sbClockPath, body: `{"advance":"0s"}`, status: 400, codes: []string{"invalid_value:advance"}},
		{name: "to the past", method: "POST", path: sbClockPath, body: `{"to":"2020-01-01T00:00:00Z"}`, status: 400, codes: []string{"invalid_value:to"}},
		{name: "to the wall clock", method: "POST", path: sbClockPath, body: `{"to":"` + time.Now().UTC().Format(time.RFC3339) + `"}`, status: 400, codes: []string{"invalid_value:to"}},
		{name: "not a duration", method: "POST", path: sbClockPath, body: `{"advance":"a month"}`, status: 400, codes: []string{"invalid_value:advance"}},
		{name: "not a time", method: "POST", path: sbClockPath, body: `{"to":"01/01/2030"}`, status: 400, codes: []string{"invalid_value:to"}},
		{name: "both", method: "POST", path: sbClockPath, body: `{"advance":"1h","to":"2099-01-01T00:00:00Z"}`, status: 400, codes: []string{"invalid_value:advance"}},
		{name: "neither", method: "POST", path: sbClockPath, body: `{}`, status: 400, codes: []string{"missing_field:advance"}},
		{name: "beyond a century", method: "POST", path: sbClockPath, body: `{"advance":"40000d"}`, status: 400, codes: []string{"invalid_value:advance"}},
		{name: "not JSON", method: "POST", path: sbClockPath, body: `advance=1h`, status: 400, codes: []string{"bad_request_format"}},
	})
	if got := sbGetClock(t, srv).OffsetSeconds; got != moved {
		t.Fatalf("a refused move moved the clock: %d, was %d", got, moved)
	}
}

// TestSandboxRefusals: the clock and the outbox are for administrators
// whose key is unrestricted; every other access role and every restricted
// key (view_only reads included) gets 403. Outside the sandbox they do not
// exist: 404 for an administrator, 403 as before for the rest.
func TestSandboxRefusals(t *testing.T) {
	t.Parallel()
	calls := []struct {
		method, path, body string
		want               int // an administrator's answer in the sandbox
	}{
		{"GET", sbClockPath, "", http.StatusOK}, {"POST", sbClockPath, `{"advance":"1s"}`, http.StatusOK}, {"GET", sbMailPath, "", http.StatusOK},
		{"GET", sbFaultsPath, "", http.StatusOK},
		{"POST", sbFaultsPath, `{"route":"GET /no/such/route","fault":"delay","delay":"1ms"}`, http.StatusCreated},
		{"DELETE", sbFaultsPath + "/999", "", http.StatusNotFound},
		{"GET", sbConformancePath, "", http.StatusOK}, {"DELETE", sbConformancePath, "", http.StatusNoContent},
	}
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	prod := testenv.Start(t, testenv.Options{})
	for _, role := range account.AccessRoles {
		uid, puid := usrUser(t, srv, role, 1), usrUser(t, prod, role, 1)
		for _, kr := range account.KeyRoles {
			_, key := usrKey(t, srv, uid, kr)
			_, pkey := usrKey(t, prod, puid, kr)
			allowed := role == store.RoleAdministrator && kr == account.KeyRoleInherit
			for _, c := range calls {
				t.Run(fmt.Sprintf("%s/%d/%s %s", account.RoleNames[role], kr, c.method, c.path), func(t *testing.T) {
					status, hdr, body := srv.DoKey(key, c.method, c.path, c.body)
					if allowed {
						if status != c.want {
							t.Fatalf("administrator: %d %s, want %d", status, clip(body), c.want)
						}
					} else {
						requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
					}
					status, hdr, body = prod.DoKey(pkey, c.method, c.path, c.body)
					if allowed {
						requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|sandbox")
					} else {
						requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
					}
				})
			}
		}
	}
	if c := sbGetClock(t, srv); c.OffsetSeconds != 1 {
		t.Errorf("one allowed move of 1s: %+v", c)
	}
	if _, err := prod.App.Store.Setting(context.Background(), clock.OffsetKey); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a production store has a sandbox clock: %v", err)
	}
}

// TestSandboxClockShared: the offset lives in the store: a restart keeps
// it, and a second server on the same store takes its time from it (within
// the second it trusts what it read), as does the clock command run beside
// them.
func TestSandboxClockShared(t *testing.T) {
	t.Parallel()
	opts := testenv.Options{Sandbox: true}
	if os.Getenv("CERTORDER_TEST_STORE") == "postgres" {
		opts.Database = testenv.PostgresDatabase(t) // one database for both
	}
	first := testenv.Start(t, opts)
	sbMove(t, first, `{"advance":"48h"}`)
	first.Restart()
	if c := sbGetClock(t, first); c.OffsetSeconds != 48*3600 {
		t.Fatalf("after a restart: %+v", c)
	}
	opts.DataDir = first.DataDir
	second := testenv.Start(t, opts)
	if c := sbGetClock(t, second); c.OffsetSeconds != 48*3600 {
		t.Fatalf("second server on the store: %+v", c)
	}
	sbMove(t, second, `{"advance":"24h"}`)
	sbWaitOffset(t, first, 72*3600)
	// Both moves count: each is a compare-and-set on the stored offset.
	sbMove(t, first, `{"advance":"1h"}`)
	sbWaitOffset(t, second, 73*3600)
	if got := first.App.Now().Sub(time.Now()); got < 73*time.Hour-time.Minute || got > 73*time.Hour+time.Minute {
		t.Errorf("business time of the first server is %s ahead, want 73h", got)
	}
}

func sbWaitOffset(t *testing.T, srv *testenv.Server, want int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c := sbGetClock(t, srv)
		if c.OffsetSeconds == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("offset %d, want %d", c.OffsetSeconds, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type sbMail struct {
	ID          int64    `json:"id"`
	Kind        string   `json:"kind"`
	OrderID     int64    `json:"order_id"`
	Recipients  []string `json:"recipients"`
	Subject     string   `json:"subject"`
	Body        string   `json:"body"`
	Status      string   `json:"status"`
	MessageID   string   `json:"message_id"`
	DateCreated string   `json:"date_created"`
	DateSent    string   `json:"date_sent"`
	LastError   string   `json:"last_error"`
}

type sbMailList struct {
	Mails []sbMail `json:"mails"`
	Page  struct {
		Total  int `json:"total"`
		Limit  int `json:"limit"`
		Offset int `json:"offset"`
	} `json:"page"`
}

func sbListMail(t *testing.T, srv *testenv.Server, query string) sbMailList {
	t.Helper()
	var l sbMailList
	status, hdr, body := srv.Do("GET", sbMailPath+query, "")
	sbDecode(t, status, hdr, body, &l)
	return l
}

// TestSandboxOutbox: what the sandbox's queue is given is kept instead of
// sent, with the subject and body its kind's renderer made, and listed
// newest first, filtered by order, recipient and kind, a page at a time.
// A kind whose body would carry a secret (DCV mail, with its approval
// link) has no renderer in the sandbox: it is given up unrendered.
func TestSandboxOutbox(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	noLifecycleMail(t, srv) // the order's own mail would be kept too
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	// The queue takes kinds from the engines that bring them; this one
	// stands for a notice about an order.
	srv.App.Mail.Register("test_notice", func(_ context.Context, m *store.OutboxMail) (mail.Message, error) {
		return mail.Message{Subject: "Notice about order " + itoa(m.OrderID), Body: "Dear " + m.Recipient + ",\n" + m.Payload + "\n"}, nil
	})
	ctx := context.Background()
	var acctID int64
	if a, err := srv.App.Store.FirstAccount(ctx); err != nil {
		t.Fatal(err)
	} else {
		acctID = a.ID
	}
	now := srv.App.Now()
	for _, m := range []store.OutboxMail{
		{Kind: "test_notice", OrderID: placed.ID, Recipient: "alice@example.com", Payload: "first"},
		{Kind: "test_notice", OrderID: placed.ID, Recipient: "bob@example.com", Payload: "second"},
		{Kind: "test_notice", Recipient: "alice@example.com", Payload: "third"},
		{Kind: validation.MailKindDCV, DomainID: 1, Recipient: "admin@example.com", Payload: `{}`},
	} {
		m.AccountID, m.MessageID, m.CreatedAt = acctID, fmt.Sprintf("%s.%d@certorder.test", m.Payload, now.UnixNano()), now
		if err := srv.App.Store.InTx(ctx, func(tx store.Tx) error { return mail.Enqueue(ctx, tx, &m) }); err != nil {
			t.Fatal(err)
		}
	}
	srv.App.Mail.Kick()
	var all sbMailList
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		all = sbListMail(t, srv, "")
		done := 0
		for _, m := range all.Mails {
			if m.Status != "pending" {
				done++
			}
		}
		if done == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not keep every message: %+v", all.Mails)
		}
	}
	if all.Page.Total != 4 || len(all.Mails) != 4 {
		t.Fatalf("outbox = %+v", all)
	}
	dcvMail, third := all.Mails[0], all.Mails[1]
	if dcvMail.Kind != validation.MailKindDCV || dcvMail.Status != "given_up" || dcvMail.Subject != "" || dcvMail.Body != "" || dcvMail.DateSent != "" {
		t.Errorf("DCV mail in the sandbox: %+v", dcvMail)
	}
	if third.Status != "sent" || third.Subject != "Notice about order 0" || third.Body != "Dear alice@example.com,\nthird\n" ||
		len(third.Recipients) != 1 || third.Recipients[0] != "alice@example.com" || third.DateSent == "" || !strings.HasPrefix(third.MessageID, "third.") {
		t.Errorf("kept message: %+v", third)
	}
	for i := 1; i < len(all.Mails); i++ {
		if all.Mails[i].ID >= all.Mails[i-1].ID {
			t.Errorf("not newest first: %+v", all.Mails)
		}
	}
	payloads := func(l sbMailList) string {
		var out []string
		for _, m := range l.Mails {
			out = append(out, strings.TrimSpace(m.Body[strings.LastIndex(strings.TrimSpace(m.Body), "\n")+1:]))
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		query, want string
		total       int
	}{
		{"?order_id=" + itoa(placed.ID), "second,first", 2},
		{"?filters[order_id]=" + itoa(placed.ID), "second,first", 2},
		{"?recipient=ALICE@example.com", "third,first", 2},
		{"?kind=test_notice&limit=1", "third", 3},
		{"?kind=test_notice&limit=2&offset=1", "second,first", 3},
		{"?kind=test_notice&order_id=" + itoa(placed.ID) + "&recipient=bob@example.com", "second", 1},
		{"?kind=renewal_notice", "", 0},
	} {
		l := sbListMail(t, srv, c.query)
		if got := payloads(l); got != c.want || l.Page.Total != c.total {
			t.Errorf("%s: %q (total %d), want %q (%d)", c.query, got, l.Page.Total, c.want, c.total)
		}
	}
	sendRefusals(t, srv, []callRefusal{
		{name: "order id not a number", method: "GET", path: sbMailPath + "?order_id=x", status: 400, codes: []string{"invalid_value:order_id"}},
		{name: "negative offset", method: "GET", path: sbMailPath + "?offset=-1", status: 400, codes: []string{"invalid_value:offset"}},
	})
}

// TestSandboxOutboxEmpty: a sandbox whose account sends no lifecycle mail
// has an empty outbox after an order (it sends no DCV mail), not a
// missing one.
func TestSandboxOutboxEmpty(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	noLifecycleMail(t, srv)
	_, csr := lcKey(t)
	lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	status, _, body := srv.Do("GET", sbMailPath, "")
	if status != http.StatusOK || string(body) != `{"mails":[],"page":{"total":0,"limit":1000,"offset":0}}` {
		t.Fatalf("empty outbox: %d %s", status, body)
	}
}
