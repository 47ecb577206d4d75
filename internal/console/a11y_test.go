package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web/webtest"
)

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return strings.TrimSpace(b.String())
}

// accessibilityProblems lists what keeps a page from working for a screen
// reader or the keyboard alone: a form control without a label (a
// <label for>, an enclosing <label>, aria-label or aria-labelledby naming
// elements that exist), a button without a name, an id used twice (a
// label then names the wrong control), a positive tabindex (which breaks
// the order the page is read in).
func accessibilityProblems(body string) []string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return []string{"unparsable: " + err.Error()}
	}
	ids := map[string]int{}
	labelled := map[string]bool{}
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if id, ok := attr(n, "id"); ok {
			ids[id]++
		}
		if n.Data == "label" {
			if f, ok := attr(n, "for"); ok && text(n) != "" {
				labelled[f] = true
			}
		}
	})
	var out []string
	for id, n := range ids {
		if n > 1 {
			out = append(out, "id "+strconv.Quote(id)+" is used "+strconv.Itoa(n)+" times")
		}
	}
	var visit func(n *html.Node, inLabel bool)
	visit = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			if ti, ok := attr(n, "tabindex"); ok {
				if v, err := strconv.Atoi(strings.TrimSpace(ti)); err != nil || v > 0 {
					out = append(out, "<"+n.Data+"> has tabindex="+strconv.Quote(ti))
				}
			}
			control := false
			switch n.Data {
			case "select", "textarea":
				control = true
			case "input":
				typ, _ := attr(n, "type")
				switch strings.ToLower(typ) {
				case "hidden", "submit", "button", "reset", "image":
				default:
					control = true
				}
			case "button":
				if al, _ := attr(n, "aria-label"); text(n) == "" && strings.TrimSpace(al) == "" {
					out = append(out, "a button without a name")
				}
			case "label":
				inLabel = true
			}
			if _, hidden := attr(n, "hidden"); hidden {
				// Not rendered, not in the accessibility tree (a username
				// for password managers beside a password input).
				control = false
			}
			if control {
				id, _ := attr(n, "id")
				name, _ := attr(n, "name")
				al, _ := attr(n, "aria-label")
				lb, _ := attr(n, "aria-labelledby")
				ok := inLabel || id != "" && labelled[id] || strings.TrimSpace(al) != ""
				if !ok && lb != "" {
					ok = true
					for _, ref := range strings.Fields(lb) {
						if ids[ref] == 0 {
							ok = false
						}
					}
				}
				if !ok {
					out = append(out, "<"+n.Data+` id="`+id+`" name="`+name+`"> has no label`)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c, inLabel)
		}
	}
	visit(doc, false)
	return out
}

// postFormsWithoutToken are the actions of the page's POST forms that
// carry no csrf_token field.
func postFormsWithoutToken(body string) []string {
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		return []string{"unparsable"}
	}
	var out []string
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "form" {
			return
		}
		if m, _ := attr(n, "method"); !strings.EqualFold(m, "post") {
			return
		}
		has := false
		walk(n, func(c *html.Node) {
			if name, _ := attr(c, "name"); c.Type == html.ElementNode && c.Data == "input" && name == "csrf_token" {
				v, _ := attr(c, "value")
				has = has || v != ""
			}
		})
		if !has {
			action, _ := attr(n, "action")
			out = append(out, action)
		}
	})
	return out
}

// TestPagesHaveLabels: every console page, in the states a person meets
// it in (empty and with data, a form's errors shown, a key just made, an
// enrolment begun), has a label for every form control, no id twice and
// no positive tabindex, and every POST form its form token; every GET
// route of the console is visited, so a new page is checked as soon as it
// is added.
func TestPagesHaveLabels(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	tia := f.user("tia", store.RoleStandardUser, 0, "Tia")
	f.withTOTP(tia, time.Now())
	east := f.container("East")
	dom, err := f.srv.App.Validation.AddDomain(ctx, f.admin, &validation.DomainInput{Name: "labels.example.com", DCVMethod: "dns-txt-token",
		Organization: &flex.IDInput{ID: flex.NewInt(1)}, Validations: []validation.DomainValidationInput{{Type: "ov"}}})
	if err != nil {
		t.Fatal(err)
	}
	waiting := f.order(sam, "waiting.example.com", "please")
	issued := f.order(sam, "issued.example.com", "")
	admin := f.signIn("admin")
	approveFirstRequest(t, f, admin, issued)
	f.waitStatus(issued, store.OrderIssued)
	// A custom field, on every order form from now on.
	if _, err := f.srv.App.Console.Accounts.CreateMetadata(ctx, f.admin, "Cost center", "int", true, true); err != nil {
		t.Fatal(err)
	}
	// A password link, as the mail would carry it.
	link, hash, err := secret.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.App.Store.InTx(ctx, func(tx store.Tx) error {
		return tx.CreateLinkToken(ctx, &store.LinkToken{AccountID: sam.AccountID, Kind: "console_password", Subject: itoa(sam.ID), TokenHash: hash,
			CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)})
	}); err != nil {
		t.Fatal(err)
	}

	products := f.srv.App.Orders.Products()
	var productPaths []string
	for _, p := range products.All() {
		if _, ok := products.Orderable(p.NameID); ok {
			productPaths = append(productPaths, "/console/products/"+p.NameID)
		}
	}
	// Every GET route, by pattern, with the pages that show it.
	pages := map[string][]string{
		"/console/{$}":                {"/console/", "/console/?done=placed"},
		"/console/account":            {"/console/account"},
		"/console/orders":             {"/console/orders", "/console/orders?filters[status]=issued&sort=-date_created"},
		"/console/products":           {"/console/products"},
		"/console/products/{product}": productPaths,
		"/console/orders/{id}":        {"/console/orders/" + itoa(waiting), "/console/orders/" + itoa(issued)},
		"/console/requests":           {"/console/requests", "/console/requests?filters[status]=approved"},
		"/console/organizations":      {"/console/organizations"},
		"/console/organizations/new":  {"/console/organizations/new"},
		"/console/organizations/{id}": {"/console/organizations/1"},
		"/console/domains":            {"/console/domains"},
		"/console/domains/new":        {"/console/domains/new"},
		"/console/domains/{id}":       {"/console/domains/" + itoa(dom.ID)},
		"/console/containers":         {"/console/containers"},
		"/console/containers/{id}":    {"/console/containers/" + itoa(f.top), "/console/containers/" + itoa(east)},
		"/console/users":              {"/console/users"},
		"/console/users/new":          {"/console/users/new"},
		"/console/users/{id}":         {"/console/users/" + itoa(sam.ID), "/console/users/" + itoa(tia.ID), "/console/users/" + itoa(f.admin.User.ID)},
		"/console/keys":               {"/console/keys"},
		"/console/audit":              {"/console/audit", "/console/audit?action=order."},
		"/console/sandbox":            {"/console/sandbox"},
		"/console/signin":             {"/console/signin"},
		"/console/signin/code":        {"/console/signin/code"},
		"/console/password/{secret}":  {"/console/password/" + link},
		"/console/":                   {"/console/no-such-page"},
		"/console/orders/{id}/certificates/{cert}/{format}": nil, // a file, not a page
	}
	for _, pattern := range f.srv.App.Console.Patterns() {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "GET", pattern
		}
		if method != "GET" {
			continue
		}
		if _, ok := pages[path]; !ok {
			t.Errorf("the console's page %s is checked by no case of this test", pattern)
		}
	}
	check := func(t *testing.T, what string, p webtest.Page) {
		t.Helper()
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s is no page", what, p.Status, p.Header.Get("Content-Type"))
			return
		}
		for _, problem := range accessibilityProblems(p.Body) {
			t.Errorf("%s: %s", what, problem)
		}
		// While here: every form that changes something carries its token.
		for _, action := range postFormsWithoutToken(p.Body) {
			t.Errorf("%s: the form posting to %s has no form token", what, action)
		}
	}
	for pattern, paths := range pages {
		for _, path := range paths {
			b := admin
			switch pattern {
			case "/console/signin", "/console/password/{secret}":
				b = webtest.New(t)
			case "/console/signin/code":
				b = webtest.New(t)
				requireStatus(t, b.Submit(f.url("/console/signin"), url.Values{"username": {"tia"}, "password": {password}}), http.StatusSeeOther, "tia's password")
			}
			p := b.Get(f.url(path))
			if p.Status != http.StatusOK && pattern != "/console/" {
				t.Errorf("GET %s: %d", path, p.Status)
			}
			check(t, "GET "+path, p)
		}
	}
	// The pages as a form's answer shows them.
	for _, product := range productPaths {
		check(t, "POST "+product+" empty", post(t, admin, f.url(product), f.url(product), url.Values{}))
	}
	check(t, "a key just made", post(t, admin, f.url("/console/keys"), f.url("/console/keys"), url.Values{"name": {"ci"}, "role": {"0"}, "current_password": {password}}))
	check(t, "an enrolment begun", post(t, admin, f.url("/console/account"), f.url("/console/account/totp"), url.Values{"current_password": {password}}))
	check(t, "a wrong password", post(t, admin, f.url("/console/account"), f.url("/console/account/password"), url.Values{"current_password": {"nope"}}))
	check(t, "a new organization refused", post(t, admin, f.url("/console/organizations/new"), f.url("/console/organizations/new"), url.Values{}))
	check(t, "a new domain refused", post(t, admin, f.url("/console/domains/new"), f.url("/console/domains/new"), url.Values{}))
	check(t, "a new user refused", post(t, admin, f.url("/console/users/new"), f.url("/console/users/new"), url.Values{}))
	check(t, "a container refused", post(t, admin, f.url("/console/containers/"+itoa(east)), f.url("/console/containers/"+itoa(east)+"/children"), url.Values{}))
	check(t, "a sign-in refused", webtest.New(t).Submit(f.url("/console/signin"), url.Values{"username": {"sam"}, "password": {"wrong"}}))
	// The pages as a standard user sees them (other forms, fewer links).
	std := f.signIn("sam")
	for _, path := range []string{"/console/", "/console/orders/" + itoa(waiting), "/console/products/x9_pki", "/console/account", "/console/keys"} {
		check(t, "sam: GET "+path, std.Get(f.url(path)))
	}
}

// TestAccessibilityProblems: the check itself, on pages made to fail it.
func TestAccessibilityProblems(t *testing.T) {
	for _, c := range []struct {
		name, body string
		bad        bool
	}{
		{"a label for the input", `<label for="a">A</label><input id="a" name="a">`, false},
		{"an input inside its label", `<label>A <input name="a"></label>`, false},
		{"aria-label", `<select aria-label="Pick" name="s"></select>`, false},
		{"aria-labelledby", `<h2 id="h">Heading</h2><textarea aria-labelledby="h" name="t"></textarea>`, false},
		{"hidden and submit inputs", `<input type="hidden" name="x"><input type="text" name="u" hidden><input type="submit" value="Go">`, false},
		{"tabindex -1 and 0", `<div tabindex="-1"></div><div tabindex="0"></div>`, false},
		{"no label", `<input id="a" name="a">`, true},
		{"an empty label", `<label for="a"></label><input id="a" name="a">`, true},
		{"aria-labelledby naming nothing", `<input aria-labelledby="nope" name="a">`, true},
		{"a positive tabindex", `<a href="/" tabindex="2">x</a>`, true},
		{"an id twice", `<h2 id="a">A</h2><label for="a">A</label><input id="a" name="a">`, true},
		{"a button without a name", `<button type="submit"></button>`, true},
	} {
		if got := accessibilityProblems(c.body); (len(got) > 0) != c.bad {
			t.Errorf("%s: %v, want problems %v", c.name, got, c.bad)
		}
	}
}
