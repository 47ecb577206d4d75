package api

// The OpenAPI 3.1 description of every route the server serves, served at
// GET /services/v2/openapi.json. It is built from the code: the paths are
// the patterns the mux registered (routes() and the console's), the
// answers' schemas are reflected from the Go types the handlers encode
// (views.go and beside each handler), and openapi_routes.go adds what the
// types do not say (summaries, request bodies, statuses, the shapes of
// the answers built from maps). A registered route without a description,
// or a description without a route, fails TestOpenAPICoversRoutes;
// testenv checks every answer of the test suites against the document.

import (
	"encoding/json"
	"net/http"
	"path"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/jsonfields"
)

// OpenAPIPath is where the document is served.
const OpenAPIPath = Base + "/openapi.json"

// metricsPattern is described whether or not this listener serves it
// (serve --metrics-addr moves it).
const metricsPattern = "GET /metrics"

// schema is a JSON Schema (2020-12, as OpenAPI 3.1 has it) under
// construction. Its values may hold reflect.Type, which the builder turns
// into the type's reflected schema.
type schema = map[string]any

// typ is the Go type T, reflected into a schema by the builder.
func typ[T any]() reflect.Type { return reflect.TypeFor[T]() }

var (
	str     = schema{"type": "string"}
	integer = schema{"type": "integer"}
	boolean = schema{"type": "boolean"}
	number  = schema{"type": "number"}
)

// prop is one property of obj: req ones are required.
type prop struct {
	name     string
	s        any
	required bool
}

func req(name string, s any) prop { return prop{name, s, true} }
func opt(name string, s any) prop { return prop{name, s, false} }

// obj is a closed object: the answers carry exactly these properties.
func obj(props ...prop) schema {
	p, r := schema{}, []string{}
	for _, x := range props {
		p[x.name] = x.s
		if x.required {
			r = append(r, x.name)
		}
	}
	s := schema{"type": "object", "properties": p, "additionalProperties": false}
	if len(r) > 0 {
		s["required"] = r
	}
	return s
}

// body is an open object: a request body, whose unknown members the
// server ignores, and whose members may be null (the decoder leaves a
// member sent as null unset).
func body(props ...prop) schema {
	for i := range props {
		props[i].s = schema{"anyOf": []any{props[i].s, schema{"type": "null"}}}
	}
	s := obj(props...)
	delete(s, "additionalProperties")
	return s
}

func arr(items any) schema { return schema{"type": "array", "items": items} }

// page is the page member of the paginated lists.
var page = typ[pageView]()

// list is a paginated list answer: {key: [item...], page}.
func list(key string, item any) schema {
	return obj(req(key, arr(item)), req("page", page))
}

// op describes one route.
type op struct {
	summary, desc string
	tag           string
	// in is the JSON request body (a type or a schema); inOptional marks
	// one that may be left out.
	in         any
	inOptional bool
	// query lists the query parameters; listQuery adds those of the
	// paginated lists.
	query     []param
	listQuery bool
	// out are the answers other than the standard errors.
	out []answer
	// csv: the list is also served as text/csv (Accept: text/csv).
	csv bool
}

// answer is one documented status: JSON of schema s, nothing (s nil and
// no content), or content of other media types.
type answer struct {
	status  int
	desc    string
	s       any
	content map[string]any // media type → media object, instead of JSON
}

func ok(s any) answer      { return answer{status: http.StatusOK, desc: "OK", s: s} }
func created(s any) answer { return answer{status: http.StatusCreated, desc: "Created", s: s} }

var noContentAnswer = answer{status: http.StatusNoContent, desc: "Done; no body."}

type param struct {
	name, desc string
	s          any
}

// media is content of the given types, each without a schema (binary
// files, HTML pages).
func media(types ...string) map[string]any {
	m := map[string]any{}
	for _, t := range types {
		m[t] = schema{}
	}
	return m
}

// OpenAPI is the document, as served.
func (s *Server) OpenAPI() []byte {
	s.openapiOnce.Do(func() {
		// The document depends only on what is registered: servers of one
		// process (the tests start hundreds) build each kind once.
		key := strings.Join(s.patterns, "\n") + "\nmetrics:" + strconv.FormatBool(s.ServeMetrics)
		v, _ := builtDocs.LoadOrStore(key, &builtDoc{})
		d := v.(*builtDoc)
		d.once.Do(func() {
			doc, _, _ := s.buildOpenAPI()
			b, err := json.MarshalIndent(doc, "", " ")
			if err != nil {
				panic("api: marshal the OpenAPI document: " + err.Error())
			}
			d.b = b
		})
		s.openapi = d.b
	})
	return s.openapi
}

// builtDocs are the documents built, by what they were built from.
var builtDocs sync.Map // string → *builtDoc

type builtDoc struct {
	once sync.Once
	b    []byte
}

// OpenAPICoverage lists the registered routes the document has no
// description for, and the descriptions of routes that are not
// registered: both empty when the document covers exactly what is
// served.
func (s *Server) OpenAPICoverage() (undescribed, unrouted []string) {
	_, undescribed, unrouted = s.buildOpenAPI()
	return undescribed, unrouted
}

// Patterns are every pattern the server's mux (and what is mounted on it)
// registered, in the order of registration.
func (s *Server) Patterns() []string { return slices.Clone(s.patterns) }

// OpenAPIRoute is the method (lower case) and OpenAPI path that document
// a registered pattern, and whether the pattern is a route (a method-less
// subtree such as the console's not-found fallback is not).
func (s *Server) OpenAPIRoute(pattern string) (method, path string, ok bool) {
	s.shapesOnce.Do(func() {
		// OpenAPI holds paths that differ only in their parameters' names
		// to be one path (POST /order/certificate/{product} and GET
		// /order/certificate/{id}): one of them, with {id} if any has it,
		// names the parameters for all.
		s.shapes = map[string]string{}
		for _, p := range s.patterns {
			if _, path, isRoute := openAPIPath(p); isRoute {
				if first, seen := s.shapes[pathShape(path)]; !seen || !strings.Contains(first, "{id}") && strings.Contains(path, "{id}") {
					s.shapes[pathShape(path)] = path
				}
			}
		}
	})
	method, path, ok = openAPIPath(pattern)
	if p, known := s.shapes[pathShape(path)]; ok && known {
		path = p
	}
	return method, path, ok
}

// openAPIPath is a pattern's method and path in OpenAPI's syntax.
func openAPIPath(pattern string) (method, path string, ok bool) {
	method, path, found := strings.Cut(pattern, " ")
	if !found {
		return "", "", false
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = strings.ReplaceAll(path, "...}", "}")
	if strings.HasSuffix(path, "/") && path != "/" && !strings.HasSuffix(pattern, "{$}") {
		path += "{path}" // a subtree: the rest of the path
	}
	return strings.ToLower(method), path, true
}

// Pattern is the pattern of the route that serves r, as ServeHTTP picks
// it; "" when none does (the not_found|route envelope).
func (s *Server) Pattern(r *http.Request) string {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, "/ocsp/") {
		return "GET /ocsp/{request...}"
	}
	if _, p := s.mux.Handler(r); p != "" {
		return p
	}
	if r2, ok := s.withoutTrailingSlash(r); ok {
		_, p := s.mux.Handler(r2)
		return p
	}
	return ""
}

func (s *Server) buildOpenAPI() (doc schema, undescribed, unrouted []string) {
	g := &schemaGen{names: map[reflect.Type]string{}, comps: schema{}, taken: map[string]reflect.Type{}}
	paths := schema{}
	described := map[string]bool{}
	for _, pattern := range s.patterns {
		method, path, isRoute := s.OpenAPIRoute(pattern)
		if !isRoute {
			continue
		}
		o, authed, found := s.describe(pattern)
		if !found {
			undescribed = append(undescribed, pattern)
			continue
		}
		described[pattern] = true
		item, _ := paths[path].(schema)
		if item == nil {
			item = schema{}
			paths[path] = item
		}
		item[method] = g.operation(pattern, path, o, authed)
	}
	for _, p := range describedPatterns() {
		if !described[p] && !(p == metricsPattern && !s.ServeMetrics) {
			unrouted = append(unrouted, p)
		}
	}
	sort.Strings(undescribed)
	sort.Strings(unrouted)
	g.comps["Errors"] = obj(req("errors", arr(obj(req("code", str), req("message", str)))))
	errorResponses := schema{}
	for _, e := range apiErrors {
		errorResponses["Error"+strconv.Itoa(e.status)] = errorResponse(e.desc, e.retry)
	}
	doc = schema{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
		"info": schema{
			"title":   "certorder",
			"version": "2",
			"summary": "The CertCentral Services API v2 as certorder serves it, with its PKI endpoints, emailed-link pages and console.",
			"description": "certorder speaks DigiCert's CertCentral Services API v2 under /services/v2: a CertCentral client works " +
				"against it by changing its base URL. Every API route takes the API key in X-DC-DEVKEY and answers errors as " +
				`{"errors":[{"code","message"}]}. Every answer carries X-Request-ID (the client's own when it sent a sane one), ` +
				"which the server's log lines of the request carry too. The certorder-specific routes (sandbox, grants, " +
				"account settings) are marked so in their descriptions.",
			"license": schema{"name": "certorder"},
		},
		"servers": []any{schema{"url": "/"}},
		"paths":   paths,
		"components": schema{
			"schemas":   g.comps,
			"responses": errorResponses,
			"parameters": schema{
				"RequestID": schema{"name": "X-Request-ID", "in": "header", "required": false, "schema": str,
					"description": "The caller's ID for the request (1 to 128 letters, digits and - _ . : @ / + =); echoed in the answer."},
			},
			"securitySchemes": schema{
				"devKey": schema{"type": "apiKey", "in": "header", "name": "X-DC-DEVKEY",
					"description": "The API key of a user (certorder key create, POST /key/user/{user_id}, or the console)."},
			},
			"headers": schema{
				"RequestID": schema{"description": "The request's ID: the client's X-Request-ID when sane, otherwise a fresh one; the server's log lines of the request carry it as request_id.",
					"required": true, "schema": str},
				"RetryAfter": schema{"description": "Seconds to wait before trying again.", "schema": str},
			},
		},
		"tags": tagList(),
	}
	return doc, undescribed, unrouted
}

// describe finds the description of a registered pattern: an API route's
// (authenticated), an open route's, or a console page's (made from the
// console's own route list).
func (s *Server) describe(pattern string) (op, bool, bool) {
	method, path, _ := strings.Cut(pattern, " ")
	if rel, isAPI := strings.CutPrefix(path, Base); isAPI {
		if o, ok := apiOps[method+" "+rel]; ok {
			return o, true, true
		}
	}
	if o, ok := openOps[pattern]; ok {
		return o, false, true
	}
	if strings.HasPrefix(path, "/console/") {
		return consoleOp(method, path), false, true
	}
	return op{}, false, false
}

// describedPatterns are the patterns the tables describe (the console's
// pages are described from the console's own routes).
func describedPatterns() []string {
	var out []string
	for k := range apiOps {
		method, rel, _ := strings.Cut(k, " ")
		out = append(out, method+" "+Base+rel)
	}
	for k := range openOps {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func consoleOp(method, path string) op {
	o := op{tag: "Console", summary: "Console page",
		desc: "A page of the web console (HTML). Pages other than sign-in need a console session; forms need its form token.",
		out:  []answer{{status: http.StatusOK, desc: "The page.", content: media("text/html; charset=utf-8")}}}
	if method == http.MethodPost {
		o.summary = "Console form"
		o.out = append(o.out, answer{status: http.StatusSeeOther, desc: "Done; on to the next page."})
	}
	if strings.Contains(path, "{format}") {
		o.out[0].content = media("application/x-pem-file", "application/x-pkcs7-certificates", "application/zip")
	}
	return o
}

// operation renders one route's operation object.
func (g *schemaGen) operation(pattern, path string, o op, authed bool) schema {
	opID := operationID(pattern)
	out := schema{"operationId": opID, "summary": o.summary}
	if o.desc != "" {
		out["description"] = o.desc
	}
	if o.tag != "" {
		out["tags"] = []string{o.tag}
	}
	params := []any{schema{"$ref": "#/components/parameters/RequestID"}}
	for _, name := range pathParams(path) {
		params = append(params, schema{"name": name, "in": "path", "required": true, "schema": str})
	}
	if o.listQuery {
		params = append(params,
			schema{"name": "limit", "in": "query", "schema": integer, "description": "Page size."},
			schema{"name": "offset", "in": "query", "schema": integer, "description": "Items to skip."},
			schema{"name": "sort", "in": "query", "schema": str, "description": "Sort key, - first for descending."},
			schema{"name": "filters", "in": "query", "style": "deepObject", "explode": true,
				"schema":      schema{"type": "object", "additionalProperties": str},
				"description": "filters[name]=value filters of the list."})
	}
	for _, p := range o.query {
		q := schema{"name": p.name, "in": "query", "schema": g.resolve(p.s, false)}
		if p.desc != "" {
			q["description"] = p.desc
		}
		params = append(params, q)
	}
	out["parameters"] = params
	if o.in != nil {
		out["requestBody"] = schema{"required": !o.inOptional,
			"content": schema{"application/json": schema{"schema": g.resolve(o.in, true)}}}
	}
	responses := schema{}
	for _, a := range o.out {
		r := schema{"description": a.desc, "headers": schema{"X-Request-ID": schema{"$ref": "#/components/headers/RequestID"}}}
		switch {
		case a.content != nil:
			r["content"] = g.resolve(schema(a.content), false)
		case a.s != nil:
			c := schema{"application/json": schema{"schema": g.resolve(a.s, false)}}
			if o.csv && a.status == http.StatusOK {
				c["text/csv"] = schema{"schema": str}
			}
			r["content"] = c
		}
		responses[strconv.Itoa(a.status)] = r
	}
	if authed {
		out["security"] = []any{schema{"devKey": []string{}}}
		for _, e := range apiErrors {
			if _, set := responses[strconv.Itoa(e.status)]; !set {
				responses[strconv.Itoa(e.status)] = schema{"$ref": "#/components/responses/Error" + strconv.Itoa(e.status)}
			}
		}
	}
	out["responses"] = responses
	return out
}

// apiErrors are the errors every API route may answer.
var apiErrors = []struct {
	status int
	desc   string
	retry  bool
}{
	{http.StatusBadRequest, "The request was refused: invalid values, missing fields, a state that does not allow it.", false},
	{http.StatusForbidden, "No key, an unknown or revoked key, or a key or role the permission table refuses here.", false},
	{http.StatusNotFound, "The object (or the route) was not found, or is outside the caller's containers.", false},
	{http.StatusRequestEntityTooLarge, "The body is larger than 1 MiB.", false},
	{http.StatusTooManyRequests, "The key's request budget is spent.", true},
	{http.StatusInternalServerError, "An internal error; the cause is in the server's log under the request's ID.", false},
	{http.StatusServiceUnavailable, "The store is unavailable.", true},
}

func errorResponse(desc string, retry bool) schema {
	h := schema{"X-Request-ID": schema{"$ref": "#/components/headers/RequestID"}}
	if retry {
		h["Retry-After"] = schema{"$ref": "#/components/headers/RetryAfter"}
	}
	return schema{"description": desc, "headers": h,
		"content": schema{"application/json": schema{"schema": schema{"$ref": "#/components/schemas/Errors"}}}}
}

// pathShape is path with its parameters' names left out.
func pathShape(path string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			return b.String() + path
		}
		j := strings.IndexByte(path[i:], '}')
		b.WriteString(path[:i] + "{}")
		path = path[i+j+1:]
	}
}

func pathParams(path string) []string {
	var out []string
	for {
		i := strings.IndexByte(path, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(path[i:], '}')
		out = append(out, path[i+1:i+j])
		path = path[i+j:]
	}
}

// operationID is a pattern as an identifier: "GET /order/certificate/{id}"
// becomes get_order_certificate_id.
func operationID(pattern string) string {
	var b strings.Builder
	last := '_'
	for _, r := range strings.ToLower(pattern) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			last = r
		} else if last != '_' {
			b.WriteByte('_')
			last = '_'
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

func tagList() []any {
	var out []any
	for _, t := range tags {
		out = append(out, schema{"name": t[0], "description": t[1]})
	}
	return out
}

// schemaGen reflects Go types into component schemas.
type schemaGen struct {
	names map[reflect.Type]string // component of each reflected type (answers)
	comps schema
	taken map[string]reflect.Type
}

// resolve turns a description value into a schema: a reflect.Type becomes
// a reference to its component (made on first use), a schema has its
// nested types resolved.
func (g *schemaGen) resolve(v any, request bool) any {
	switch x := v.(type) {
	case reflect.Type:
		return g.of(x, request, false)
	case schema:
		out := schema{}
		for k, val := range x {
			out[k] = g.resolve(val, request)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = g.resolve(val, request)
		}
		return out
	}
	return v
}

var (
	flexInt    = reflect.TypeFor[flex.Int]()
	flexBool   = reflect.TypeFor[flex.Bool]()
	flexString = reflect.TypeFor[flex.String]()
	rawJSON    = reflect.TypeFor[json.RawMessage]()
	marshaler  = reflect.TypeFor[json.Marshaler]()
	timeType   = reflect.TypeFor[time.Time]()
)

// of is the schema of t: in an answer (request false) exactly what
// encoding/json writes, closed; in a request body what the decoder
// accepts, open (unknown members are ignored). nullable adds null (unless
// the schema takes it already, or takes anything).
func (g *schemaGen) of(t reflect.Type, request, nullable bool) schema {
	s := g.of1(t, request)
	if types, _ := s["type"].([]string); !nullable || len(s) == 0 || slices.Contains(types, "null") {
		return s
	}
	return schema{"anyOf": []any{s, schema{"type": "null"}}}
}

func (g *schemaGen) of1(t reflect.Type, request bool) schema {
	switch t {
	case flexInt:
		return schema{"type": []string{"integer", "string", "null"}, "description": "An integer, also as a numeric string."}
	case flexBool:
		return schema{"type": []string{"boolean", "string", "integer", "null"}, "description": "true or false, also as \"true\", \"false\", 1 or 0."}
	case flexString:
		return schema{"type": []string{"string", "number", "boolean", "null"}, "description": "A string; a number or boolean is taken as its text."}
	case rawJSON:
		return schema{}
	}
	if t.Kind() == reflect.Pointer {
		return g.of1(t.Elem(), request)
	}
	if t == timeType {
		return schema{"type": "string", "format": "date-time"}
	}
	if t.Implements(marshaler) {
		return schema{} // its own encoding, which reflection cannot see
	}
	switch t.Kind() {
	case reflect.String:
		return schema{"type": "string"}
	case reflect.Bool:
		return schema{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return schema{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return schema{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return schema{"type": "string", "contentEncoding": "base64"}
		}
		return schema{"type": "array", "items": g.of(t.Elem(), request, false)}
	case reflect.Map:
		return schema{"type": "object", "additionalProperties": g.of(t.Elem(), request, false)}
	case reflect.Interface:
		return schema{}
	case reflect.Struct:
		if t.Name() == "" {
			return g.structSchema(t, request)
		}
		name := g.component(t, request)
		return schema{"$ref": "#/components/schemas/" + name}
	}
	return schema{}
}

// component names t's schema and makes it on first use. A type used in
// requests and answers has two: its answer schema is closed, its request
// schema open.
func (g *schemaGen) component(t reflect.Type, request bool) string {
	key := t
	if request {
		key = reflect.PointerTo(t) // a distinct key for the request form
	}
	if n, ok := g.names[key]; ok {
		return n
	}
	base := strings.TrimSuffix(t.Name(), "View")
	if base == "" {
		// A type named only View (faults.View) is its package's view.
		base = path.Base(t.PkgPath()) + "Rule"
	}
	base = strings.ToUpper(base[:1]) + base[1:]
	if request && !strings.HasSuffix(base, "Input") {
		base += "Request"
	}
	name := base
	if prev, ok := g.taken[name]; ok && prev != key {
		// Two packages' types of one name: the second is named by its
		// package too.
		pkg := path.Base(t.PkgPath())
		name = strings.ToUpper(pkg[:1]) + pkg[1:] + base
	}
	g.names[key], g.taken[name] = name, key
	g.comps[name] = schema{} // a placeholder while its fields are reflected (recursive types)
	g.comps[name] = g.structSchema(t, request)
	return name
}

// structSchema is the object encoding/json makes of t (jsonfields: json
// names, "-" left out, embedded structs promoted). In an answer a field
// without omitempty is always there (required), and a pointer field
// without it may be null. A field's format rule is looked up by the
// struct that declares it.
func (g *schemaGen) structSchema(t reflect.Type, request bool) schema {
	props := schema{}
	var required []string
	for _, f := range jsonfields.Of(t).List {
		// encoding/json leaves a field it reads null as it was, so a
		// request may send any member as null.
		nullable := request || !f.OmitEmpty && (f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Interface)
		ps := g.of(f.Type, request, nullable)
		if !request {
			ps = constrain(f.Owner, f.Name, ps)
		} else if rule, ok := requestFieldRules[f.Owner.Name()+"."+f.Name]; ok {
			ps = rule
		}
		props[f.Name] = ps
		if !request && !f.OmitEmpty {
			required = append(required, f.Name)
		}
	}
	s := schema{"type": "object", "properties": props}
	if !request {
		s["additionalProperties"] = false
		if len(required) > 0 {
			sort.Strings(required)
			s["required"] = required
		}
	}
	return s
}

// Formats of the answers' values that their Go types do not say: checked
// on every answer of the test suites, they hold the handlers to the
// formats the API documents (dates, statuses, hex strings).
var (
	stampSchema = schema{"type": "string", "pattern": `^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$`,
		"description": "A time, RFC 3339 with a numeric offset (2024-08-19T18:16:07+00:00)."}
	daySchema = schema{"type": "string", "pattern": `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, "description": "A date, yyyy-MM-dd."}
	hexSchema = schema{"type": "string", "pattern": `^[0-9A-Fa-f]+$`}
	enum      = func(v ...string) schema { return schema{"type": "string", "enum": v} }

	orderStatuses   = enum("needs_approval", "needs_csr", "pending", "issued", "rejected", "canceled", "revoked", "expired", "reissue_pending")
	certStatuses    = enum("pending", "issued", "revoked", "rejected")
	requestStatuses = enum("submitted", "pending", "approved", "rejected")
	requestTypes    = enum("new_request", "reissue", "duplicate", "revoke")
	dcvMethods      = enum("email", "dns-txt-token", "dns-cname-token", "http-token")
)

// fieldRules are those formats, by component and JSON name ("*" for any
// component).
var fieldRules = map[string]schema{
	"*.date_created":                stampSchema,
	"*.date":                        stampSchema,
	"*.date_processed":              stampSchema,
	"*.date_issued":                 stampSchema,
	"*.date_sent":                   stampSchema,
	"*.create_date":                 stampSchema,
	"*.expiration_date":             stampSchema,
	"*.dcv_expiration_datetime":     stampSchema,
	"*.last_submitted_datetime":     stampSchema,
	"*.dcv_approval_datetime":       stampSchema,
	"Clock.now":                     stampSchema,
	"Clock.wall_clock":              stampSchema,
	"OrgValidation.validated_until": stampSchema,
	"*.order_valid_till":            daySchema,
	"Cert.valid_from":               daySchema,
	"Cert.valid_till":               daySchema,
	"Reissue.valid_from":            daySchema,
	"Reissue.valid_till":            daySchema,
	"Duplicate.valid_from":          daySchema,
	"Duplicate.valid_till":          daySchema,
	"EmailValidation.date_emailed":  daySchema,
	"*.thumbprint":                  schema{"type": "string", "pattern": `^[0-9A-Fa-f]{40}$`},
	"*.serial_number":               hexSchema,
	"*.pem":                         schema{"type": "string", "pattern": `^-----BEGIN CERTIFICATE-----`},
	"*.currency":                    enum("USD"),
	"*.is_multi_year_plan":          enum("0", "1"),
	"Order.status":                  orderStatuses,
	"OrderListItem.status":          orderStatuses,
	"RequestOrder.status":           orderStatuses,
	"StatusChange.status":           orderStatuses,
	"CheckDCV.order_status":         orderStatuses,
	"OrderValidation.order_status":  orderStatuses,
	"Cert.status":                   enum("pending", "issued", "revoked", "rejected", "expired"),
	"Reissue.status":                certStatuses,
	"Duplicate.status":              certStatuses,
	"Request.status":                requestStatuses,
	"RequestShort.status":           requestStatuses,
	"RequestRef.status":             requestStatuses,
	"RevokeRequest.status":          requestStatuses,
	"Request.type":                  requestTypes,
	"RequestShort.type":             requestTypes,
	"RevokeRequest.type":            requestTypes,
	"Order.dcv_method":              dcvMethods,
	"Domain.dcv_method":             dcvMethods,
	"Key.status":                    enum("active", "revoked"),
	"CheckDCV.dcv_status":           enum("valid", "pending"),
}

// requestFieldRules are what a request's field takes where its Go type
// does not say it, by Go type and JSON name.
var requestFieldRules = map[string]schema{
	// The decoder takes any value; the rules read it only when the
	// account's issuing-CA selection is on.
	"CertificateInput.ca_cert_id": {"description": "The id of one of the product's allowed_ca_certs (GET /product/{name_id}), a string; " +
		"read only while the account's issuing-CA selection is on, and ignored, whatever it holds, otherwise."},
}

// constrain adds the field rule of (t, name), if any, to s.
func constrain(t reflect.Type, name string, s schema) schema {
	comp := strings.TrimSuffix(t.Name(), "View")
	if comp != "" {
		comp = strings.ToUpper(comp[:1]) + comp[1:]
	}
	rule, ok := fieldRules[comp+"."+name]
	if !ok {
		rule, ok = fieldRules["*."+name]
	}
	if !ok || s["type"] != "string" {
		return s
	}
	return rule
}
