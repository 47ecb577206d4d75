package browser

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestMain(m *testing.M) {
	code := m.Run()
	Close()
	os.Exit(code)
}

// TestTabsAreSeparate: two tabs of the one Chromium keep their own
// cookies, and a loopback page is a secure context (WebCrypto works).
func TestTabsAreSeparate(t *testing.T) {
	b := Shared(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "c", Value: "1", Path: "/"})
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = fmt.Fprint(w, "<!doctype html><title>t</title>")
	}))
	defer srv.Close()
	one, two := b.Tab(t), b.Tab(t)
	if err := chromedp.Do(one, chromedp.Navigate(srv.URL+"/set")); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(two, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	c1, err := chromedp.Run(one, chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := chromedp.Run(two, chromedp.Evaluate[string]("document.cookie"))
	if err != nil {
		t.Fatal(err)
	}
	if c1 != "c=1" || c2 != "" {
		t.Fatalf("cookies: tab one %q, tab two %q", c1, c2)
	}
	secure, err := chromedp.Run(two, chromedp.Evaluate[bool]("window.isSecureContext && !!crypto.subtle"))
	if err != nil || !secure {
		t.Fatalf("a loopback page is no secure context: %v %v", secure, err)
	}
}
