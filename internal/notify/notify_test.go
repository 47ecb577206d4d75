package notify_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/notify"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/store/sqlite"
	"github.com/certorder/certorder/internal/store/storetest"
)

type world struct {
	st                      store.Store
	acct                    *store.Account
	top, child              int64
	requester, admin, mgr   *store.User
	childMgr, deleted, tech *store.User
	org                     *store.Organization
}

// newWorld is an account with an administrator (made by SeedAccount), a
// manager, a manager of a child division, a requester with a locale of
// her own, a deleted user, and an organization with both contacts.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "certorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acctID, adminID, top := storetest.SeedAccount(t, st, "w"+strings.ReplaceAll(t.Name(), "/", "-"))
	w := &world{st: st, top: top}
	now := time.Now().UTC()
	err = st.InTx(ctx, func(tx store.Tx) error {
		c := &store.Container{AccountID: acctID, ParentID: top, Name: "child", IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		w.child = c.ID
		mk := func(name string, role int, container int64, locale string) (*store.User, error) {
			u := &store.User{AccountID: acctID, ContainerID: container, Username: name + "-" + t.Name(), FirstName: name, LastName: "X",
				Email: name + "@people.example", AccessRole: role, Locale: locale, CreatedAt: now}
			return u, tx.CreateUser(ctx, u)
		}
		var err error
		if w.mgr, err = mk("mgr", store.RoleManager, top, ""); err != nil {
			return err
		}
		if w.childMgr, err = mk("childmgr", store.RoleManager, w.child, ""); err != nil {
			return err
		}
		if w.requester, err = mk("req", store.RoleStandardUser, top, "ja"); err != nil {
			return err
		}
		if w.tech, err = mk("tech", store.RoleStandardUser, top, "fr"); err != nil {
			return err
		}
		if w.deleted, err = mk("gone", store.RoleManager, top, ""); err != nil {
			return err
		}
		if err := tx.SetUserStatus(ctx, acctID, w.deleted.ID, store.UserDeleted); err != nil {
			return err
		}
		if err := tx.UpdateUser(ctx, &store.User{ID: adminID, AccountID: acctID, ContainerID: top, FirstName: "Ad", LastName: "Min",
			Email: "Admin@People.example", AccessRole: store.RoleAdministrator}); err != nil {
			return err
		}
		w.org = &store.Organization{AccountID: acctID, ContainerID: top, Name: "Org", IsActive: true, CreatedAt: now,
			OrganizationContact: &store.Contact{FirstName: "Olga", LastName: "Org", Email: "olga@org.example"},
			TechnicalContact:    &store.Contact{FirstName: "Otto", LastName: "Tech", Email: "otto@org.example"}}
		return tx.CreateOrganization(ctx, w.org)
	})
	if err != nil {
		t.Fatal(err)
	}
	if w.acct, err = st.Account(ctx, acctID); err != nil {
		t.Fatal(err)
	}
	if w.admin, err = st.User(ctx, acctID, adminID); err != nil {
		t.Fatal(err)
	}
	return w
}

// TestRecipients walks the recipient rules: the groups each setting
// names by default and as the account sets them, the order's own
// contacts before its organization's, a contact who is a user taking that
// user's language, the approvers of the order's division, the requester
// left out once deleted, the additional emails and the account's copies
// always, each address once whatever its case, the first approver of a
// two-step request skipped, and every recipient in their language.
func TestRecipients(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	type rcpt struct{ email, name, locale string }
	base := func() *store.Order {
		return &store.Order{AccountID: w.acct.ID, ContainerID: w.top, UserID: w.requester.ID, OrganizationID: w.org.ID, Locale: "de",
			AdditionalEmails: []string{"extra@watchers.example", "OLGA@org.example"}}
	}
	cases := []struct {
		name     string
		settings store.AccountNotifications
		order    func(o *store.Order)
		setting  string
		skip     func() int64
		want     []rcpt
	}{
		{name: "confirmation: the approvers of the division", setting: account.SettingConfirmation,
			want: []rcpt{{"Admin@People.example", "Ad Min", "de"}, {"mgr@people.example", "mgr X", "de"}, {"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}}},
		{name: "confirmation in a child division: its manager too", setting: account.SettingConfirmation, order: func(o *store.Order) { o.ContainerID = w.child },
			want: []rcpt{{"Admin@People.example", "Ad Min", "de"}, {"mgr@people.example", "mgr X", "de"}, {"childmgr@people.example", "childmgr X", "de"}, {"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}}},
		{name: "second approval skips the first approver", setting: account.SettingConfirmation, skip: func() int64 { return w.mgr.ID },
			want: []rcpt{{"Admin@People.example", "Ad Min", "de"}, {"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}}},
		{name: "rejection: the requester, in her language", setting: account.SettingRejection,
			want: []rcpt{{"req@people.example", "req X", "ja"}, {"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}}},
		{name: "approval: requester and the organization's technical contact", setting: account.SettingApproval,
			want: []rcpt{{"req@people.example", "req X", "ja"}, {"otto@org.example", "Otto Tech", "de"}, {"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}}},
		{name: "the order's technical contact, a user, in the user's language", setting: account.SettingApproval,
			order: func(o *store.Order) {
				o.Extra.TechnicalContact = &store.Contact{UserID: w.tech.ID, FirstName: "Tess", LastName: "Tech", Email: "tech@people.example"}
			},
			want: []rcpt{{"req@people.example", "req X", "ja"}, {"tech@people.example", "Tess Tech", "fr"}, {"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}}},
		{name: "renewal without a locale: English", setting: account.SettingRenewal, order: func(o *store.Order) { o.Locale = ""; o.UserID = w.mgr.ID },
			want: []rcpt{{"mgr@people.example", "mgr X", "en"}, {"otto@org.example", "Otto Tech", "en"}, {"extra@watchers.example", "", "en"}, {"OLGA@org.example", "", "en"}}},
		{name: "a deleted requester receives nothing", setting: account.SettingRejection, order: func(o *store.Order) { o.UserID = w.deleted.ID },
			want: []rcpt{{"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}}},
		{name: "set: the organization contact, once whatever the case", setting: account.SettingApproval,
			settings: store.AccountNotifications{Recipients: map[string][]string{account.SettingApproval: {account.GroupOrgContact}}},
			want:     []rcpt{{"olga@org.example", "Olga Org", "de"}, {"extra@watchers.example", "", "de"}}},
		{name: "set to none: additional emails and the account's copies", setting: account.SettingApproval,
			settings: store.AccountNotifications{Recipients: map[string][]string{account.SettingApproval: {}}, AdminEmails: []string{"copies@audit.example", "extra@WATCHERS.example"}},
			want:     []rcpt{{"extra@watchers.example", "", "de"}, {"OLGA@org.example", "", "de"}, {"copies@audit.example", "", "de"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := base()
			if c.order != nil {
				c.order(o)
			}
			acct := *w.acct
			acct.Notifications = c.settings
			var skip int64
			if c.skip != nil {
				skip = c.skip()
			}
			got, err := notify.Recipients(context.Background(), w.st, &acct, o, c.setting, skip)
			if err != nil {
				t.Fatal(err)
			}
			var gotR []rcpt
			for _, r := range got {
				gotR = append(gotR, rcpt{r.Email, r.Name, r.Locale})
			}
			if !slices.Equal(gotR, c.want) {
				t.Errorf("recipients\n got %q\nwant %q", gotR, c.want)
			}
		})
	}
}

// TestRenderDropsDecidedRequest: a "waiting for approval" message whose
// request was decided before it was sent is dropped, not sent.
func TestRenderDropsDecidedRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	now := time.Now().UTC()
	o := &store.Order{AccountID: w.acct.ID, ContainerID: w.top, UserID: w.requester.ID, ProductNameID: "ssl_securesite",
		Status: store.OrderNeedsApproval, CommonName: "drop.example.com", CreatedAt: now, UpdatedAt: now, OrderValidTill: now.AddDate(1, 0, 0)}
	r := &store.Request{AccountID: w.acct.ID, Type: store.RequestNew, Status: store.RequestPending, RequesterID: w.requester.ID, Date: now}
	n := &notify.Notifier{Store: w.st, Mail: kicker{}, From: "ca@example.com", BaseURL: "https://ca.example"}
	placeWithRequest(t, w, o, r, func(tx store.Tx) error { return n.RequestPending(ctx, tx, o, r, 0, now) })
	rows, err := w.st.MailByOrder(ctx, w.acct.ID, o.ID)
	if err != nil || len(rows) == 0 {
		t.Fatalf("queued: %v %v", rows, err)
	}
	if m, err := n.Render(ctx, &rows[0]); err != nil || !strings.Contains(m.Subject, "drop.example.com") || m.ToName == "" {
		t.Fatalf("while waiting: %+v %v", m, err)
	}
	r.Status = store.RequestApproved
	if err := w.st.InTx(ctx, func(tx store.Tx) error { return tx.UpdateRequest(ctx, r) }); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Render(ctx, &rows[0]); !errors.Is(err, mail.ErrDrop) {
		t.Fatalf("after the approval: %v, want mail.ErrDrop", err)
	}
	// Without a sender, nothing is queued at all.
	quiet := &notify.Notifier{Store: w.st}
	if err := w.st.InTx(ctx, func(tx store.Tx) error { return quiet.RequestPending(ctx, tx, o, r, 0, now) }); err != nil {
		t.Fatal(err)
	}
	if again, _ := w.st.MailByOrder(ctx, w.acct.ID, o.ID); len(again) != len(rows) {
		t.Errorf("a notifier without a sender queued %d more", len(again)-len(rows))
	}
}

// placeWithRequest records order o and its request r, then event, in one
// transaction.
func placeWithRequest(t *testing.T, w *world, o *store.Order, r *store.Request, event func(store.Tx) error) {
	t.Helper()
	ctx := context.Background()
	err := w.st.InTx(ctx, func(tx store.Tx) error {
		if err := tx.CreateOrder(ctx, o); err != nil {
			return err
		}
		r.OrderID = o.ID
		if err := tx.CreateRequest(ctx, r); err != nil {
			return err
		}
		return event(tx)
	})
	if err != nil {
		t.Fatal(err)
	}
}

type kicker struct{}

func (kicker) Kick() {}

// countingKicker counts how often the sender was woken.
type countingKicker struct{ n int }

func (k *countingKicker) Kick() { k.n++ }

// TestKickSinceOnlyAfterMail: the sender is woken after a transaction
// whose events queued mail, and not after one whose events found nobody
// to mail (an account that mails nobody costs the sender no look at its
// outbox per order); a mark taken before another transaction queued wakes
// it too, so no caller's mail waits for the poll.
func TestKickSinceOnlyAfterMail(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	now := time.Now().UTC()
	k := &countingKicker{}
	n := &notify.Notifier{Store: w.st, Mail: k, From: "ca@example.com", BaseURL: "https://ca.example"}
	reject := func(user int64) {
		t.Helper()
		o := &store.Order{AccountID: w.acct.ID, ContainerID: w.top, UserID: user, ProductNameID: "ssl_securesite",
			Status: store.OrderRejected, CommonName: "kick.example.com", CreatedAt: now, UpdatedAt: now, OrderValidTill: now.AddDate(1, 0, 0)}
		r := &store.Request{AccountID: w.acct.ID, Type: store.RequestNew, Status: store.RequestRejected, RequesterID: user, Date: now}
		placeWithRequest(t, w, o, r, func(tx store.Tx) error { return n.RequestDecided(ctx, tx, o, r, now) })
	}
	cases := []struct {
		name string
		user func() int64
		want int
	}{
		// A rejection goes to the requester alone; a deleted one gets none.
		{"nobody to mail", func() int64 { return w.deleted.ID }, 0},
		{"the requester mailed", func() int64 { return w.requester.ID }, 1},
	}
	for _, c := range cases {
		k.n = 0
		mark := n.Mark()
		reject(c.user())
		n.KickSince(mark)
		if k.n != c.want {
			t.Errorf("%s: the sender was woken %d times, want %d", c.name, k.n, c.want)
		}
	}
	k.n = 0
	mark := n.Mark()
	reject(w.requester.ID) // another caller's transaction, between this one's mark and its commit
	n.KickSince(mark)
	if k.n != 1 {
		t.Errorf("after another transaction queued: woken %d times, want 1", k.n)
	}
}

// TestAttachmentName: a common name becomes a file name with nothing but
// letters, digits, '-' and '_'.
func TestAttachmentName(t *testing.T) {
	t.Parallel()
	for cn, want := range map[string]string{
		"www.example.com": "www_example_com.pem", "*.example.com": "star_example_com.pem", "Jürgen Müller": "J_rgen_M_ller.pem",
		"../../etc/passwd": "etc_passwd.pem", "": "certificate_7.pem", strings.Repeat("a", 70): "certificate_7.pem",
	} {
		if got := notify.AttachmentName(cn, 7); got != want {
			t.Errorf("%q: %q, want %q", cn, got, want)
		}
	}
}

// TestIssuedForTakesTheCallersSettings: IssuedFor follows the recipient
// settings of the account it is handed (the placing request's view), and
// reads the stored ones when handed none or another account's.
func TestIssuedForTakesTheCallersSettings(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	ctx := context.Background()
	now := time.Now().UTC()
	n := &notify.Notifier{Store: w.st, Mail: kicker{}, From: "ca@example.com", BaseURL: "https://ca.example"}
	silent := *w.acct
	silent.Notifications = store.AccountNotifications{Recipients: map[string][]string{account.SettingApproval: {}}}
	other := silent
	other.ID = w.acct.ID + 1000
	cases := []struct {
		name string
		acct *store.Account
		want int // messages queued: the stored settings mail the requester and the organization's technical contact
	}{
		{"the caller's view: nobody", &silent, 0},
		{"none handed: the stored settings", nil, 2},
		{"another account's: the stored settings", &other, 2},
	}
	for _, c := range cases {
		o := &store.Order{AccountID: w.acct.ID, ContainerID: w.top, UserID: w.requester.ID, OrganizationID: w.org.ID, ProductNameID: "ssl_securesite",
			Status: store.OrderIssued, CommonName: "issued.example.com", CreatedAt: now, UpdatedAt: now, OrderValidTill: now.AddDate(1, 0, 0)}
		err := w.st.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateOrder(ctx, o); err != nil {
				return err
			}
			cert := &store.Certificate{ID: 1, AccountID: w.acct.ID, OrderID: o.ID, CommonName: o.CommonName, NotBefore: now, NotAfter: now.AddDate(1, 0, 0)}
			return n.IssuedFor(ctx, tx, c.acct, o, cert, "", now)
		})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := w.st.MailByOrder(ctx, w.acct.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != c.want {
			t.Errorf("%s: %d messages queued, want %d", c.name, len(rows), c.want)
		}
	}
}
