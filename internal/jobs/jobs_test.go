package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv"
	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/backend"
	"github.com/certorder/certorder/internal/testenv"
)

const day = 24 * time.Hour

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// testClock is business time that a test moves.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// env is a real SQLite store, an engine and an outbox sender delivering to
// a real SMTP server on loopback.
type env struct {
	dir, database string // the store: SQLite in dir, or a PostgreSQL URL
	st            store.Store
	clk           *testClock
	eng           *jobs.Engine
	q             *mail.Queue
	smtp          *dcvtest.SMTP
	acct          int64
	user          int64
	cont          int64
	org           int64
	start         time.Time
}

var t0 = time.Date(2026, 1, 10, 10, 0, 0, 0, time.UTC)

// open is one more connection to the env's store, as another process
// would have.
func (e *env) open(t *testing.T) store.Store {
	t.Helper()
	st, err := backend.Open(context.Background(), e.database, e.dir, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnv(t *testing.T) *env { return newEnvOn(t, "") }

// newEnvOn makes an env on database: "" for SQLite, else a PostgreSQL URL.
func newEnvOn(t *testing.T, database string) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{dir: t.TempDir(), database: database, clk: &testClock{t: t0}, smtp: dcvtest.StartSMTP(t), start: t0}
	e.st = e.open(t)
	e.eng = e.engine(e.st)
	relay, err := dcv.NewMailer(e.smtp.URL(), "certorder@example.com", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.q = &mail.Queue{Store: e.st, Relay: relay, Now: e.clk.now, Log: quiet,
		Renderers: map[string]mail.Renderer{jobs.MailKindRenewal: e.eng.RenderRenewalMail}}
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		a := &store.Account{Name: "jobs", CreatedAt: t0}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		c := &store.Container{AccountID: a.ID, Name: "jobs", IsActive: true, CreatedAt: t0}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: a.ID, ContainerID: c.ID, Username: "requester", Email: "requester@example.com",
			AccessRole: store.RoleAdministrator, Status: store.UserActive, CreatedAt: t0}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		org := &store.Organization{AccountID: a.ID, ContainerID: c.ID, Name: "Jobs Inc.", IsActive: true, CreatedAt: t0}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		e.acct, e.user, e.cont, e.org = a.ID, u.ID, c.ID, org.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) engine(st store.Store) *jobs.Engine {
	return &jobs.Engine{Store: st, Now: e.clk.now, MailFrom: "certorder@example.com", Log: quiet}
}

// order makes an issued order of cn that ends a year after t0's day, with
// a technical contact, the requester and one additional address; f
// adjusts it.
func (e *env) order(t *testing.T, cn string, f func(o *store.Order)) *store.Order {
	t.Helper()
	ctx := context.Background()
	day0 := e.start.Truncate(day)
	o := &store.Order{AccountID: e.acct, UserID: e.user, ContainerID: e.cont, OrganizationID: e.org, ProductNameID: "ssl_securesite", Status: store.OrderIssued,
		CommonName: cn, DNSNames: []string{cn, "www." + cn}, SignatureHash: "sha256", ValidityYears: 1,
		OrderValidTill: day0.AddDate(1, 0, 0), CreatedAt: e.start, UpdatedAt: e.start,
		AdditionalEmails: []string{"extra-" + cn + "@example.com"}, Locale: "en"}
	o.Extra.TechnicalContact = &store.Contact{FirstName: "Tech", Email: "tech-" + cn + "@example.com"}
	if f != nil {
		f(o)
	}
	if err := e.st.InTx(ctx, func(tx store.Tx) error { return tx.CreateOrder(ctx, o) }); err != nil {
		t.Fatal(err)
	}
	return o
}

// round runs the engine and delivers what it queued.
func (e *env) round(t *testing.T, engines ...*jobs.Engine) {
	t.Helper()
	ctx := context.Background()
	if len(engines) == 0 {
		engines = []*jobs.Engine{e.eng}
	}
	for _, eng := range engines {
		eng.Round(ctx)
	}
	for e.q.Round(ctx) > 0 {
	}
}

// arrival is one message received, with the day (relative to its order's
// end) on which it arrived.
type arrival struct {
	day int
	msg dcvtest.Message
}

// walk moves the clock a day at a time from t0 to until, running a round
// (and any extra) each day, and returns the messages by recipient.
func (e *env) walk(t *testing.T, until time.Time, end func(rcpt string) time.Time, each func(now time.Time)) map[string][]arrival {
	t.Helper()
	out := map[string][]arrival{}
	seen := 0
	for now := t0; !now.After(until); now = now.Add(day) {
		e.clk.set(now)
		e.round(t)
		if each != nil {
			each(now)
		}
		msgs := e.smtp.Messages()
		for _, m := range msgs[seen:] {
			for _, r := range m.To {
				d := int(now.Sub(end(r)).Hours() / 24)
				if now.Before(end(r)) {
					d = -int(end(r).Sub(now).Hours()/24) - 1
				}
				out[r] = append(out[r], arrival{d, m})
			}
		}
		seen = len(msgs)
	}
	return out
}

func days(as []arrival) []int {
	var out []int
	for _, a := range as {
		out = append(out, a.day)
	}
	return out
}

var allDays = []int{-90, -60, -30, -7, -3, 7}

// TestRenewalNotices: each notice arrives on its day, once, at each of
// the order's contacts, its requester and its additional addresses, in
// the order's locale (en when it has no template); each send_* switch
// turns its notice off, disable_renewal_notifications and a renewal turn
// them all off, and an order placed late gets only the notices after it.
func TestRenewalNotices(t *testing.T) {
	e := newEnv(t)
	type tc struct {
		cn      string
		set     func(o *store.Order)
		want    []int
		subject string // of the first notice
	}
	cases := []tc{
		{cn: "en.example", want: allDays, subject: "Your certificate for en.example expires in 90 days (2027-01-10)"},
		{cn: "de.example", set: func(o *store.Order) { o.Locale = "de" }, want: allDays,
			subject: "Ihr Zertifikat für de.example läuft in 90 Tagen ab (2027-01-10)"},
		{cn: "fr.example", set: func(o *store.Order) { o.Locale = "fr" }, want: allDays,
			subject: "Votre certificat pour fr.example expire dans 90 jours (2027-01-10)"},
		// A locale without templates falls back to en.
		{cn: "it.example", set: func(o *store.Order) { o.Locale = "it" }, want: allDays,
			subject: "Your certificate for it.example expires in 90 days (2027-01-10)"},
		{cn: "disabled.example", set: func(o *store.Order) { o.DisableRenewalNotifications = true }},
		{cn: "renewed.example", set: func(o *store.Order) { o.IsRenewed = true }},
		{cn: "late.example", set: func(o *store.Order) { o.OrderValidTill = t0.Truncate(day).Add(20 * day) }, want: []int{-7, -3, 7}},
	}
	for i, notice := range []string{store.NoticeMinus90, store.NoticeMinus60, store.NoticeMinus30, store.NoticeMinus7, store.NoticeMinus3, store.NoticePlus7} {
		want := slices.Delete(slices.Clone(allDays), i, i+1)
		cases = append(cases, tc{cn: "no-" + strings.ReplaceAll(notice, "_", "") + ".example",
			set: func(o *store.Order) { o.Extra.NoticesOff = []string{notice} }, want: want})
	}
	ends := map[string]time.Time{}
	var renewedByLater *store.Order
	for _, c := range cases {
		o := e.order(t, c.cn, c.set)
		ends[c.cn] = o.OrderValidTill
	}
	renewedByLater = e.order(t, "later.example", nil)
	e.order(t, "renewal.example", func(o *store.Order) { o.Status, o.RenewalOfOrderID = store.OrderPending, renewedByLater.ID })
	end := func(rcpt string) time.Time {
		for cn, end := range ends {
			if strings.Contains(rcpt, "-"+cn+"@") {
				return end
			}
		}
		return ends["en.example"]
	}
	got := e.walk(t, t0.AddDate(1, 0, 40), end, nil)

	for _, c := range cases {
		t.Run(c.cn, func(t *testing.T) {
			for _, r := range []string{"tech-" + c.cn + "@example.com", "extra-" + c.cn + "@example.com"} {
				if d := days(got[r]); !slices.Equal(d, c.want) {
					t.Fatalf("%s got notices on days %v, want %v", r, d, c.want)
				}
			}
			if c.subject != "" {
				m := got["tech-"+c.cn+"@example.com"][0].msg
				if m.Subject != c.subject {
					t.Errorf("subject = %q, want %q", m.Subject, c.subject)
				}
				if !strings.Contains(m.Body, "www."+c.cn) {
					t.Errorf("body names no www.%s:\n%s", c.cn, m.Body)
				}
			}
		})
	}
	for _, r := range []string{"tech-later.example@example.com", "tech-renewal.example@example.com"} {
		if len(got[r]) != 0 {
			t.Errorf("%s: a renewed order sent %v", r, days(got[r]))
		}
	}
	// The requester gets one message per notice of every order that sends.
	want := 0
	for _, c := range cases {
		want += len(c.want)
	}
	if n := len(got["requester@example.com"]); n != want {
		t.Errorf("requester got %d notices, want %d", n, want)
	}
	last := got["tech-de.example@example.com"][5].msg
	if !strings.Contains(last.Subject, "ist am 2027-01-10 abgelaufen") {
		t.Errorf("plus_7 subject in de = %q", last.Subject)
	}
}

// TestCustomMessageAndRenderEveryLocale: every locale's template renders
// both notices before and after the end, with the custom message.
func TestCustomMessageAndRenderEveryLocale(t *testing.T) {
	locales := mail.EmbeddedLocales(jobs.MailKindRenewal)
	if len(locales) != 6 || !slices.Contains(locales, "en") || !slices.Contains(locales, "zh_CN") {
		t.Fatalf("locales of renewal notices: %v", locales)
	}
	for _, l := range locales {
		for _, expired := range []bool{false, true} {
			d := jobs.RenewalNotice{Notice: "minus_30", OrderID: 7, ProductName: "Secure Site SSL", CommonName: "a.example",
				Names: []string{"a.example"}, MoreNames: 3, ExpiresOn: "2027-01-10", Expired: expired, Days: 1,
				CustomMessage: "Call <Jo> at 555-0100."}
			m, err := mail.Render(jobs.MailKindRenewal, l, d)
			if err != nil || m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || !strings.Contains(m.Body, "Call <Jo> at 555-0100.") ||
				!strings.Contains(m.Body, "3") || !strings.Contains(m.Body, "renewal_of_order_id 7") {
				t.Errorf("%s expired=%v: %q %q %v", l, expired, m.Subject, m.Body, err)
			}
			// The HTML twin says the same, every value escaped (a list
			// where the locale has its own HTML template, lines of the
			// text otherwise).
			if !strings.Contains(m.HTML, "Call &lt;Jo&gt; at 555-0100.") || strings.Contains(m.HTML, "<Jo>") || !strings.Contains(m.HTML, "a.example<") {
				t.Errorf("%s expired=%v: HTML %q", l, expired, m.HTML)
			}
		}
	}
}

// TestExpiry: an issued order becomes expired when its order_valid_till
// comes, once, with a status change at that time and an audit event.
func TestExpiry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	o := e.order(t, "expiring.example", nil)
	pending := e.order(t, "pending.example", func(o *store.Order) { o.Status = store.OrderPending })
	status := func(id int64) string {
		got, err := e.st.Order(ctx, e.acct, id)
		if err != nil {
			t.Fatal(err)
		}
		return got.Status
	}
	e.clk.set(o.OrderValidTill.Add(-time.Second))
	e.round(t)
	if s := status(o.ID); s != store.OrderIssued {
		t.Fatalf("a second before its end the order is %s", s)
	}
	at := o.OrderValidTill.Add(time.Hour)
	e.clk.set(at)
	e.round(t)
	if s := status(o.ID); s != store.OrderExpired {
		t.Fatalf("after its end the order is %s", s)
	}
	if s := status(pending.ID); s != store.OrderPending {
		t.Fatalf("a pending order became %s", s)
	}
	changes, err := e.st.StatusChanges(ctx, e.acct, at.Add(-time.Minute), at.Add(time.Minute))
	if err != nil || len(changes) != 1 || changes[0].OrderID != o.ID || changes[0].Status != store.OrderExpired {
		t.Fatalf("status changes = %+v, %v", changes, err)
	}
	e.clk.set(at.Add(day))
	e.round(t)
	evs, err := e.st.AuditEvents(ctx, e.acct, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Action == "order.expired" && ev.Object == fmt.Sprintf("order:%d", o.ID) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d order.expired audit events, want 1", n)
	}
}

// TestNoticeOnceAcrossRestarts: an engine that starts after another (on a
// second connection to the same database, its round due again) sends
// nothing the first one sent; after downtime, only the notice due now is
// sent, not the ones whose day passed.
func TestNoticeOnceAcrossRestarts(t *testing.T) {
	e := newEnv(t)
	o := e.order(t, "restart.example", nil)
	second := e.engine(e.open(t))
	got := e.walk(t, t0.AddDate(1, 0, 10), func(string) time.Time { return o.OrderValidTill }, func(now time.Time) {
		e.clk.set(now.Add(2 * jobs.DefaultEvery))
		e.round(t, second)
	})
	if d := days(got["tech-restart.example@example.com"]); !slices.Equal(d, allDays) {
		t.Fatalf("with a restart every day: notices on days %v, want %v", d, allDays)
	}

	// Downtime from before the 90-day notice to 20 days before the end.
	e2 := newEnv(t)
	o2 := e2.order(t, "down.example", nil)
	e2.clk.set(o2.OrderValidTill.Add(-100 * day))
	e2.round(t)
	e2.clk.set(o2.OrderValidTill.Add(-20 * day))
	e2.round(t)
	e2.round(t, e2.engine(e2.open(t)))
	msgs := e2.smtp.Messages()
	if len(msgs) != 3 || !strings.Contains(msgs[0].Subject, "in 20 days") {
		t.Fatalf("after downtime: %d messages, first %q; want the 30-day notice once to 3 recipients", len(msgs), msgs[0].Subject)
	}
	ns, err := e2.st.OrderNotices(context.Background(), e2.acct, o2.ID)
	sent := map[string]bool{}
	for _, n := range ns {
		sent[n.Notice] = n.Sent
	}
	if err != nil || len(ns) != 3 || sent[store.NoticeMinus90] || sent[store.NoticeMinus60] || !sent[store.NoticeMinus30] {
		t.Fatalf("notices recorded = %+v, %v (90 and 60 passed over, 30 sent)", ns, err)
	}
}

// TestRacingEngines: two engines on one store, each on its own
// connection, running the notice job at once (without the round's claim)
// on every notice day, queue each notice once.
func TestRacingEngines(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			database := ""
			if backend == "postgres" {
				database = testenv.PostgresDatabase(t)
			}
			testRacingEngines(t, newEnvOn(t, database))
		})
	}
}

func testRacingEngines(t *testing.T, e *env) {
	ctx := context.Background()
	var orders []*store.Order
	for i := range 5 {
		orders = append(orders, e.order(t, fmt.Sprintf("race%d.example", i), nil))
	}
	engines := []*jobs.Engine{e.eng, e.engine(e.open(t)), e.engine(e.open(t))}
	end := orders[0].OrderValidTill
	for _, s := range jobs.Schedule {
		now := end.Add(s.Offset).Add(time.Hour)
		var wg sync.WaitGroup
		for _, eng := range engines {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := eng.NoticesAt(ctx, now); err != nil {
						t.Error(err)
					}
				}()
			}
		}
		wg.Wait()
	}
	for _, o := range orders {
		ms, err := e.st.MailByOrder(ctx, e.acct, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3*len(jobs.Schedule) {
			t.Errorf("order %d: %d messages queued, want %d", o.ID, len(ms), 3*len(jobs.Schedule))
		}
	}
}

// failingStore fails the expiry job's query while fail is set.
type failingStore struct {
	jobs.Store
	fail atomic.Bool
}

func (f *failingStore) OrdersToExpire(ctx context.Context, at time.Time, limit int) ([]store.Order, error) {
	if f.fail.Load() {
		return nil, errors.New("disk on fire")
	}
	return f.Store.OrdersToExpire(ctx, at, limit)
}

// TestRoundScheduleAndBackoff: a round runs when its schedule is due and
// moves it a period on; a failed round is retried after a delay doubling
// on the business clock, and a success resets it; another engine on the
// same store leaves a round that is not due.
func TestRoundScheduleAndBackoff(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	fs := &failingStore{Store: e.st}
	eng := &jobs.Engine{Store: fs, Now: e.clk.now, Every: time.Minute, Log: quiet}
	other := e.engine(e.open(t))
	other.Every = time.Minute
	job := func() *store.Job {
		t.Helper()
		j, err := e.st.Job(ctx, jobs.KindExpire)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	fs.fail.Store(true)
	steps := []struct {
		at       time.Duration // after t0
		eng      *jobs.Engine
		fail     bool
		wantErr  bool
		attempts int
		next     time.Duration
	}{
		{0, eng, true, true, 1, time.Minute},
		{30 * time.Second, eng, true, false, 1, time.Minute}, // not due: untouched
		{time.Minute, eng, true, true, 2, 3 * time.Minute},
		{2 * time.Minute, other, false, false, 2, 3 * time.Minute}, // not due for the other engine either
		{3 * time.Minute, eng, true, true, 3, 7 * time.Minute},
		{7 * time.Minute, eng, false, false, 0, 8 * time.Minute},
		{8 * time.Minute, other, false, false, 0, 9 * time.Minute},
	}
	for i, s := range steps {
		e.clk.set(t0.Add(s.at))
		fs.fail.Store(s.fail)
		_, err := s.eng.RoundOf(ctx, jobs.KindExpire)
		j := job()
		if (err != nil) != s.wantErr || j.Attempts != s.attempts || !j.NextAt.Equal(t0.Add(s.next)) {
			t.Fatalf("step %d: err %v, schedule %+v; want error %v, %d attempts, next at t0+%v", i, err, j, s.wantErr, s.attempts, s.next)
		}
		if (j.LastError != "") != (s.attempts > 0) {
			t.Fatalf("step %d: last error %q", i, j.LastError)
		}
	}
}
