package apitest

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/certorder/certorder/internal/testenv"
)

// TestOpenAPICoversRoutes: GET /services/v2/openapi.json answers, without
// a key, an OpenAPI 3.1 document that kin-openapi loads and validates, and
// that describes exactly the routes the server registered (API, PKI,
// emailed-link pages, console): a route without a description, or a
// description of no route, fails. (testenv checks every answer of the
// suites against the same document.)
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	undescribed, unrouted := srv.App.API.OpenAPICoverage()
	if len(undescribed) > 0 {
		t.Errorf("routes without a description in internal/api/openapi_routes.go: %q", undescribed)
	}
	if len(unrouted) > 0 {
		t.Errorf("descriptions in internal/api/openapi_routes.go of routes the server does not register: %q", unrouted)
	}

	status, hdr, body := srv.DoKey("", "GET", "/services/v2/openapi.json", "")
	if status != http.StatusOK {
		t.Fatalf("GET openapi.json without a key: %d %s", status, clip(body))
	}
	requireJSON(t, hdr)
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}

	// Every registered pattern is an operation of the document, and the
	// document has no other.
	want := map[string]bool{}
	for _, p := range srv.App.API.Patterns() {
		if method, path, ok := srv.App.API.OpenAPIRoute(p); ok {
			want[strings.ToUpper(method)+" "+path] = true
		}
	}
	got := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			got[method+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("registered routes missing from the document: %q; operations of no route: %q", missing, extra)
	}
	if len(want) < 120 {
		t.Errorf("only %d routes registered", len(want))
	}
	// Every authenticated route asks for the key and documents the envelope.
	for _, r := range srv.App.API.Routes() {
		method, path, _ := srv.App.API.OpenAPIRoute(r.Method + " " + r.Path)
		o := doc.Paths.Value(path).GetOperation(strings.ToUpper(method))
		if o == nil || o.Security == nil || len(*o.Security) != 1 || (*o.Security)[0]["devKey"] == nil {
			t.Errorf("%s %s: no devKey security", r.Method, r.Path)
			continue
		}
		if e := o.Responses.Status(http.StatusForbidden); e == nil {
			t.Errorf("%s %s: no 403 answer", r.Method, r.Path)
		}
	}
	// The document is stable: two servers serve the same bytes.
	other := testenv.Start(t, testenv.Options{Sandbox: true})
	_, _, again := other.DoKey("", "GET", "/services/v2/openapi.json", "")
	if string(again) != string(body) {
		t.Error("two servers serve different documents")
	}
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || raw["jsonSchemaDialect"] == nil {
		t.Errorf("document without jsonSchemaDialect: %v", err)
	}
}

// TestOpenAPIChecksAnswers: the check testenv runs on every answer refuses
// one that does not fit, so that the suites' passing means something.
func TestOpenAPIChecksAnswers(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	for _, tc := range []struct {
		name, method, path string
		status             int
		body               string
		wantFail           string
	}{
		{"fits", "GET", "/services/v2/finance/balance", 200, `{"balance":"1.00","currency":"USD"}`, ""},
		{"undocumented member", "GET", "/services/v2/finance/balance", 200, `{"balance":"1.00","currency":"USD","extra":1}`, "extra"},
		{"missing member", "GET", "/services/v2/finance/balance", 200, `{"balance":"1.00"}`, "currency"},
		{"wrong type", "GET", "/services/v2/order/certificate/1", 200, `{"id":"1"}`, "id"},
		{"bad date format", "GET", "/services/v2/request/1", 200, `{"id":1,"date":"yesterday","type":"new_request","status":"pending","order":{"id":1,"certificate":{"common_name":"a"},"container":{"id":1,"name":"x"},"product":{"name_id":"p","name":"p","type":"t"}}}`, "date"},
		{"undocumented status", "GET", "/services/v2/finance/balance", 201, `{"balance":"1.00","currency":"USD"}`, "status"},
		{"error envelope", "GET", "/services/v2/finance/balance", 404, `{"errors":[{"code":"not_found","message":"x"}]}`, ""},
		{"bad envelope", "GET", "/services/v2/finance/balance", 400, `{"error":"x"}`, "errors"},
		{"unrouted, envelope", "GET", "/services/v2/nothing/here", 404, `{"errors":[{"code":"not_found|route","message":"x"}]}`, ""},
		{"unrouted, 200", "GET", "/services/v2/nothing/here", 200, `{}`, "no route"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := testenv.CheckAnswer(t, srv, tc.method, tc.path, tc.status, "application/json", []byte(tc.body))
			switch {
			case tc.wantFail == "" && got != "":
				t.Errorf("refused: %s", got)
			case tc.wantFail != "" && !strings.Contains(got, tc.wantFail):
				t.Errorf("check = %q, want a refusal naming %q", got, tc.wantFail)
			}
		})
	}
}
