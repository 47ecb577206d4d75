package apitest

// The approval pages of emailed links (domain control by email, EV
// approval by a verified contact) in a real Chromium: what they show, the
// button that decides, and the two attacks a browser makes possible, a
// form posted from another origin and a page framed by one.

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/certorder/certorder/internal/testenv/browser"
)

// hostileOrg is an organization name that is markup: a page that writes it
// as markup instead of text gets a script element that sets window.pwned.
const hostileOrg = `Acme <script>window.pwned=1</script> & Sons`

// crossSite is a site on other loopback ports than certorder's: another
// origin, but the same site (only the port differs), so the browser sends
// the SameSite=Strict form cookie along with its posts and the origin
// check is what refuses them.
type crossSite struct {
	site  *httptest.Server // the attacker's pages
	other *httptest.Server // a page that lets anyone frame it
}

var crossSitePages = template.Must(template.New("post").Parse(`<!doctype html>
<title>A page of another site</title>
<form id="f" method="post" action="{{.Action}}">{{range $k, $vs := .Fields}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}</form>
<script>addEventListener('load', () => setTimeout(() => document.getElementById('f').submit(), 10))</script>
{{define "frame"}}<!doctype html>
<title>A page of another site</title>
<script>let loaded = 0; function done() { document.body.dataset.loaded = ++loaded }</script>
<iframe id="target" src="{{.Target}}" onload="done()"></iframe>
<iframe id="control" src="{{.Control}}" onload="done()"></iframe>
{{end}}`))

func startCrossSite(t *testing.T) *crossSite {
	t.Helper()
	c := &crossSite{}
	c.site = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		var err error
		switch r.URL.Path {
		case "/post":
			fields := url.Values{}
			for k, vs := range q {
				if k != "action" {
					fields[k] = vs
				}
			}
			err = crossSitePages.Execute(w, map[string]any{"Action": q.Get("action"), "Fields": fields})
		case "/frame":
			err = crossSitePages.ExecuteTemplate(w, "frame", map[string]any{"Target": q.Get("src"), "Control": c.other.URL + "/frameable"})
		default:
			http.NotFound(w, r)
		}
		if err != nil {
			t.Errorf("cross-site page: %v", err)
		}
	}))
	t.Cleanup(c.site.Close)
	c.other = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>Frameable</title><p>Any site may frame this page.")
	}))
	t.Cleanup(c.other.Close)
	return c
}

// openLink opens link in the tab and checks what the browser got: 200, and
// the headers that keep the page from being framed or loading anything of
// another origin.
func openLink(t *testing.T, tab context.Context, link string) {
	t.Helper()
	resp, err := chromedp.RunResponse(tab, chromedp.Navigate(link))
	if err != nil {
		t.Fatalf("open %s: %v", link, err)
	}
	if resp.Status != http.StatusOK {
		t.Fatalf("the browser got %d for the link", resp.Status)
	}
	header := func(name string) string {
		for k, v := range resp.Headers {
			if strings.EqualFold(k, name) {
				s, _ := v.(string)
				return s
			}
		}
		return ""
	}
	if csp := header("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "form-action 'self'") ||
		!strings.Contains(csp, "script-src 'self'") {
		t.Errorf("the browser saw Content-Security-Policy %q", csp)
	}
	if xfo := header("X-Frame-Options"); xfo != "DENY" {
		t.Errorf("the browser saw X-Frame-Options %q, want DENY", xfo)
	}
}

// requireShownAsText: the tab's page shows text literally (markup in it
// is text, not elements) and no script of it ran.
func requireShownAsText(t *testing.T, tab context.Context, text string) {
	t.Helper()
	bodyHas(t, tab, text)
	pwned, err := chromedp.Run(tab, chromedp.Evaluate[bool]("typeof window.pwned !== 'undefined' || "+
		"[...document.scripts].some(s => s.textContent.includes('pwned'))"))
	if err != nil || pwned {
		t.Fatalf("a value on the page became a script (pwned=%v, %v)", pwned, err)
	}
}

// formToken is the token of the form on the tab's page.
func formToken(t *testing.T, tab context.Context) string {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[string]("document.querySelector('input[name=csrf_token]').value"))
	if err != nil || v == "" {
		t.Fatalf("no form token on the page (%v): %s", err, pageText(tab))
	}
	return v
}

// requireCrossOriginRefused: in the tab whose browser opened the link (it
// holds the form cookie), a page of the other site posts fields to the
// link by itself; the browser shows the refusal and decided is still
// false.
func requireCrossOriginRefused(t *testing.T, tab context.Context, c *crossSite, link string, fields url.Values, decided func() bool) {
	t.Helper()
	q := url.Values{"action": {link}}
	for k, vs := range fields {
		q[k] = vs
	}
	if err := chromedp.Do(tab, chromedp.Navigate(c.site.URL+"/post?"+q.Encode())); err != nil {
		t.Fatal(err)
	}
	bodyHas(t, tab, "This form was sent from another site")
	if u, _ := chromedp.Run(tab, chromedp.Evaluate[string]("location.href")); u != link {
		t.Fatalf("the refusal is at %s, want the link's own address", u)
	}
	time.Sleep(100 * time.Millisecond) // whatever a passed post would start has started
	if decided() {
		t.Fatal("a form posted from another origin decided the link")
	}
}

// requireNotFramed: a page of the other site frames the link and a page
// that allows framing; the second frame holds its page (so the check can
// see a framed page) and the first does not hold the link's.
func requireNotFramed(t *testing.T, tab context.Context, c *crossSite, link string) {
	t.Helper()
	if err := chromedp.Do(tab, chromedp.Navigate(c.site.URL+"/frame?"+url.Values{"src": {link}}.Encode())); err != nil {
		t.Fatal(err)
	}
	if !waitJS(t, tab, "document.body.dataset.loaded === '2'", 20*time.Second) {
		t.Fatalf("the frames never loaded: %s", pageText(tab))
	}
	tree, err := chromedp.Call(tab, page.GetFrameTree, cdp.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	frames := map[string]*cdp.Frame{}
	for _, child := range tree.FrameTree.ChildFrames {
		frames[child.Frame.Name+"|"+child.Frame.URL] = child.Frame
	}
	control := c.other.URL + "/frameable"
	var sawControl bool
	for _, f := range frames {
		switch {
		case f.URL == control:
			sawControl = true
		case f.URL == link || strings.HasPrefix(f.URL, strings.TrimRight(link, "/")):
			t.Errorf("another origin framed the page: frame %s holds %s", f.ID, f.URL)
		}
	}
	if !sawControl || len(frames) != 2 {
		t.Fatalf("frames %v: want the control page framed beside the refused link", frames)
	}
	// The frames' documents as the browser holds them (DevTools sees into
	// frames of any origin): the control's is its page, the link's frame
	// holds no form of the link's page.
	depth, pierce := int64(-1), true
	doc, err := chromedp.Call(tab, dom.GetDocument, dom.GetDocumentParams{Depth: &depth, Pierce: &pierce})
	if err != nil {
		t.Fatal(err)
	}
	inner := map[string]*cdp.Node{}
	walkNodes(doc.Root, func(n *cdp.Node) {
		if n.NodeName == "IFRAME" {
			inner[attr(n, "id")] = n.ContentDocument
		}
	})
	if d := inner["control"]; d == nil || d.DocumentURL != control {
		t.Fatalf("the control frame's document is not its page: %+v", d)
	}
	if d := inner["target"]; d != nil {
		if d.DocumentURL == link {
			t.Errorf("the framed link's document is the page")
		}
		walkNodes(d, func(n *cdp.Node) {
			if n.NodeName == "FORM" || n.NodeName == "INPUT" && attr(n, "name") == "csrf_token" {
				t.Errorf("the framed link's document holds the page's form")
			}
		})
	}
}

// attr is an element node's attribute (DevTools lists them as name,
// value pairs).
func attr(n *cdp.Node, name string) string {
	for i := 0; i+1 < len(n.Attributes); i += 2 {
		if n.Attributes[i] == name {
			return n.Attributes[i+1]
		}
	}
	return ""
}

func walkNodes(n *cdp.Node, f func(*cdp.Node)) {
	if n == nil {
		return
	}
	f(n)
	for _, c := range n.Children {
		walkNodes(c, f)
	}
	walkNodes(n.ContentDocument, f)
}

// TestBrowserDCVApproval: the domain control link of an OV order, opened in
// Chromium: the page names the order's organization as text, refuses a
// post from another origin and a frame of another origin, and its button
// proves control so that the order issues.
func TestBrowserDCVApproval(t *testing.T) {
	t.Parallel()
	b := browser.Shared(t)
	c := startCrossSite(t)
	e := startDCV(t, nil)
	org := orgCreate(t, e.srv, orgBody(hostileOrg, nil))
	domNoContent(t, e.srv, "PUT", fmt.Sprintf("%s/%d/validation/ov", organizationPath, org), "")
	body := baseBody(e.csr)
	certOf(body)["common_name"] = "browser-dcv.com"
	body["organization"], body["dcv_method"], body["skip_approval"] = map[string]any{"id": org}, "email", true
	o := dvcsCreate(t, e.srv, "ssl_securesite", body)
	link := linkIn(t, e.mail.WaitFor(t, "admin@browser-dcv.com", 10*time.Second))
	decided := func() bool {
		s, _ := fam2GetOrder(t, e.srv, o.ID)
		return s.Status != "pending"
	}

	tab := b.Tab(t)
	openLink(t, tab, link)
	requireShownAsText(t, tab, hostileOrg)
	bodyHas(t, tab, "browser-dcv.com")
	token := formToken(t, tab)
	requireCrossOriginRefused(t, tab, c, link, url.Values{"csrf_token": {token}}, decided)
	requireCrossOriginRefused(t, tab, c, link, nil, decided)
	requireNotFramed(t, tab, c, link)
	if decided() {
		t.Fatal("the order left pending before the button was pressed")
	}

	openLink(t, tab, link)
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("form button[type=submit]"))); err != nil {
		t.Fatal(err)
	}
	bodyHas(t, tab, "is confirmed")
	fam2WaitStatus(t, e.srv, o.ID, "issued")
	chain := fam2IssuedChain(t, e.srv, o.ID) // linted
	domRequireLeaf(t, chain, "browser-dcv.com")
	if got := chain[0].Subject.Organization; len(got) != 1 || got[0] != hostileOrg {
		t.Errorf("leaf organization = %q", got)
	}
}

// TestBrowserEVApproval: the EV approval link, opened in Chromium by the
// verified contact: the page shows the organization as text, refuses a
// post from another origin (even one carrying the page's own token) and
// a frame of another origin, and its Approve button issues the order.
func TestBrowserEVApproval(t *testing.T) {
	t.Parallel()
	b := browser.Shared(t)
	c := startCrossSite(t)
	e := startEV(t, hostileOrg)
	id := e.order(t, []string{"ev-browser.com", "www.ev-browser.com"}, evContacts(evVera))
	_, link := e.evMail(t, evVera, id, 1)
	decided := func() bool {
		s, _ := fam2GetOrder(t, e.srv, id)
		return s.Status != "pending" || evContactStatuses(t, e.srv, id)[evVera] != "pending"
	}

	tab := b.Tab(t)
	openLink(t, tab, link)
	requireShownAsText(t, tab, hostileOrg)
	bodyHas(t, tab, "www.ev-browser.com")
	token := formToken(t, tab)
	for _, decision := range []string{"approve", "reject"} {
		requireCrossOriginRefused(t, tab, c, link, url.Values{"csrf_token": {token}, "decision": {decision}}, decided)
	}
	requireCrossOriginRefused(t, tab, c, link, url.Values{"decision": {"approve"}}, decided)
	requireNotFramed(t, tab, c, link)

	openLink(t, tab, link)
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("button[value=approve]"))); err != nil {
		t.Fatal(err)
	}
	bodyHas(t, tab, "You approved order")
	requireShownAsText(t, tab, hostileOrg)
	fam2WaitStatus(t, e.srv, id, "issued")
	chain := fam2IssuedChain(t, e.srv, id) // linted
	domRequireLeaf(t, chain, "ev-browser.com", "www.ev-browser.com")
	if got := chain[0].Subject.Organization; len(got) != 1 || got[0] != hostileOrg {
		t.Errorf("leaf organization = %q", got)
	}
}
