package console_test

import (
	"context"
	"crypto/elliptic"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	chromium "github.com/certorder/certorder/internal/testenv/browser"
)

func TestMain(m *testing.M) {
	// The console's tests sign users in by the hundred; what argon2id costs
	// is account's TestPasswordHash's matter, not theirs.
	account.PasswordCost = account.Argon2id{Time: 1, MemoryKiB: 64}
	code := m.Run()
	chromium.Close()
	os.Exit(code)
}

// run runs steps in a tab, failing the test with what the page says.
func run(t *testing.T, tab context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, steps...); err != nil {
		t.Fatalf("%s: %v; the page says: %.2000s", what, err, pageText(tab))
	}
}

func pageText(tab context.Context) string {
	text, _ := chromedp.Run(tab, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	return text
}

// waitText waits until the tab's page text holds want.
func waitText(t *testing.T, tab context.Context, want string) {
	t.Helper()
	expr := fmt.Sprintf("document.readyState === 'complete' && document.body && document.body.innerText.includes(%q)", want)
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok, err := chromedp.Run(tab, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return
		}
	}
	t.Fatalf("the page never said %q; it says: %.2000s", want, pageText(tab))
}

// signInByKeyboard signs a user in with the keyboard only: the name, Tab
// to the password, Enter.
func signInByKeyboard(t *testing.T, f *fixture, tab context.Context, username string) {
	t.Helper()
	run(t, tab, "sign in "+username,
		chromedp.Navigate(f.url("/console/signin")),
		chromedp.WaitVisible("#username"),
		chromedp.Focus("#username"),
		chromedp.KeyEvent(username+"\t"+password+"\r"),
	)
	waitText(t, tab, "Sign out")
}

// TestBrowserOrderApproveDownloadRevoke drives the console in a real
// headless Chromium: a standard user places an order with the form, a
// manager approves it in the queue, the user downloads the certificate and
// revokes it, the manager approves the revocation, and a limited user of
// another container cannot see the order.
func TestBrowserOrderApproveDownloadRevoke(t *testing.T) {
	t.Parallel()
	chrome := chromium.Shared(t)
	f := start(t, testenv.Options{Sandbox: true})
	east := f.container("East")
	f.user("sam", store.RoleStandardUser, 0, "Sam")
	f.user("max", store.RoleManager, 0, "Max")
	f.user("lim", store.RoleLimitedUser, east, "Lim")
	sam, max, lim := chrome.Tab(t), chrome.Tab(t), chrome.Tab(t)

	signInByKeyboard(t, f, sam, "sam")
	csr := testenv.CSR(t, testenv.RSAKey(t), "ignored.example.com")
	run(t, sam, "fill the order form",
		chromedp.Navigate(f.url("/console/products/ssl_securesite")),
		chromedp.WaitVisible("#common_name"),
		chromedp.SendKeys("#common_name", "shop.example.com"),
		chromedp.SetValue("#organization", "1"),
		chromedp.SetValue("#csr", csr),
		chromedp.SendKeys("#comments", "for the shop"),
		chromedp.Click("form.order-form button[type=submit]"),
	)
	waitText(t, sam, "The order was placed.")
	loc, err := chromedp.Run(sam, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	orderPage := strings.TrimSuffix(loc, "?done=placed")
	id := mustID(t, strings.TrimPrefix(loc, f.base))
	f.waitStatus(id, store.OrderNeedsApproval)

	signInByKeyboard(t, f, max, "max")
	rq := firstRequest(t, f, id)
	form := fmt.Sprintf(`form[action="/console/requests/%d"]`, rq.ID)
	run(t, max, "approve in the queue",
		chromedp.Navigate(f.url("/console/requests")),
		chromedp.WaitVisible(form),
		chromedp.SendKeys(fmt.Sprintf("#comment-%d", rq.ID), "fine by me"),
		chromedp.Click(form+` button[value="approved"]`),
	)
	waitText(t, max, "The request was approved.")
	o := f.waitStatus(id, store.OrderIssued)

	// A real download, into a directory of the test's own.
	dir := t.TempDir()
	run(t, sam, "allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		c := chromedp.FromContext(ctx)
		_, err := cdp.Call(ctx, c.Browser, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, BrowserContextID: c.BrowserContextID, DownloadPath: dir})
		return err
	}))
	link := fmt.Sprintf(`a[href="/console/orders/%d/certificates/%d/pem_all"]`, id, o.CertificateID)
	run(t, sam, "download the certificate",
		chromedp.Navigate(orderPage),
		chromedp.WaitVisible(fmt.Sprintf("#cert-%d", o.CertificateID)),
		chromedp.Click(fmt.Sprintf(`section[aria-labelledby="cert-%d"] details summary`, o.CertificateID)),
		chromedp.WaitVisible(link),
		chromedp.Click(link),
	)
	pem := waitFile(t, filepath.Join(dir, "shop_example_com.pem"))
	chain := testenv.ParsePEMChain(t, pem)
	if chain[0].Subject.CommonName != "shop.example.com" || len(chain) != 3 {
		t.Fatalf("downloaded %d certificates, leaf %s", len(chain), chain[0].Subject)
	}
	testenv.RequireLintClean(t, chain[0].Raw)

	run(t, sam, "revoke",
		chromedp.Navigate(orderPage),
		chromedp.WaitVisible("#actions"),
		chromedp.Click(`details:has(#revoke-reason) summary`),
		chromedp.SetValue("#revoke-reason", "key_compromise"),
		chromedp.SendKeys("#revoke-comments", "laptop lost"),
		// The page asks before revoking; this user says yes.
		chromedp.Evaluate[chromedp.Void]("window.confirm = () => true"),
		chromedp.Click(fmt.Sprintf(`form[action="/console/orders/%d/revoke"] button[type=submit]`, id)),
	)
	waitText(t, sam, "The revocation was requested or done.")
	reqs := requestsOf(t, f, id)
	revoke := reqs[len(reqs)-1]
	if revoke.Type != store.RequestRevoke || revoke.Status != store.RequestPending {
		t.Fatalf("after the revoke form, the last request is %+v", revoke)
	}
	form = fmt.Sprintf(`form[action="/console/requests/%d"]`, revoke.ID)
	run(t, max, "approve the revocation from the dashboard",
		chromedp.Navigate(f.url("/console/")),
		chromedp.WaitVisible(form),
		chromedp.Click(form+` button[value="approved"]`),
	)
	waitText(t, max, "The request was approved.")
	f.waitStatus(id, store.OrderRevoked)
	run(t, sam, "the order page after revocation", chromedp.Navigate(orderPage))
	waitText(t, sam, "key compromise")

	signInByKeyboard(t, f, lim, "lim")
	run(t, lim, "another container's order", chromedp.Navigate(orderPage))
	waitText(t, lim, "Not found")
	run(t, lim, "the order list", chromedp.Navigate(f.url("/console/orders")))
	waitText(t, lim, "No orders match.")
	if strings.Contains(pageText(lim), "shop.example.com") {
		t.Error("the limited user's order list shows another container's order")
	}
}

// TestBrowserX9Order places an X9 order in a real Chromium through the
// form: names, IP addresses, key usages ticked and unticked, the card's
// inputs hidden until a card is chosen; the certificate issued carries
// them and lints clean.
func TestBrowserX9Order(t *testing.T) {
	t.Parallel()
	chrome := chromium.Shared(t)
	f := start(t, testenv.Options{Sandbox: true})
	tab := chrome.Tab(t)
	signInByKeyboard(t, f, tab, "admin")
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	run(t, tab, "open the X9 form",
		chromedp.Navigate(f.url("/console/products/x9_pki")),
		chromedp.WaitVisible("#ip_addresses"),
	)
	hidden, err := chromedp.Run(tab, chromedp.Evaluate[bool]("document.getElementById('card').hidden"))
	if err != nil || !hidden {
		t.Fatalf("the card's inputs are shown for a balance payment (hidden %v, %v)", hidden, err)
	}
	run(t, tab, "choose a card, then the balance again",
		chromedp.SetValue("#payment_method", "card"),
		chromedp.Evaluate[chromedp.Void]("document.getElementById('payment_method').dispatchEvent(new Event('change'))"),
		chromedp.WaitVisible("#card_number"),
		chromedp.SetValue("#payment_method", "balance"),
		chromedp.Evaluate[chromedp.Void]("document.getElementById('payment_method').dispatchEvent(new Event('change'))"),
		chromedp.WaitNotVisible("#card_number"),
	)
	run(t, tab, "fill the X9 form",
		chromedp.SendKeys("#common_name", "bank.example.com"),
		chromedp.SendKeys("#dns_names", "www.bank.example.com"),
		chromedp.SendKeys("#ip_addresses", "93.184.216.34\n2606:4700:4700::1111"),
		chromedp.Click("#ku-key_agreement_encipherment"),
		chromedp.Click("#eku-client_authentication"),
		chromedp.SetValue("#organization", "1"),
		chromedp.SetValue("#csr", csr),
		chromedp.Click("#skip_approval"),
		chromedp.Click("form.order-form button[type=submit]"),
	)
	waitText(t, tab, "The order was placed.")
	loc, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	o := f.waitStatus(mustID(t, strings.TrimPrefix(loc, f.base)), store.OrderIssued)
	c, err := f.srv.App.Store.Certificate(context.Background(), f.admin.Account.ID, o.CertificateID)
	if err != nil {
		t.Fatal(err)
	}
	requireX9Cert(t, c.DER)
	run(t, tab, "the order page", chromedp.Navigate(f.url("/console/orders/"+itoa(o.ID))))
	waitText(t, tab, "2606:4700:4700::1111")
}

// waitFile waits for a finished download.
func waitFile(t *testing.T, path string) []byte {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return b
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	t.Fatalf("no download at %s (the directory holds %v)", path, entries)
	return nil
}

// TestBrowserCrossOriginForm: a page of another origin (another port of
// the same host: same-site, so the Lax session cookie goes along) posts a
// form to the console in a signed-in browser; the console refuses it and
// nothing is made.
func TestBrowserCrossOriginForm(t *testing.T) {
	t.Parallel()
	chrome := chromium.Shared(t)
	f := start(t, testenv.Options{Sandbox: true})
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Win a prize</title>
<form method="post" action="%s/console/keys"><input type="hidden" name="name" value="evil"><input type="hidden" name="role" value="0">
<input type="hidden" name="csrf_token" value="guess"><button id="go" type="submit">Claim</button></form>`, f.base)
	}))
	t.Cleanup(evil.Close)
	tab := chrome.Tab(t)
	signInByKeyboard(t, f, tab, "admin")
	before, _ := f.srv.App.Store.APIKeys(context.Background(), f.admin.Account.ID, 0)
	run(t, tab, "the other origin's form", chromedp.Navigate(evil.URL), chromedp.WaitVisible("#go"), chromedp.Click("#go"))
	waitText(t, tab, "Request refused")
	after, _ := f.srv.App.Store.APIKeys(context.Background(), f.admin.Account.ID, 0)
	if len(after) != len(before) {
		t.Fatalf("a form from another origin made a key: %d keys, had %d", len(after), len(before))
	}
	// The browser is still signed in: the refusal was the form's, not the session's.
	run(t, tab, "back to the console", chromedp.Navigate(f.url("/console/keys")))
	waitText(t, tab, "Create a key")
}

// TestBrowserScreenshots renders the main pages for the README
// (docs/console/*.png). It writes them only with CERTORDER_UPDATE_DOCS=1,
// as TestSecurityDocRoutes rewrites its table.
func TestBrowserScreenshots(t *testing.T) {
	if os.Getenv("CERTORDER_UPDATE_DOCS") != "1" {
		t.Skip("screenshots are rewritten with CERTORDER_UPDATE_DOCS=1")
	}
	chrome := chromium.Shared(t)
	f := start(t, testenv.Options{Sandbox: true})
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	f.user("max", store.RoleManager, 0, "Max")
	emea := f.container("EMEA")
	if _, err := f.srv.App.Console.Accounts.CreateContainer(context.Background(), f.admin, emea, "parent", &account.ContainerInput{Name: "Payments"}); err != nil {
		t.Fatal(err)
	}
	f.container("Americas")
	// Three certificates issued weeks apart, then the sandbox's clock moved
	// on, so that the chart has a bar in each window; one order waits.
	admin := f.signIn("admin")
	ctx := context.Background()
	var ids []int64
	for i, step := range []struct {
		cn    string
		after time.Duration
	}{{"shop.example.com", 20 * 24 * time.Hour}, {"api.example.com", 40 * 24 * time.Hour}, {"mail.example.com", 135 * 24 * time.Hour}, {"intranet.example.com", 0}} {
		id := f.order(sam, step.cn, "for the "+strings.Split(step.cn, ".")[0])
		ids = append(ids, id)
		if i < 3 {
			approveFirstRequest(t, f, admin, id)
			f.waitStatus(id, store.OrderIssued)
		}
		if step.after > 0 {
			if _, err := f.srv.App.Clock.Advance(ctx, step.after); err != nil {
				t.Fatal(err)
			}
		}
	}
	tab := chrome.Tab(t)
	run(t, tab, "viewport", chromedp.EmulateViewport(1280, 900))
	signInByKeyboard(t, f, tab, "max")
	out := filepath.Join("..", "..", "docs", "console")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := func(name, path string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		run(t, tab, name, append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(f.url(path)), chromedp.WaitVisible("#main")}, steps...)...)
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	shot("dashboard", "/console/")
	shot("orders", "/console/orders")
	shot("order", "/console/orders/"+itoa(ids[0]), chromedp.Click("section.cert details summary"))
	shot("new-order", "/console/products/x9_pki", chromedp.SendKeys("#common_name", "bank.example.com"),
		chromedp.SendKeys("#ip_addresses", "93.184.216.34\n10.0.0.1"), chromedp.Click("#ku-key_agreement_encipherment"),
		chromedp.Click("form.order-form button[type=submit]"), chromedp.WaitVisible("#errors"))
	shot("requests", "/console/requests")
	shot("domains", "/console/domains")
	run(t, tab, "sign out", chromedp.Click(".signout button"))
	waitText(t, tab, "You are signed out.")
	signInByKeyboard(t, f, tab, "admin")
	shot("users", "/console/users")
	shot("audit", "/console/audit")
	shot("sandbox", "/console/sandbox")
	shot("organization", "/console/organizations/1")
	shot("containers", "/console/containers")
}
