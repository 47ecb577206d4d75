package testenv

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/certorder/certorder/internal/api"
)

// Every test server checks each answer it gives against the OpenAPI
// document it serves (GET /services/v2/openapi.json), with kin-openapi:
// the status must be one the route documents, the Content-Type one of its
// media types, the documented headers there (X-Request-ID), and a JSON
// body must fit the schema. A path no route serves must answer the
// not_found|route envelope. The console's pages are left out (HTML whose
// routes the console's own mux picks). The mismatches fail the test when
// its server stops. CERTORDER_TEST_OPENAPI=0 turns the check off.

// openAPIDocs are the loaded and validated documents, by the SHA-256 of
// their JSON: servers of one test binary serve the same few.
var openAPIDocs sync.Map // [32]byte → *openAPIDoc

type openAPIDoc struct {
	once sync.Once
	doc  *openapi3.T
	err  error
}

func loadOpenAPI(b []byte) (*openapi3.T, error) {
	v, _ := openAPIDocs.LoadOrStore(sha256.Sum256(b), &openAPIDoc{})
	d := v.(*openAPIDoc)
	d.once.Do(func() {
		l := openapi3.NewLoader()
		d.doc, d.err = l.LoadFromData(b)
		if d.err == nil {
			d.err = d.doc.Validate(context.Background())
		}
	})
	return d.doc, d.err
}

// openAPICheck validates one server's answers.
type openAPICheck struct {
	api     *api.Server
	doc     *openapi3.T
	schemas *openapi3.T // doc's paths and components, presented as 3.0 (newOpenAPICheck)

	mu       sync.Mutex
	failures map[string]bool
	checked  int
}

func newOpenAPICheck(t testing.TB, srv *api.Server) *openAPICheck {
	if os.Getenv("CERTORDER_TEST_OPENAPI") == "0" {
		return nil
	}
	doc, err := loadOpenAPI(srv.OpenAPI())
	if err != nil {
		t.Fatalf("the server's OpenAPI document is not valid OpenAPI: %v", err)
	}
	// The answers' schemas use only what OpenAPI 3.0 and 3.1 schemas
	// share (type, properties, required, additionalProperties, items,
	// enum, pattern, anyOf with a null type). Presented as 3.0, kin
	// checks them with its own validator; as 3.1 it would compile a JSON
	// Schema for every answer, which doubled the suites' CPU time. The
	// document itself is loaded and validated as the 3.1 it is.
	schemas := &openapi3.T{OpenAPI: "3.0.3", Info: doc.Info, Paths: doc.Paths, Components: doc.Components}
	return &openAPICheck{api: srv, doc: doc, schemas: schemas, failures: map[string]bool{}}
}

// wrap checks every answer h gives.
func (c *openAPICheck) wrap(h http.Handler) http.Handler {
	if c == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pattern := c.api.Pattern(r)
		rec := &capture{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		c.check(r, pattern, rec)
	})
}

func (c *openAPICheck) check(r *http.Request, pattern string, rec *capture) {
	if r.Method == http.MethodHead || pattern == "/console/" || r.Context().Err() != nil || rec.hijacked {
		return // no body; the console's pages; nobody got the answer (or any)
	}
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	fail := c.verdict(r, pattern, status, rec.Header(), rec.body.Bytes())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checked++
	if fail != "" {
		key := fmt.Sprintf("%s %s → %d: %s\n    body: %.400s", r.Method, r.URL.Path, status, oneLine(fail), rec.body.String())
		if pattern != "" {
			key = fmt.Sprintf("%s %s (route %s) → %d: %s\n    body: %.400s", r.Method, r.URL.Path, pattern, status, oneLine(fail), rec.body.String())
		}
		c.failures[key] = true
	}
}

// CheckAnswer is the check of an answer with that status, Content-Type and
// body (and an X-Request-ID) to method path on srv: "" when it fits the
// OpenAPI document, else why not. It lets tests show that the check
// refuses what does not fit.
func CheckAnswer(t testing.TB, srv *Server, method, path string, status int, contentType string, body []byte) string {
	t.Helper()
	c := srv.check
	if c == nil {
		t.Skip("CERTORDER_TEST_OPENAPI=0: answers are not checked")
	}
	r, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Content-Type": {contentType}, "X-Request-Id": {"check"}}
	return c.verdict(r, c.api.Pattern(r), status, h, body)
}

// verdict is why an answer does not fit the document, "" when it does.
func (c *openAPICheck) verdict(r *http.Request, pattern string, status int, header http.Header, body []byte) string {
	var fail string
	switch method, path, isRoute := c.api.OpenAPIRoute(pattern); {
	case pattern == "":
		fail = c.checkUnrouted(status, header, body)
	case !isRoute:
		fail = "a pattern that is no route answered"
	default:
		item := c.doc.Paths.Value(path)
		var operation *openapi3.Operation
		if item != nil {
			operation = item.GetOperation(strings.ToUpper(method))
		}
		if operation == nil {
			fail = fmt.Sprintf("the document has no operation %s %s", strings.ToUpper(method), path)
			break
		}
		in := &openapi3filter.RequestValidationInput{Request: r,
			Route: &routers.Route{Spec: c.schemas, Path: path, PathItem: item, Method: strings.ToUpper(method), Operation: operation}}
		err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: in, Status: status, Header: header,
			Body:    io.NopCloser(bytes.NewReader(body)),
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		})
		if err != nil {
			fail = err.Error()
		}
	}
	return fail
}

// checkUnrouted: a path no route serves answers 404 not_found|route.
func (c *openAPICheck) checkUnrouted(status int, header http.Header, body []byte) string {
	if status != http.StatusNotFound {
		return fmt.Sprintf("no route serves it, yet it answered %d", status)
	}
	if ct := header.Get("Content-Type"); ct != "application/json" {
		return fmt.Sprintf("the not-found envelope has Content-Type %q", ct)
	}
	errs := c.doc.Components.Schemas["Errors"]
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "the not-found answer is not JSON: " + err.Error()
	}
	if err := errs.Value.VisitJSON(v); err != nil {
		return "the not-found answer is not the envelope: " + err.Error()
	}
	return ""
}

// report fails t with every mismatch seen.
func (c *openAPICheck) report(t testing.TB) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.failures) == 0 {
		return
	}
	var list []string
	for f := range c.failures {
		list = append(list, f)
	}
	sort.Strings(list)
	t.Errorf("%d of %d answers do not fit the OpenAPI document (internal/api/openapi_routes.go):\n  %s",
		len(list), c.checked, strings.Join(list, "\n  "))
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}

// capture passes an answer on and keeps its status and body.
type capture struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool // the handler took the connection (a sandbox drop fault): no answer
}

// Hijack hands the connection over and notes that no answer follows.
func (c *capture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c.hijacked = true
	return http.NewResponseController(c.ResponseWriter).Hijack()
}

// maxCapture bounds the body kept of one answer (downloads are small).
const maxCapture = 8 << 20

func (c *capture) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len()+len(b) <= maxCapture {
		c.body.Write(b)
	}
	return c.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (c *capture) Unwrap() http.ResponseWriter { return c.ResponseWriter }
