package console_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"html"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// listedIDs are the order ids of the console's order list, in order.
func listedIDs(body string) []int64 {
	var ids []int64
	for _, m := range regexp.MustCompile(`<tr><td><a href="/console/orders/(\d+)">`).FindAllStringSubmatch(body, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

// TestOrderListAsTheAPI: the console's order list takes the API's
// filters, sort, paging and search, and for the same query and the same
// user shows the orders GET /order/certificate lists, in its order; a
// query the API refuses is refused with its message.
func TestOrderListAsTheAPI(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	admin := f.signIn("admin")
	var ids []int64
	for _, cn := range []string{"delta.example.com", "alpha.example.com", "shop.example.com", "echo.example.com", "web-shop.example.com"} {
		ids = append(ids, f.order(sam, cn, ""))
	}
	for _, id := range ids[:2] {
		approveFirstRequest(t, f, admin, id)
		f.waitStatus(id, store.OrderIssued)
	}
	_, key, err := f.srv.App.Console.Accounts.CreateAPIKey(ctx, f.admin, sam.ID, "sam", flex.NewInt(0))
	if err != nil {
		t.Fatal(err)
	}
	b := f.signIn("sam")
	for _, q := range []string{
		"sort=common_name&limit=2", "sort=common_name&limit=2&offset=2", "sort=common_name&limit=2&offset=4",
		"sort=-id&limit=10", "filters[status]=issued&sort=id&limit=10", "filters[status]=needs_approval&sort=common_name&limit=10",
		"filters[search]=%25shop&sort=id&limit=10", "filters[search]=alpha.example.com&limit=10",
		"filters[product_name_id]=ssl_securesite&sort=-common_name&limit=3",
	} {
		t.Run(q, func(t *testing.T) {
			status, _, raw := f.srv.DoKey(key, "GET", "/services/v2/order/certificate?"+q, "")
			if status != http.StatusOK {
				t.Fatalf("the API: %d %s", status, raw)
			}
			var api struct {
				Orders []struct{ ID int64 }
				Page   struct{ Total int }
			}
			if err := json.Unmarshal(raw, &api); err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, o := range api.Orders {
				want = append(want, o.ID)
			}
			p := b.Get(f.url("/console/orders?" + q))
			requireStatus(t, p, http.StatusOK, "the list")
			if got := listedIDs(p.Body); !slices.Equal(got, want) {
				t.Errorf("the console lists %v, the API %v", got, want)
			}
			if !contains(p.Body, "of "+strconv.Itoa(api.Page.Total)+".") && api.Page.Total > 0 {
				t.Errorf("the console does not count %d orders", api.Page.Total)
			}
			values, _ := url.ParseQuery(q)
			limit, _ := strconv.Atoi(values.Get("limit"))
			offset, _ := strconv.Atoi(values.Get("offset"))
			if next := contains(p.Body, `rel="next"`); next != (offset+limit < api.Page.Total) {
				t.Errorf("a next page link: %v, with %d of %d from %d", next, limit, api.Page.Total, offset)
			}
		})
	}
	status, _, raw := f.srv.DoKey(key, "GET", "/services/v2/order/certificate?sort=nonsense", "")
	var refused struct{ Errors []struct{ Message string } }
	_ = json.Unmarshal(raw, &refused)
	p := b.Get(f.url("/console/orders?sort=nonsense"))
	if status != http.StatusBadRequest || p.Status != http.StatusBadRequest || len(refused.Errors) == 0 || !contains(p.Body, html.EscapeString(refused.Errors[0].Message)) {
		t.Errorf("a sort the API refuses (%d %s): the console answers %d", status, raw, p.Status)
	}
}

// postMultipart sends a form with a file, as the order page's reissue form
// does, with the page's form token.
func postMultipart(t *testing.T, b *webtest.Browser, page, action string, fields map[string]string, fileField, fileName string, file []byte) webtest.Page {
	t.Helper()
	token := b.Get(page).Hidden().Get("csrf_token")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fields["csrf_token"] = token
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	fw, err := mw.CreateFormFile(fileField, fileName)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, action, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Origin", webtest.Origin(action))
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return webtest.Page{Status: resp.StatusCode, Header: resp.Header, Body: body.String()}
}

// TestOrderCancelAndReissue: the order page's actions that the lifecycle
// test leaves out: an order waiting for its validation canceled with a
// note, and an issued one reissued from an uploaded CSR file, whose key
// the new certificate carries; both show in the order's history.
func TestOrderCancelAndReissue(t *testing.T) {
	t.Parallel()
	// Outside the sandbox an approved order waits for its domain.
	live := start(t, testenv.Options{})
	rs := live.user("sam", store.RoleStandardUser, 0, "Sam")
	waiting := live.order(rs, "waiting.example.com", "")
	approveFirstRequest(t, live, live.signIn("admin"), waiting)
	live.waitStatus(waiting, store.OrderPending)
	rb := live.signIn("sam")
	page := live.url("/console/orders/" + itoa(waiting))
	if !contains(rb.Get(page).Body, `action="/console/orders/`+itoa(waiting)+`/cancel"`) {
		t.Fatal("a waiting order's page offers no cancel")
	}
	requireStatus(t, post(t, rb, page, page+"/cancel", url.Values{}), http.StatusBadRequest, "cancel without a note")
	p := post(t, rb, page, page+"/cancel", url.Values{"note": {"ordered by mistake"}})
	requireStatus(t, p, http.StatusSeeOther, "cancel")
	live.waitStatus(waiting, store.OrderCanceled)
	if got := rb.Get(page); !contains(got.Body, "canceled") || contains(got.Body, `/cancel"`) {
		t.Errorf("the canceled order's page:\n%s", clip(got.Body))
	}

	f := start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	sam := f.user("sam", store.RoleStandardUser, 0, "Sam")
	b := f.signIn("sam")
	admin := f.signIn("admin")

	id := f.order(sam, "reissue.example.com", "")
	approveFirstRequest(t, f, admin, id)
	first := f.waitStatus(id, store.OrderIssued).CertificateID
	page = f.url("/console/orders/" + itoa(id))
	key := testenv.RSAKey(t)
	p = postMultipart(t, b, page, page+"/reissue", map[string]string{"comments": "new key"}, "csr_file", "new.csr",
		[]byte(testenv.CSR(t, key, "ignored")))
	requireStatus(t, p, http.StatusSeeOther, "reissue with an uploaded CSR")
	if reqs := requestsOf(t, f, id); reqs[len(reqs)-1].Type == store.RequestReissue && reqs[len(reqs)-1].Status != store.RequestApproved {
		p := post(t, admin, f.url("/console/requests"), f.url("/console/requests/"+itoa(reqs[len(reqs)-1].ID)), url.Values{"status": {"approved"}})
		requireStatus(t, p, http.StatusSeeOther, "approve the reissue")
	}
	var o *store.Order
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if o, err = f.srv.App.Store.Order(ctx, f.admin.Account.ID, id); err != nil {
			t.Fatal(err)
		}
		if o.Status == store.OrderIssued && o.CertificateID != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reissued certificate: %+v", o)
		}
	}
	c, err := f.srv.App.Store.Certificate(ctx, f.admin.Account.ID, o.CertificateID)
	if err != nil {
		t.Fatal(err)
	}
	testenv.RequireLintClean(t, c.DER)
	x, err := x509.ParseCertificate(c.DER)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(x.PublicKey) {
		t.Error("the reissued certificate does not carry the uploaded CSR's key")
	}
	if got := b.Get(page); !strings.Contains(got.Body, "reissue") || !contains(got.Body, "new key") {
		t.Errorf("the reissue is not in the order's history:\n%s", clip(got.Body))
	}
}
