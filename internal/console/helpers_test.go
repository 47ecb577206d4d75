package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web/webtest"
)

// password is every test user's console password.
const password = "correct horse battery"

// fixture is a running server with the account's administrator at hand.
type fixture struct {
	t     *testing.T
	srv   *testenv.Server
	base  string
	admin account.Actor
	top   int64 // the account's top container
}

func start(t *testing.T, opts testenv.Options) *fixture {
	t.Helper()
	srv := testenv.Start(t, opts)
	ctx := context.Background()
	acct, err := srv.App.Store.FirstAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := srv.App.Store.UserByUsername(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, srv: srv, base: srv.URL, admin: account.As(acct, admin, account.KeyRoleInherit), top: admin.ContainerID}
	if err := srv.App.Console.Accounts.SetPassword(ctx, f.admin, admin.ID, password, 0); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) url(path string) string { return f.base + path }

// container adds a container under the top one.
func (f *fixture) container(name string) int64 {
	f.t.Helper()
	c, err := f.srv.App.Console.Accounts.CreateContainer(context.Background(), f.admin, f.top, "parent", &account.ContainerInput{Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	return c.ID
}

// user adds a user with a console password.
func (f *fixture) user(username string, role int, container int64, first string) *store.User {
	f.t.Helper()
	ctx := context.Background()
	if container == 0 {
		container = f.top
	}
	u, _, err := f.srv.App.Console.Accounts.CreateUser(ctx, f.admin, &account.UserInput{Username: username, FirstName: first, LastName: "Tester",
		Email: username + "@example.com", AccessRoles: []flex.IDInput{{ID: flex.NewInt(int64(role))}}, Container: &flex.IDInput{ID: flex.NewInt(container)}})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.srv.App.Console.Accounts.SetPassword(ctx, f.admin, u.ID, password, 0); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// actor is u acting as the console acts for them.
func (f *fixture) actor(u *store.User) account.Actor {
	return account.As(f.admin.Account, u, account.KeyRoleInherit)
}

// withTOTP turns on a second factor for u, enrolled with the code of the
// step before now; code(d) is the code d steps from now.
func (f *fixture) withTOTP(u *store.User, now time.Time) (code func(d int64) string) {
	f.t.Helper()
	ctx := context.Background()
	seed, err := f.srv.App.Console.Accounts.StartTOTP(ctx, f.actor(u))
	if err != nil {
		f.t.Fatal(err)
	}
	code = func(d int64) string { return account.TOTPCode(seed, account.TOTPStep(now)+d) }
	if err := f.srv.App.Console.Accounts.ConfirmTOTP(ctx, f.actor(u), code(-1), now); err != nil {
		f.t.Fatal(err)
	}
	return code
}

// order places an ssl_securesite order through the order service, as the
// API would for u, and returns its id.
func (f *fixture) order(u *store.User, cn, comments string) int64 {
	f.t.Helper()
	in := &order.CreateInput{Certificate: &order.CertificateInput{CommonName: cn, CSR: testenv.CSR(f.t, testenv.RSAKey(f.t), cn), SignatureHash: "sha256"},
		ValidityYears: flex.NewInt(1), Organization: &validation.OrganizationInput{ID: flex.NewInt(1)}, Comments: comments}
	ctx := context.Background()
	a := f.actor(u)
	if sc, ok, err := account.ScopeFor(ctx, f.srv.App.Store, a); err != nil {
		f.t.Fatal(err)
	} else if ok {
		ctx = account.WithScope(ctx, sc)
	}
	res, err := f.srv.App.Orders.CreateOrder(ctx, a, "ssl_securesite", in)
	if err != nil {
		f.t.Fatalf("place order for %s: %v", cn, err)
	}
	return res.OrderID
}

// signIn signs username in with a new browser.
func (f *fixture) signIn(username string) *webtest.Browser {
	f.t.Helper()
	b := webtest.New(f.t)
	p := b.Submit(f.url("/console/signin"), url.Values{"username": {username}, "password": {password}})
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != "/console/" {
		f.t.Fatalf("sign in %s: %d %s %s", username, p.Status, p.Header.Get("Location"), p.Body)
	}
	return b
}

// post sends a form of the page at page to action with the page's form
// token, as the page's own form would.
func post(t *testing.T, b *webtest.Browser, page, action string, form url.Values) webtest.Page {
	t.Helper()
	p := b.Get(page)
	if p.Status != http.StatusOK {
		t.Fatalf("GET %s: %d", page, p.Status)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", p.Hidden().Get("csrf_token"))
	return b.Post(action, form)
}

func requireStatus(t *testing.T, p webtest.Page, want int, what string) {
	t.Helper()
	if p.Status != want {
		t.Fatalf("%s: status %d, want %d\n%s", what, p.Status, want, clip(p.Body))
	}
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// clock is a wall clock a test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waitStatus waits until order id has status want.
func (f *fixture) waitStatus(id int64, want string) *store.Order {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o, err := f.srv.App.Store.Order(context.Background(), f.admin.Account.ID, id)
		if err != nil {
			f.t.Fatal(err)
		}
		if o.Status == want {
			return o
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("order %d is %s, want %s", id, o.Status, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func contains(body, s string) bool { return strings.Contains(body, s) }
