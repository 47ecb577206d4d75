package apitest

// List filters, sorting, paging and CSV of GET /order/certificate and
// GET /request (spec §1.5, §2.3, §3.2). Helpers start with ls.

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// lsGet sends a GET with an Accept header ("" sends none).
func lsGet(t *testing.T, srv *testenv.Server, path, accept string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("X-DC-DEVKEY", srv.AdminKey)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return resp.StatusCode, resp.Header, b
}

type lsPage struct {
	ids                   []int64
	cns                   []string
	statuses              []string
	total, limit, offset  int
	hasPage, itemsPresent bool
}

// lsList reads one page of orders ("order") or requests ("request").
func lsList(t *testing.T, srv *testenv.Server, what, query string) lsPage {
	t.Helper()
	path := "/services/v2/order/certificate?" + query
	if what == "request" {
		path = "/services/v2/request?" + query
	}
	status, hdr, body := srv.Do("GET", path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Orders   []json.RawMessage `json:"orders"`
		Requests []json.RawMessage `json:"requests"`
		Page     *struct {
			Total  int `json:"total"`
			Limit  int `json:"limit"`
			Offset int `json:"offset"`
		} `json:"page"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	items := v.Orders
	if what == "request" {
		items = v.Requests
	}
	p := lsPage{itemsPresent: items != nil, hasPage: v.Page != nil}
	if v.Page != nil {
		p.total, p.limit, p.offset = v.Page.Total, v.Page.Limit, v.Page.Offset
	}
	for _, raw := range items {
		var it struct {
			ID          int64  `json:"id"`
			Status      string `json:"status"`
			Certificate struct {
				CommonName string `json:"common_name"`
			} `json:"certificate"`
			Order struct {
				Certificate struct {
					CommonName string `json:"common_name"`
				} `json:"certificate"`
			} `json:"order"`
		}
		if err := json.Unmarshal(raw, &it); err != nil {
			t.Fatalf("item: %v", err)
		}
		cn := it.Certificate.CommonName
		if what == "request" {
			cn = it.Order.Certificate.CommonName
		}
		p.ids, p.cns, p.statuses = append(p.ids, it.ID), append(p.cns, cn), append(p.statuses, it.Status)
	}
	if !p.itemsPresent || !p.hasPage {
		t.Fatalf("GET %s: list or page missing: %s", path, clip(body))
	}
	return p
}

// lsRequirePaging pages through query with several limits: every page
// says the exact total, echoes offset and limit, and the pages together
// are the whole list, in order, once.
func lsRequirePaging(t *testing.T, srv *testenv.Server, what, query string, want []int64) {
	t.Helper()
	for _, lim := range []int{1, 2, 3, len(want), len(want) + 1} {
		if lim <= 0 {
			continue
		}
		var got []int64
		for off := 0; ; off += lim {
			p := lsList(t, srv, what, query+"&limit="+strconv.Itoa(lim)+"&offset="+strconv.Itoa(off))
			if p.total != len(want) || p.limit != lim || p.offset != off {
				t.Fatalf("%s %q limit %d offset %d: page = total %d limit %d offset %d, want total %d", what, query, lim, off,
					p.total, p.limit, p.offset, len(want))
			}
			if wantLen := min(lim, max(len(want)-off, 0)); len(p.ids) != wantLen {
				t.Fatalf("%s %q limit %d offset %d: %d items, want %d", what, query, lim, off, len(p.ids), wantLen)
			}
			got = append(got, p.ids...)
			if off+lim >= len(want) {
				break
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s %q paged by %d = %v, want %v", what, query, lim, got, want)
		}
	}
	past := lsList(t, srv, what, query+"&offset="+strconv.Itoa(len(want)+5))
	if len(past.ids) != 0 || past.total != len(want) {
		t.Errorf("%s %q past the end: %d items, total %d", what, query, len(past.ids), past.total)
	}
}

// TestListsPagingFiltersSorting: the orders and requests lists page
// exactly, sort by one or more keys (descending with "-"), and take the
// filters of spec §2.3 and §3.2, including the "%25" contains search and
// date ranges.
func TestListsPagingFiltersSorting(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	type placed struct {
		id  int64
		cn  string
		req int64
	}
	issue := func(cn string, dns ...any) placed {
		m := baseBody(csr)
		certOf(m)["common_name"] = cn
		if dns != nil {
			certOf(m)["dns_names"] = dns
		}
		id, _ := lcIssued(t, srv, "ssl_securesite", m, cn)
		return placed{id: id, cn: cn}
	}
	wait := func(cn string) placed {
		m := baseBody(csr)
		certOf(m)["common_name"] = cn
		got := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
		return placed{id: got.ID, cn: cn, req: got.Requests[0].ID}
	}
	metaStatus, _, metaBody := srv.Do("POST", "/services/v2/account/metadata", `{"label":"Cost center","data_type":"text"}`)
	var meta struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(metaBody, &meta); metaStatus != http.StatusCreated || err != nil || meta.ID == 0 {
		t.Fatalf("define custom field: %d %s", metaStatus, clip(metaBody))
	}

	alpha := issue("alpha.example.com")
	bm := baseBody(csr)
	certOf(bm)["common_name"] = "beta.example.com"
	bm["custom_fields"] = []any{map[string]any{"metadata_id": meta.ID, "value": "CC-7"}}
	betaID, _ := lcIssued(t, srv, "ssl_securesite", bm, "beta.example.com")
	beta := placed{id: betaID, cn: "beta.example.com"}
	gamma := issue("gamma.example.org", "www.gamma.example.org")
	delta := issue("delta.example.net")
	eps, zeta, eta := wait("epsilon.example.com"), wait("zeta.example.com"), wait("eta.example.com")
	client, _ := lcIssued(t, srv, "client_premium", clBody(csr), "Lock Cole")
	all := []int64{alpha.id, beta.id, gamma.id, delta.id, eps.id, zeta.id, eta.id, client}

	// A reissue waiting for approval: alpha is reissue_pending, and a
	// request of type reissue exists.
	_, reCSR := lcKey(t)
	reissue := lcOpOK(t, srv, alpha.id, "reissue", map[string]any{"certificate": map[string]any{"csr": reCSR}})

	var betaCert struct {
		Certificate struct {
			ID     int64  `json:"id"`
			Serial string `json:"serial_number"`
		} `json:"certificate"`
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	_, raw := getOrder(t, srv, beta.id)
	if err := json.Unmarshal(raw, &betaCert); err != nil || betaCert.Certificate.Serial == "" {
		t.Fatalf("beta's certificate: %v %s", err, clip(raw))
	}

	t.Run("orders paging", func(t *testing.T) { lsRequirePaging(t, srv, "order", "sort=id", all) })
	t.Run("orders paging with a filter", func(t *testing.T) {
		lsRequirePaging(t, srv, "order", "filters[search]=%25example.com", []int64{alpha.id, beta.id, eps.id, zeta.id, eta.id, client})
	})

	today := time.Now().UTC().Format("2006-01-02")
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format("2006-01-02")
	yesterday := time.Now().UTC().AddDate(0, 0, -1).Format("2006-01-02")
	filterCases := []struct {
		query string
		want  []int64
	}{
		{"filters[status]=issued", []int64{beta.id, gamma.id, delta.id, client}},
		{"filters[status]=reissue_pending", []int64{alpha.id}},
		{"filters[status]=needs_approval", []int64{eps.id, zeta.id, eta.id}},
		{"filters[search]=%25mma", []int64{gamma.id}},
		{"filters[search]=be", []int64{beta.id}},
		{"filters[search]=eta", []int64{eta.id}},
		{"filters[search]=%25ETA", []int64{beta.id, zeta.id, eta.id}},
		{"filters[search]=locke", []int64{client}},
		{"filters[common_name]=delta.example.net", []int64{delta.id}},
		{"filters[domain_name]=www.gamma.example.org", []int64{gamma.id}},
		{"filters[email]=" + url.QueryEscape(clEmail), []int64{client}},
		{"filters[product_name_id]=client_premium", []int64{client}},
		{"filters[metadata_id]=" + itoa(meta.ID), []int64{beta.id}},
		{"filters[serial_number]=" + betaCert.Certificate.Serial, []int64{beta.id}},
		{"filters[certificate_id]=" + itoa(betaCert.Certificate.ID), []int64{beta.id}},
		{"filters[user_id]=" + itoa(betaCert.User.ID), all},
		{"filters[is_renewed]=0", all},
		{"filters[is_renewed]=1", nil},
		{"filters[origin]=migrated", nil},
		{"filters[origin]=certcentral", all},
		{"filters[date_created]=" + today + "..." + today, all},
		{"filters[date_created]=" + yesterday + "..." + today, all},
		{"filters[date_created]=" + today, all},
		{"filters[date_created]=%3E" + today, nil},
		{"filters[date_created]=%3E" + yesterday, all},
		{"filters[date_created]=%3C" + today, nil},
		{"filters[date_created]=%3C" + tomorrow, all},
		{"filters[valid_till]=%3E" + today, []int64{alpha.id, beta.id, gamma.id, delta.id, client}},
		{"filters[valid_till]=%3C" + today, nil},
		{"filters[status]=issued&filters[search]=%25example", []int64{beta.id, gamma.id, delta.id, client}},
	}
	for _, fc := range filterCases {
		t.Run(fc.query, func(t *testing.T) {
			p := lsList(t, srv, "order", fc.query+"&sort=id")
			want := fc.want
			if want == nil {
				want = []int64{}
			}
			if p.ids == nil {
				p.ids = []int64{}
			}
			if !slices.Equal(p.ids, want) || p.total != len(want) {
				t.Errorf("ids = %v (total %d), want %v", p.ids, p.total, want)
			}
		})
	}

	t.Run("orders sorting", func(t *testing.T) {
		rev := slices.Clone(all)
		slices.Reverse(rev)
		if p := lsList(t, srv, "order", "sort=-id"); !slices.Equal(p.ids, rev) {
			t.Errorf("sort=-id: %v, want %v", p.ids, rev)
		}
		p := lsList(t, srv, "order", "sort=common_name")
		if !sort.StringsAreSorted(p.cns) {
			t.Errorf("sort=common_name: %q", p.cns)
		}
		p = lsList(t, srv, "order", "sort=-common_name")
		if !sort.SliceIsSorted(p.cns, func(i, j int) bool { return p.cns[i] > p.cns[j] }) {
			t.Errorf("sort=-common_name: %q", p.cns)
		}
		// status ascending, then id descending within a status.
		p = lsList(t, srv, "order", "sort=status,-id")
		for i := 1; i < len(p.ids); i++ {
			if p.statuses[i-1] > p.statuses[i] || p.statuses[i-1] == p.statuses[i] && p.ids[i-1] < p.ids[i] {
				t.Fatalf("sort=status,-id: %v %v", p.statuses, p.ids)
			}
		}
		if p := lsList(t, srv, "order", "sort=-date_created,-id"); !slices.Equal(p.ids, rev) {
			t.Errorf("sort=-date_created,-id: %v, want %v", p.ids, rev)
		}
	})

	t.Run("order list refusals", func(t *testing.T) {
		for _, c := range []struct{ query, code string }{
			{"sort=price", "invalid_value:sort"},
			{"filters[date_created]=soon", "invalid_value:filters[date_created]"},
			{"filters[date_created]=" + today + "..." + yesterday, "invalid_value:filters[date_created]"},
			{"filters[is_renewed]=maybe", "invalid_value:filters[is_renewed]"},
			{"filters[user_id]=x", "invalid_value:filters[user_id]"},
			{"filters[status]=done", "invalid_value:filters[status]"},
			{"offset=-1", "invalid_value:offset"},
		} {
			status, hdr, body := srv.Do("GET", "/services/v2/order/certificate?"+c.query, "")
			requireErrors(t, status, hdr, body, http.StatusBadRequest, c.code)
		}
	})

	reqs := []int64{eps.req, zeta.req, eta.req, reissue.Requests[0].ID}
	t.Run("requests paging", func(t *testing.T) { lsRequirePaging(t, srv, "request", "sort=id", reqs) })
	t.Run("requests filters and sorting", func(t *testing.T) {
		rev := slices.Clone(reqs)
		slices.Reverse(rev)
		for _, c := range []struct {
			query string
			want  []int64
		}{
			{"sort=-id", rev},
			{"filters[type]=reissue", []int64{reissue.Requests[0].ID}},
			{"filters[type]=new_request&sort=id", reqs[:3]},
			{"filters[status]=pending&sort=id", reqs},
			{"filters[status]=approved", []int64{}},
			{"filters[search]=%25psilon", []int64{eps.req}},
			{"filters[search]=zeta", []int64{zeta.req}},
			{"filters[search]=alpha", []int64{reissue.Requests[0].ID}},
			{"filters[date]=" + today + "..." + today + "&sort=id", reqs},
			{"filters[date]=%3E" + today, []int64{}},
			{"filters[container_id]=1&sort=id", reqs},
			{"filters[metadata_id]=" + itoa(meta.ID), []int64{}},
			{"sort=-date,-id", rev},
		} {
			p := lsList(t, srv, "request", c.query)
			if p.ids == nil {
				p.ids = []int64{}
			}
			if !slices.Equal(p.ids, c.want) || p.total != len(c.want) {
				t.Errorf("%s: ids %v total %d, want %v", c.query, p.ids, p.total, c.want)
			}
		}
		status, hdr, body := srv.Do("GET", "/services/v2/request?sort=owner", "")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:sort")
		status, hdr, body = srv.Do("GET", "/services/v2/request?filters[date]=later", "")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:filters[date]")
	})

	t.Run("csv", func(t *testing.T) {
		orderCols := []string{"id", "status", "date_created", "common_name", "dns_names", "product_name_id", "product_name",
			"organization_id", "organization_name", "container_id", "container_name", "certificate_id", "serial_number",
			"valid_from", "valid_till", "days_remaining", "order_valid_till", "validity_years", "is_renewed", "alternative_order_id", "price"}
		requestCols := []string{"id", "date", "type", "status", "date_processed", "requester_id", "requester_email",
			"processor_id", "processor_email", "order_id", "common_name", "product_name_id", "product_name", "organization_id",
			"organization_name", "container_id", "container_name", "comments", "processor_comment"}
		readCSV := func(t *testing.T, path, accept string, cols []string) [][]string {
			t.Helper()
			status, hdr, body := lsGet(t, srv, path, accept)
			if status != http.StatusOK {
				t.Fatalf("GET %s as CSV: %d %s", path, status, clip(body))
			}
			if ct := hdr.Get("Content-Type"); ct != "text/csv" {
				t.Fatalf("Content-Type = %q, want text/csv", ct)
			}
			rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
			if err != nil || len(rows) == 0 {
				t.Fatalf("CSV: %v %s", err, clip(body))
			}
			if !slices.Equal(rows[0], cols) {
				t.Fatalf("CSV header = %q, want %q", rows[0], cols)
			}
			return rows[1:]
		}
		for _, accept := range []string{"text/csv", "text/csv; charset=utf-8", "application/json;q=0.5, text/csv"} {
			rows := readCSV(t, "/services/v2/order/certificate?sort=id&offset=2&limit=3", accept, orderCols)
			page := lsList(t, srv, "order", "sort=id&offset=2&limit=3")
			if len(rows) != len(page.ids) {
				t.Fatalf("CSV has %d rows, the JSON page %d", len(rows), len(page.ids))
			}
			for i, r := range rows {
				if r[0] != itoa(page.ids[i]) || r[3] != page.cns[i] || r[1] != page.statuses[i] {
					t.Errorf("CSV row %d = %q, want id %d %s %s", i, r, page.ids[i], page.statuses[i], page.cns[i])
				}
			}
		}
		rows := readCSV(t, "/services/v2/order/certificate?filters[common_name]=gamma.example.org", "text/csv", orderCols)
		if len(rows) != 1 || rows[0][4] != "gamma.example.org www.gamma.example.org" || rows[0][6] == "" || rows[0][12] == "" {
			t.Errorf("gamma's CSV row = %q", rows)
		}
		rrows := readCSV(t, "/services/v2/request?sort=id", "text/csv", requestCols)
		if len(rrows) != len(reqs) || rrows[3][0] != itoa(reqs[3]) || rrows[3][2] != "reissue" || rrows[3][10] != "alpha.example.com" {
			t.Errorf("request CSV rows = %q", rrows)
		}
		// JSON stays the default, and errors stay JSON.
		status, hdr, _ := lsGet(t, srv, "/services/v2/order/certificate", "application/json")
		fam2Must(t, status == 200 && hdr.Get("Content-Type") == "application/json", "Accept: application/json answered %s", hdr.Get("Content-Type"))
		status, hdr, body := lsGet(t, srv, "/services/v2/order/certificate?sort=nope", "text/csv")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:sort")
	})
}
