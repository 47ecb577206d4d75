package apitest

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/testenv/browser"
	"github.com/certorder/certorder/internal/web/webtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	browser.Close()
	os.Exit(code)
}

// waitJS waits until expr is true in the tab's page; an evaluation that
// a navigation interrupts is tried again.
func waitJS(t *testing.T, tab context.Context, expr string, timeout time.Duration) bool {
	t.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(tab, chromedp.Evaluate[bool]("document.readyState === 'complete' && !!("+expr+")"))
		if err == nil && ok {
			return true
		}
	}
	return false
}

// pageText is the tab's page text (for failure messages).
func pageText(tab context.Context) string {
	text, _ := chromedp.Run(tab, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
	return text
}

// bodyHas waits until the tab's page text holds want.
func bodyHas(t *testing.T, tab context.Context, want string) {
	t.Helper()
	if !waitJS(t, tab, fmt.Sprintf("document.body && document.body.innerText.includes(%q)", want), 20*time.Second) {
		t.Fatalf("the page never said %q; it says: %s", want, pageText(tab))
	}
}

// TestBrowserMailboxConfirmation: in a real Chromium, the order stays
// pending while the emailed link's page is open and issues once its form
// is sent; a link opened after its 24 hours is refused.
func TestBrowserMailboxConfirmation(t *testing.T) {
	t.Parallel()
	b := browser.Shared(t)
	e := startMailbox(t)
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	o := e.order(t, "class1_smime", csr, "erin@browser.example.com")
	link := mbLinkIn(t, e.nthTo(t, "erin@browser.example.com", 1), "/mailbox/")

	tab := b.Tab(t)
	if err := chromedp.Do(tab, chromedp.Navigate(link)); err != nil {
		t.Fatal(err)
	}
	bodyHas(t, tab, "erin@browser.example.com")
	time.Sleep(200 * time.Millisecond) // anything the page could trigger by itself has happened
	if s := e.status(t, o.ID); s != "pending" {
		t.Fatalf("opening the page moved the order to %s", s)
	}
	if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("#confirm"))); err != nil {
		t.Fatal(err)
	}
	bodyHas(t, tab, "is confirmed for certificate order")
	fam2WaitStatus(t, e.srv, o.ID, "issued")
	fam2IssuedChain(t, e.srv, o.ID) // linted

	t.Run("after expiry", func(t *testing.T) {
		late := e.order(t, "class1_smime", csr, "frank@browser.example.com")
		link := mbLinkIn(t, e.nthTo(t, "frank@browser.example.com", 1), "/mailbox/")
		e.clock.add(24*time.Hour + time.Minute)
		tab := b.Tab(t)
		if err := chromedp.Do(tab, chromedp.Navigate(link)); err != nil {
			t.Fatal(err)
		}
		bodyHas(t, tab, "has expired")
		if n, _ := chromedp.Run(tab, chromedp.Evaluate[int]("document.querySelectorAll('form').length")); n != 0 {
			t.Fatal("an expired link's page still offers its form")
		}
		if s := e.status(t, late.ID); s != "pending" {
			t.Fatalf("order is %s after an expired link", s)
		}
	})
}

// TestBrowserPickup: in a real Chromium, the pickup page makes the key
// pair with WebCrypto, builds the CSR in its own script and gets the
// certificate; the certificate's key is the one the browser kept, and the
// certificate lints clean.
func TestBrowserPickup(t *testing.T) {
	t.Parallel()
	b := browser.Shared(t)
	e := startMailbox(t)
	for i, kind := range []string{"p256", "rsa2048"} {
		t.Run(kind, func(t *testing.T) {
			addr := fmt.Sprintf("grace%d@pickup-browser.example.com", i)
			o := e.order(t, "client_email_security_plus", "", addr)
			if p := webtest.New(t).Submit(mbLinkIn(t, e.nthTo(t, addr, 1), "/mailbox/"), nil); p.Status != http.StatusOK {
				t.Fatalf("confirm the address: %d", p.Status)
			}
			link := mbLinkIn(t, e.nthTo(t, addr, 2), "/pickup/")

			tab := b.Tab(t)
			if err := chromedp.Do(tab, chromedp.Navigate(link)); err != nil {
				t.Fatal(err)
			}
			if !waitJS(t, tab, "!document.getElementById('keygen').hidden", 10*time.Second) {
				t.Fatalf("the page offers no key generation; it says: %s", pageText(tab))
			}
			if _, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf("document.getElementById('keytype').value = %q", kind))); err != nil {
				t.Fatal(err)
			}
			if err := chromedp.Do(tab, chromedp.Click(chromedp.CSS("#generate"))); err != nil {
				t.Fatal(err)
			}
			if !waitJS(t, tab, "document.getElementById('keygen').dataset.state === 'issued'", 60*time.Second) {
				t.Fatalf("no certificate; the page says: %s", pageText(tab))
			}
			keyPEM, err := chromedp.Run(tab, chromedp.Evaluate[string]("document.getElementById('key-pem').value"))
			if err != nil {
				t.Fatal(err)
			}
			chainPEM, err := chromedp.Run(tab, chromedp.Evaluate[string]("document.getElementById('chain-pem').value"))
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"key-download", "chain-download"} {
				href, err := chromedp.Run(tab, chromedp.Evaluate[string](fmt.Sprintf("document.getElementById(%q).href", id)))
				if err != nil || !strings.HasPrefix(href, "blob:") {
					t.Errorf("%s offers %q, want a download of the page's own data: %v", id, href, err)
				}
			}

			blk, _ := pem.Decode([]byte(keyPEM))
			if blk == nil || blk.Type != "PRIVATE KEY" {
				t.Fatalf("the page's key is no PKCS#8 PEM: %q", keyPEM)
			}
			key, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				t.Fatalf("parse the browser's key: %v", err)
			}
			chain := testenv.ParsePEMChain(t, []byte(chainPEM))
			issued := fam2IssuedChain(t, e.srv, o.ID) // linted with zlint
			if !chain[0].Equal(issued[0]) {
				t.Fatal("the page's certificate is not the order's")
			}
			fam2SameKey(t, issued[0], key.(interface{ Public() crypto.PublicKey }).Public())
			clCheckLeaf(t, "client_email_security_plus", issued, []string{addr}, "Lock Cole", clOrgName(t, e.srv), "")
			// The key stayed in the browser: the order holds only a CSR.
			cur, _ := e.srv.App.Store.Order(t.Context(), 1, o.ID)
			if strings.Contains(cur.CSR, "PRIVATE") || !strings.Contains(cur.CSR, "CERTIFICATE REQUEST") {
				t.Fatalf("the order's CSR: %q", cur.CSR)
			}
			// The link is spent: opening it again shows no form.
			if err := chromedp.Do(tab, chromedp.Navigate(link)); err != nil {
				t.Fatal(err)
			}
			bodyHas(t, tab, "already used")
		})
	}
}
