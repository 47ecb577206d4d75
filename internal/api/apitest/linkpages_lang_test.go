package apitest

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/web/webtest"
)

// linkInText is the link of path ("/mailbox/", "/dcv/email/", …) in a
// message's decoded text part (the raw body of a message in another
// language is quoted-printable).
func linkInText(t *testing.T, m dcvtest.Message, path string) string {
	t.Helper()
	link := regexp.MustCompile(`https?://\S+` + regexp.QuoteMeta(path) + `[a-z2-7]+`).FindString(m.Text)
	if link == "" {
		t.Fatalf("no %s link in the message to %v: %q", path, m.To, m.Text)
	}
	return link
}

// requirePageIn: the page is 200, marked as written in lang, and says
// each of want.
func requirePageIn(t *testing.T, what string, p webtest.Page, lang string, want ...string) {
	t.Helper()
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `<html lang="`+lang+`">`) {
		t.Fatalf("%s: %d, want 200 in %s: %s", what, p.Status, lang, p.Body)
	}
	for _, w := range want {
		if !strings.Contains(p.Body, w) {
			t.Errorf("%s does not say %q: %s", what, w, p.Body)
		}
	}
}

// TestLinkPagesLanguage: each emailed link's page is in the language its
// message was written in, the order's locale, before and after its button;
// an order without one gets English pages.
func TestLinkPagesLanguage(t *testing.T) {
	t.Parallel()
	t.Run("mailbox and pickup in Japanese", func(t *testing.T) {
		t.Parallel()
		e := startMailbox(t)
		const addr = "hanako@lang.example.com"
		m := clBody("")
		certOf(m)["emails"] = []any{addr}
		m["locale"] = "ja"
		createOK(t, e.srv, "client_email_security_plus", mustJSON(t, m))
		b := webtest.New(t)
		link := linkInText(t, e.nthTo(t, addr, 1), "/mailbox/")
		requirePageIn(t, "mailbox page", b.Get(link), "ja", "メールアドレスの確認", "<b>"+addr+"</b>", ">確認</button>")
		requirePageIn(t, "mailbox page after the button", b.Submit(link, nil), "ja", "アドレスを確認しました")
		pickup := linkInText(t, e.nthTo(t, addr, 2), "/pickup/")
		requirePageIn(t, "pickup page", b.Get(pickup), "ja", "証明書の作成", `data-msg-issued="証明書が発行されました。`)
	})
	t.Run("DCV in German, and English without a locale", func(t *testing.T) {
		t.Parallel()
		e := startDCV(t, nil)
		e.order(t, "ssl_dv_geotrust", "email", []string{"lang-dcv.com"}, map[string]any{"locale": "de"})
		e.order(t, "ssl_dv_geotrust", "email", []string{"plain-dcv.com"}, nil)
		b := webtest.New(t)
		link := linkInText(t, e.mail.WaitFor(t, "admin@lang-dcv.com", 10*time.Second), "/dcv/email/")
		requirePageIn(t, "DCV page", b.Get(link), "de", "Zertifikat genehmigen", "Die Kontrolle über <b>lang-dcv.com</b>", ">Genehmigen</button>")
		requirePageIn(t, "DCV page after the button", b.Submit(link, nil), "de", "ist bestätigt")
		plain := linkInText(t, e.mail.WaitFor(t, "admin@plain-dcv.com", 10*time.Second), "/dcv/email/")
		requirePageIn(t, "DCV page of an order without a locale", b.Get(plain), "en", "Approve control of <b>plain-dcv.com</b>")
	})
	t.Run("EV approval in Simplified Chinese", func(t *testing.T) {
		t.Parallel()
		e := startEV(t, "Lang & Co")
		id := e.order(t, []string{"ev-lang.com"}, evContacts(evVera), map[string]any{"locale": "zh_CN"})
		// Vera, no user, receives only the approval email.
		link := evLinkIn(t, evText(t, e.mail.WaitFor(t, evVera, 10*time.Second)))
		b := webtest.New(t)
		requirePageIn(t, "EV page", b.Get(link), "zh-CN", "批准证书订单", "<b>Lang &amp; Co</b>", `value="approve">批准</button>`)
		requirePageIn(t, "EV page after the button", b.Submit(link, url.Values{"decision": {"approve"}}), "zh-CN", "订单已批准")
		fam2WaitStatus(t, e.srv, id, "issued")
		fam2IssuedChain(t, e.srv, id) // linted
	})
}
