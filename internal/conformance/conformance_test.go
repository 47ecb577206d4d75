package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/flex"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

var testKey = Key{AccountID: 1, KeyID: 7, UserID: 3, Name: "ci"}

// input is a handler's body type: known fields, flex scalars, a nested
// object, a list and a map.
type input struct {
	Name   string    `json:"name"`
	Count  flex.Int  `json:"count"`
	On     flex.Bool `json:"on"`
	Nested *struct {
		ID flex.Int `json:"id"`
	} `json:"nested"`
	Items []struct {
		V string `json:"v"`
	} `json:"items"`
	Labels   map[string]string `json:"labels"`
	Anything any               `json:"anything"`
	Ignored  string            `json:"-"`
}

// collided claims names twice, which encoding/json resolves: ref is
// refShallow's string (the shallower field), U is neither field's (two
// untagged at one depth: the decoder ignores it).
type collided struct {
	refDeep
	refShallow
	uA
	uB
}

type refDeep struct{ refDeeper }

type refDeeper struct {
	Ref flex.Int `json:"ref"`
}

type refShallow struct {
	Ref string `json:"ref"`
}

type uA struct{ U int }

type uB struct{ U int }

// call runs one call through the recorder as the API edge does.
func call(rc *Recorder, method, pattern, path, body string, hdr map[string]string, status int, v any) {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body == "" {
		r = httptest.NewRequest(method, path, nil)
	}
	for k, val := range hdr {
		r.Header.Set(k, val)
	}
	if strings.Contains(pattern, "{product}") {
		r.SetPathValue("product", path[strings.LastIndex(path, "/")+1:])
	}
	c := rc.Begin(testKey, r, pattern)
	if v != nil {
		json.Unmarshal([]byte(body), v)
		c.Body([]byte(body), v)
	}
	w := httptest.NewRecorder()
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "30")
	}
	c.End(status, w.Header())
}

func kinds(rc *Recorder) []string {
	var out []string
	for _, k := range rc.Report(1, 0).Keys {
		for _, f := range k.Findings {
			out = append(out, f.Kind+" "+f.Field)
		}
	}
	slices.Sort(out)
	return out
}

var jsonCT = map[string]string{"Content-Type": "application/json"}

// TestFindings: each check, alone, finds exactly its kind.
func TestFindings(t *testing.T) {
	order := func(body string) func(rc *Recorder) {
		return func(rc *Recorder) {
			call(rc, "POST", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/ssl_securesite", body, jsonCT, 201, nil)
		}
	}
	for _, tc := range []struct {
		name string
		run  func(rc *Recorder)
		want []string
	}{
		{"clean", func(rc *Recorder) {
			call(rc, "POST", "/x", "/x", `{"name":"a","count":2,"on":true,"nested":{"id":3},"items":[{"v":"b"}],"labels":{"k":"v"},"anything":{"deep":[1]}}`, jsonCT, 200, &input{})
			call(rc, "GET", "/x/{id}", "/x/1", "", nil, 200, nil)
		}, nil},
		{"unknown fields, nested and in lists", func(rc *Recorder) {
			call(rc, "POST", "/x", "/x", `{"nme":"a","nested":{"id":1,"extra":2},"items":[{"v":"b","w":1}],"Name":"case-folded is known"}`, jsonCT, 200, &input{})
		}, []string{"unknown_field items[].w", "unknown_field nested.extra", "unknown_field nme"}},
		{"names claimed twice, as encoding/json resolves them", func(rc *Recorder) {
			call(rc, "POST", "/x", "/x", `{"ref":"12","U":1}`, jsonCT, 200, &collided{})
		}, []string{"unknown_field U"}},
		{"strings for numbers and booleans", func(rc *Recorder) {
			call(rc, "POST", "/x", "/x", `{"count":"2","on":"true","nested":{"id":"12"},"name":"7"}`, jsonCT, 200, &input{})
		}, []string{"string_for_boolean on", "string_for_number count", "string_for_number nested.id"}},
		{"empty strings are no value", func(rc *Recorder) {
			call(rc, "POST", "/x", "/x", `{"count":"","on":null}`, jsonCT, 200, &input{})
		}, nil},
		{"GET with a body", func(rc *Recorder) {
			call(rc, "GET", "/x", "/x", `{"filters":1}`, nil, 200, nil)
		}, []string{"get_with_body "}},
		{"no Content-Type", func(rc *Recorder) {
			call(rc, "PUT", "/x", "/x", `{"name":"a"}`, nil, 204, &input{})
		}, []string{"missing_content_type "}},
		{"a form Content-Type", func(rc *Recorder) {
			call(rc, "PUT", "/x", "/x", `{"name":"a"}`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 204, &input{})
		}, []string{"missing_content_type "}},
		{"charset is fine", func(rc *Recorder) {
			call(rc, "PUT", "/x", "/x", `{"name":"a"}`, map[string]string{"Content-Type": "application/json; charset=utf-8"}, 204, &input{})
		}, nil},
		{"ignored Retry-After", func(rc *Recorder) {
			call(rc, "GET", "/a", "/a", "", nil, 429, nil)
			call(rc, "GET", "/b", "/b", "", nil, 200, nil)
			call(rc, "GET", "/c", "/c", "", nil, 200, nil) // one finding per 429
		}, []string{"ignored_retry_after "}},
		{"polling", func(rc *Recorder) {
			for range 5 {
				call(rc, "GET", "/x/{id}", "/x/1", "", nil, 200, nil)
			}
			call(rc, "GET", "/x/{id}", "/x/2", "", nil, 200, nil)
			call(rc, "GET", "/x/{id}", "/x/2", "", nil, 200, nil)
		}, []string{"polling_too_fast "}},
		{"deprecated product", func(rc *Recorder) {
			call(rc, "GET", "/services/v2/product/{name_id}", "/services/v2/product/ssl_plus", "", nil, 200, nil)
			call(rc, "POST", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/ssl_ev_plus", `{"order_validity":{"years":1}}`, jsonCT, 201, nil)
		}, []string{"deprecated_product ssl_ev_plus"}},
		{"deprecated fields", func(rc *Recorder) {
			call(rc, "POST", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/ssl_basic",
				`{"validity_years":1,"custom_expiration_date":"","certificate":{"organization_units":["IT"]}}`, jsonCT, 201, nil)
			// Seed 000's own fields are no deprecation on Secure Site.
			call(rc, "POST", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/ssl_securesite", `{"validity_years":1,"x":1}`, jsonCT, 201, nil)
		}, []string{"deprecated_field certificate.organization_units", "deprecated_field validity_years"}},
		{"retry after a 503", func(rc *Recorder) {
			order(`{"certificate":{"common_name":"a"}}`)(rc)
			rc.keys[7].posts[0].status = 503
			order(`{"certificate":{"common_name":"a"}}`)(rc)
		}, []string{"retry_without_alternative_order_id alternative_order_id"}},
		{"retry after a 201", func(rc *Recorder) {
			order(`{"certificate":{"common_name":"a"}}`)(rc)
			order(`{"certificate":{"common_name":"a"}}`)(rc)
		}, []string{"retry_without_alternative_order_id alternative_order_id"}},
		{"retries that are safe", func(rc *Recorder) {
			call(rc, "POST", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/ssl_securesite", `{"certificate":{"common_name":"b"}}`, jsonCT, 429, nil)
			rc.keys[7].retryUntil = time.Time{}
			call(rc, "POST", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/ssl_securesite", `{"certificate":{"common_name":"b"}}`, jsonCT, 400, nil)
			order(`{"certificate":{"common_name":"b"}}`)(rc) // after a 429 and a 400: nothing was placed
			order(`{"certificate":{"common_name":"c"},"alternative_order_id":"x1"}`)(rc)
			order(`{"certificate":{"common_name":"c"},"alternative_order_id":"x1"}`)(rc)
			order(`{"certificate":{"common_name":"d"}}`)(rc) // another order
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
			rc := &Recorder{Now: clk.now}
			tc.run(rc)
			if got := kinds(rc); !slices.Equal(got, tc.want) {
				t.Errorf("findings %q, want %q", got, tc.want)
			}
		})
	}
}

// TestPaces: a 429 obeyed and polling at the advised pace find nothing.
func TestPaces(t *testing.T) {
	clk := &clock{t: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)}
	rc := &Recorder{Now: clk.now}
	call(rc, "GET", "/a", "/a", "", nil, 429, nil)
	clk.t = clk.t.Add(30 * time.Second)
	call(rc, "GET", "/b", "/b", "", nil, 200, nil)
	for range 6 {
		clk.t = clk.t.Add(PollInterval)
		call(rc, "GET", "/x/{id}", "/x/1", "", nil, 200, nil)
	}
	clk.t = clk.t.Add(RetryWindow + time.Second)
	if got := kinds(rc); len(got) != 0 {
		t.Errorf("findings %q", got)
	}
}

// TestReport: routes, fields with their types, headers, user agents, and
// one example per finding, counted; nothing secret in it.
func TestReport(t *testing.T) {
	rc := &Recorder{Now: time.Now}
	csr := "-----BEGIN CERTIFICATE REQUEST-----\nMIIBSECRETCSRBODY\n-----END CERTIFICATE REQUEST-----"
	body := fmt.Sprintf(`{"certificate":{"csr":%q,"common_name":"a","colour":"blue"},"credit_card":{"number":"4111 1111 1111 1234","cvv":"987"},"password":"hunter2","api_key":"K"}`, csr)
	hdr := map[string]string{"Content-Type": "application/json", "User-Agent": "acme-client/2", "X-DC-DEVKEY": "THEAPIKEY", "Authorization": "Bearer XYZ"}
	for range 2 {
		call(rc, "POST", "/services/v2/order/certificate/{product}", "/services/v2/order/certificate/ssl_securesite", body, hdr, 400, &struct {
			Certificate struct {
				CSR        string `json:"csr"`
				CommonName string `json:"common_name"`
			} `json:"certificate"`
			CreditCard struct {
				Number string      `json:"number"`
				CVV    flex.String `json:"cvv"`
			} `json:"credit_card"`
			Password string `json:"password"`
			APIKey   string `json:"api_key"`
		}{})
	}
	call(rc, "PUT", "/services/v2/email-validation/{token}", "/services/v2/email-validation/LINKSECRET", `{"x":1}`, nil, 204, &struct{}{})
	// A client that puts its key in the query (CertCentral reads only the
	// header) leaves it out of the report.
	call(rc, "GET", "/services/v2/user/me", "/services/v2/user/me?apikey=QUERYKEY&x%5Fdevkey=OTHERKEY&limit=5", `{"a":1}`, nil, 200, nil)
	rep := rc.Report(1, 7)
	if rep.Scope != ScopeProcess || rep.Note == "" {
		t.Errorf("report scope %q, note %q", rep.Scope, rep.Note)
	}
	if len(rep.Keys) != 1 {
		t.Fatalf("keys %+v", rep.Keys)
	}
	k := rep.Keys[0]
	if k.Requests != 4 || k.KeyName != "ci" || k.UserID != 3 || !slices.Equal(k.UserAgents, []string{"acme-client/2"}) {
		t.Errorf("key %+v", k)
	}
	var fields []string
	for _, r := range k.Routes {
		for _, f := range r.Fields {
			fields = append(fields, f.Field+":"+strings.Join(f.Types, "|"))
		}
	}
	for _, want := range []string{"certificate:object", "certificate.colour:string", "credit_card.cvv:string", "x:number"} {
		if !slices.Contains(fields, want) {
			t.Errorf("fields %q lack %s", fields, want)
		}
	}
	var colour *Finding
	for i, f := range k.Findings {
		if f.Field == "certificate.colour" {
			colour = &k.Findings[i]
		}
	}
	if colour == nil || colour.Count != 2 || colour.Request.Status != 400 || colour.Request.Headers["User-Agent"] != "acme-client/2" ||
		!strings.Contains(colour.Request.Body, `"common_name":"a"`) || !strings.Contains(colour.Request.Body, `"csr":"<CSR, 87 characters>"`) || !strings.Contains(colour.Request.Body, "************1234") {
		t.Errorf("finding %+v", colour)
	}
	b, _ := json.Marshal(rep)
	if !strings.Contains(string(b), `apikey=\u003credacted\u003e`) || !strings.Contains(string(b), "limit=5") {
		t.Errorf("the query of the GET with a body is not kept redacted: %s", b)
	}
	for _, secret := range []string{"THEAPIKEY", "Bearer", "SECRETCSRBODY", "4111", "987", "hunter2", `"K"`, "LINKSECRET", "QUERYKEY", "OTHERKEY"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the report holds %q: %s", secret, b)
		}
	}
	// By choice, CSRs are kept.
	keep := &Recorder{Now: time.Now, KeepCSR: true}
	call(keep, "POST", "/x", "/x", body, nil, 200, &struct{}{})
	b, _ = json.Marshal(keep.Report(1, 0))
	if !strings.Contains(string(b), "SECRETCSRBODY") || strings.Contains(string(b), "hunter2") {
		t.Errorf("KeepCSR report: %s", b)
	}
	// Another account sees nothing; a reset forgets.
	if r := rc.Report(2, 0); len(r.Keys) != 0 {
		t.Errorf("another account: %+v", r)
	}
	rc.Reset(1, 7)
	if r := rc.Report(1, 0); len(r.Keys) != 0 {
		t.Errorf("after a reset: %+v", r)
	}
}

// TestBounds: findings, fields and keys stay within their caps.
func TestBounds(t *testing.T) {
	rc := &Recorder{Now: time.Now}
	var b strings.Builder
	b.WriteString("{")
	for i := range MaxFields + 50 {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `"f%d":1`, i)
	}
	b.WriteString("}")
	call(rc, "POST", "/x", "/x", b.String(), jsonCT, 200, &struct{}{})
	k := rc.Report(1, 0).Keys[0]
	if len(k.Findings) != MaxFindings || k.FindingsDropped != MaxFields+50-MaxFindings {
		t.Errorf("%d findings, %d dropped", len(k.Findings), k.FindingsDropped)
	}
	if n := len(k.Routes[0].Fields); n != MaxFields {
		t.Errorf("%d fields kept", n)
	}
	for i := range MaxKeys + 10 {
		r := httptest.NewRequest("GET", "/x", nil)
		rc.Begin(Key{AccountID: 1, KeyID: int64(100 + i)}, r, "/x").End(200, http.Header{})
	}
	if n := len(rc.Report(1, 0).Keys); n != MaxKeys {
		t.Errorf("%d keys kept", n)
	}
	// A body of a few MB is clipped in the example.
	big := `{"zz":"` + strings.Repeat("a", 1<<20) + `"}`
	call(rc, "POST", "/y", "/y", big, nil, 200, &struct{}{})
	for _, k := range rc.Report(1, 0).Keys {
		for _, f := range k.Findings {
			if len(f.Request.Body) > ExcerptBytes+4 {
				t.Errorf("example body of %d bytes", len(f.Request.Body))
			}
		}
	}
}
