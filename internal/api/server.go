// Package api is the HTTP edge: routes, authentication, JSON decoding and
// the CertCentral error envelope. It reads through the store interface and
// changes state only through internal/order; it never writes SQL.
package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/conformance"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/logging"
	"github.com/certorder/certorder/internal/metrics"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/ratelimit"
	"github.com/certorder/certorder/internal/revocation"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Base is the path every CertCentral endpoint lives under.
const Base = "/services/v2"

// RequestIDHeader names a request in its answer and in the server's logs.
const RequestIDHeader = "X-Request-ID"

// Server serves the API.
type Server struct {
	Store  store.Store
	Orders *order.Service
	// Validation holds organizations, domains and domain control
	// validation; it hands what it validates to Orders.
	Validation *validation.Service
	// Accounts changes users, keys, containers and custom fields.
	Accounts *account.Service
	CA       *ca.Hierarchy
	Log      *slog.Logger
	Now      func() time.Time
	// Limits is the per-key request budget (spec §1.6); nil is unlimited.
	Limits *ratelimit.Limiter
	// Sandbox serves the sandbox's outbox; Clock is its business clock
	// (nil outside the sandbox).
	Sandbox bool
	Clock   *clock.Travel
	// Faults injects the sandbox's scripted failures (faults.go); nil
	// outside the sandbox.
	Faults *faults.Injector
	// Conformance records what each key's client sends, for the sandbox's
	// conformance report (conformance.go); nil outside the sandbox.
	Conformance *conformance.Recorder

	// Revocation serves CRLs and OCSP (pki.go); New makes one without
	// background workers when it is nil.
	Revocation *revocation.Publisher

	// Metrics counts the requests by route and status; ServeMetrics
	// answers GET /metrics from it, without authentication (the operator
	// may serve it on another listener instead).
	Metrics      *metrics.Metrics
	ServeMetrics bool

	mux       *http.ServeMux
	routeList []Route
	// patterns are every pattern registered on mux, and those of what is
	// mounted (the OpenAPI document describes each).
	patterns    []string
	openapiOnce sync.Once
	openapi     []byte
	shapesOnce  sync.Once
	shapes      map[string]string
}

// products is the catalogue of the process: the one orders are placed
// from.
func (s *Server) products() *catalog.Catalog {
	if s.Orders == nil {
		return catalog.Default()
	}
	return s.Orders.Products()
}

// Route is one authenticated route and the area of the permission table
// that guards it.
type Route struct {
	Method, Path string
	Area         account.Area
}

// Routes lists the authenticated routes in the order they are registered
// (docs/security.md is checked against it).
func (s *Server) Routes() []Route { return s.routeList }

// New builds the handler tree.
func New(s *Server) *Server {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Revocation == nil {
		s.Revocation = revocation.New(revocation.Config{CA: s.CA, Store: s.Store, Log: s.Log, Now: s.Now})
	}
	// Reads honour the caller's container scope (internal/account/scope.go).
	s.Store = account.ScopedStore(s.Store)
	if s.Orders != nil {
		s.Orders.Store = account.ScopedStore(s.Orders.Store)
	}
	if s.Validation != nil {
		s.Validation.Store = account.ScopedStore(s.Validation.Store)
	}
	if s.Accounts != nil {
		s.Accounts.Store = account.ScopedStore(s.Accounts.Store)
	}
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// authed is a handler that runs for an authenticated caller.
type authed func(w http.ResponseWriter, r *http.Request, a account.Actor) error

func (s *Server) routes() {
	m := &recordingMux{ServeMux: s.mux, patterns: &s.patterns}
	api := func(pattern string, ar account.Area, h authed) {
		method, path, _ := strings.Cut(pattern, " ")
		m.Handle(method+" "+Base+path, s.authenticate(ar, h))
		s.routeList = append(s.routeList, Route{Method: method, Path: Base + path, Area: ar})
	}
	api("POST /order/certificate/{product}", account.AreaOrders, s.createOrder)
	api("GET /order/certificate/{id}", account.AreaOrders, s.orderInfo)
	api("GET /order/certificate", account.AreaOrders, s.listOrders)
	api("PUT /order/certificate/{id}/csr", account.AreaOrders, s.updateCSR)
	// Issue 4, order operations (lifecycle.go).
	api("PUT /order/certificate/{id}/status", account.AreaOrders, s.updateOrderStatus)
	api("PUT /order/certificate/{id}/auto-reissue", account.AreaOrders, s.updateAutoReissue)
	api("POST /order/certificate/{id}/reissue", account.AreaOrders, s.reissueOrder)
	api("GET /order/certificate/{id}/reissue", account.AreaOrders, s.listReissues)
	api("POST /order/certificate/{id}/duplicate", account.AreaOrders, s.duplicateOrder)
	api("GET /order/certificate/{id}/duplicate", account.AreaOrders, s.listDuplicates)
	api("GET /order/certificate/status-changes", account.AreaOrders, s.statusChanges)
	api("GET /finance/balance", account.AreaFinance, s.balance)
	api("GET /request", account.AreaOrders, s.listRequests)
	api("GET /request/{id}", account.AreaOrders, s.requestInfo)
	api("PUT /request/{id}/status", account.AreaOrders, s.updateRequestStatus)
	api("GET /certificate/{id}/download/format/{format}", account.AreaOrders, s.downloadCertificate)
	api("GET /certificate/download/order/{id}/format/{format}", account.AreaOrders, s.downloadOrderCertificate)
	api("GET /certificate/download/order/{id}", account.AreaOrders, s.downloadOrderCertificate)
	api("GET /certificate/{id}/download/platform", account.AreaOrders, s.downloadCertificate)
	api("GET /certificate/{id}/download/platform/{platform}", account.AreaOrders, s.downloadCertificate)
	api("GET /certificate/{id}/chain", account.AreaOrders, s.certificateChain)
	api("GET /certificate/intermediates", account.AreaOrders, s.listIntermediates)
	// Issue 5, revocation (revoke.go).
	api("PUT /certificate/{id}/revoke", account.AreaOrders, s.revokeCertificate)
	api("PUT /order/certificate/{id}/revoke", account.AreaOrders, s.revokeOrder)
	api("GET /organization", account.AreaOrgs, s.listOrganizations)
	api("GET /organization/{id}", account.AreaOrgs, s.organizationInfo)
	api("POST /organization", account.AreaOrgs, s.createOrganization)
	api("DELETE /organization/{id}", account.AreaOrgs, s.deleteOrganization)
	api("GET /organization/{id}/validation", account.AreaOrgs, s.organizationValidations)
	api("POST /organization/{id}/validation", account.AreaOrgs, s.submitOrganizationValidation)
	api("PUT /organization/{id}/validation/{type}", account.AreaOrgs, s.grantOrganizationValidation) // certorder's own (decisions.md)
	api("POST /domain", account.AreaOrgs, s.addDomain)
	api("GET /domain", account.AreaOrgs, s.listDomains)
	api("GET /domain/{id}", account.AreaOrgs, s.domainInfo)
	api("POST /domain/{id}/validation", account.AreaOrgs, s.submitDomainValidation)
	api("POST /domain/{id}/dcv/token", account.AreaOrgs, s.newDomainToken)
	api("PUT /domain/{id}/dcv/validate-token", account.AreaOrgs, s.checkDomainToken)
	api("PUT /domain/{id}/dcv/method", account.AreaOrgs, s.changeDomainDCVMethod)
	api("GET /domain/{id}/dcv/emails", account.AreaOrgs, s.domainEmails)
	api("PUT /domain/{id}/dcv/emails", account.AreaOrgs, s.resendDomainEmails)
	api("PUT /domain/{id}/dcv/approve", account.AreaOrgs, s.grantDomainValidation) // certorder's own (decisions.md)
	api("GET /order/certificate/{id}/validation", account.AreaOrders, s.orderValidation)
	// Issue 6, order-level DCV (dcv.go).
	api("PUT /order/certificate/{id}/check-dcv", account.AreaOrders, s.checkDCV)
	api("PUT /order/certificate/{id}/dcv-method", account.AreaOrders, s.changeOrderDCVMethod)
	api("PUT /order/certificate/{id}/dcv-random-value", account.AreaOrders, s.newOrderRandomValue)
	api("PUT /order/certificate/{id}/resend-emails", account.AreaOrders, s.resendOrderEmails)
	// EV approval by a verified contact (evapproval.go).
	api("PUT /order/certificate/{id}/order-approval/resend-emails", account.AreaOrders, s.resendApprovalEmails)
	// Mailbox control of client orders (mailbox.go).
	api("GET /order/certificate/{id}/email-validation", account.AreaOrders, s.emailValidations)
	api("PUT /order/certificate/{id}/email-validation/{token}", account.AreaOrders, s.validateEmail)
	api("PUT /email-validation/{token}", account.AreaOrders, s.validateEmailByToken)
	api("GET /container", account.AreaContainers, s.listContainers)
	api("GET /container/{id}", account.AreaContainers, s.containerInfo)
	api("GET /container/{id}/children", account.AreaContainers, s.containerChildren)
	api("POST /container/{id}/children", account.AreaContainers, s.createChildContainer)
	api("POST /container", account.AreaContainers, s.createContainer)
	api("POST /user", account.AreaUsers, s.createUser)
	api("GET /user", account.AreaUsers, s.listUsers)
	api("GET /user/{id}", account.AreaUsers, s.userInfo)
	api("DELETE /user/{id}", account.AreaUsers, s.deleteUser)
	api("PUT /user/{id}", account.AreaUsers, s.editUser)
	api("POST /key/user/{user_id}", account.AreaKeys, s.createKey)
	api("GET /key", account.AreaKeys, s.listKeys)
	api("GET /key/{id}", account.AreaKeys, s.keyInfo)
	api("PUT /key/{id}/status", account.AreaKeys, s.setKeyStatus)
	api("GET /product", account.AreaCatalog, s.listProducts)
	api("GET /product/{name_id}", account.AreaCatalog, s.productInfo)
	api("GET /user/me", account.AreaCatalog, s.userMe)
	api("GET /account/metadata", account.AreaOrders, s.listMetadata)
	api("POST /account/metadata", account.AreaOrders, s.createMetadata)
	// Who the account's mail reaches (notifications.go).
	api("GET /account", account.AreaAccount, s.accountDetails)
	api("PUT /account", account.AreaAccount, s.updateAccountEmails)
	api("GET /account/settings", account.AreaAccount, s.accountSettings) // certorder's own (decisions.md)
	api("PUT /account/settings", account.AreaAccount, s.updateAccountSettings)
	api("GET /sandbox/clock", account.AreaSandbox, s.sandboxClock) // certorder's own (decisions.md)
	api("POST /sandbox/clock", account.AreaSandbox, s.moveSandboxClock)
	api("GET /sandbox/mail", account.AreaSandbox, s.sandboxMail)
	api("GET /sandbox/faults", account.AreaSandbox, s.sandboxFaults)
	api("POST /sandbox/faults", account.AreaSandbox, s.addSandboxFault)
	api("DELETE /sandbox/faults/{id}", account.AreaSandbox, s.deleteSandboxFault)
	api("GET /sandbox/conformance", account.AreaSandbox, s.sandboxConformance)
	api("DELETE /sandbox/conformance", account.AreaSandbox, s.resetConformance)

	// Unauthenticated PKI endpoints that certificates point relying parties to.
	m.HandleFunc("GET /healthz", s.healthz)
	// The description of every route, without a key: it holds no secret,
	// and tools read it before they have one.
	m.HandleFunc("GET "+OpenAPIPath, s.serveOpenAPI)
	if s.ServeMetrics && s.Metrics != nil {
		m.Handle(metricsPattern, s.Metrics.Handler())
	}
	m.HandleFunc("GET /ca/{file}", s.serveCACert)
	m.HandleFunc("GET /crl/{file}", s.serveCRL)
	m.HandleFunc("GET /ocsp/{request...}", s.serveOCSPGet)
	m.HandleFunc("POST /ocsp", s.serveOCSPPost)
	// The emailed links' pages (the link's secret is the credential).
	page := func(pattern string, h http.HandlerFunc) { m.Handle(pattern, web.Protect(h)) }
	page("GET /dcv/email/{secret}", s.showEmailLink)
	page("POST /dcv/email/{secret}", s.approveEmailLink)
	// The emailed EV approval links (evapproval.go).
	page("GET /order-approval/{secret}", s.showApprovalLink)
	page("POST /order-approval/{secret}", s.decideApprovalLink)
	// The emailed mailbox validation and certificate pickup links.
	page("GET /mailbox/{secret}", s.showMailboxLink)
	page("POST /mailbox/{secret}", s.confirmMailboxLink)
	page("GET /pickup/{secret}", s.showPickup)
	page("POST /pickup/{secret}", s.pickUp)
	m.Handle("GET /assets/", web.Assets())
}

// Mount serves h under prefix (a subtree pattern such as "/console/") on
// the API's listener, behind the same body bound and panic recovery. A
// handler that lists its patterns (Patterns() []string) has them in the
// OpenAPI document.
func (s *Server) Mount(prefix string, h http.Handler) {
	s.mux.Handle(prefix, h)
	if p, ok := h.(interface{ Patterns() []string }); ok {
		s.patterns = append(s.patterns, p.Patterns()...)
	}
}

// recordingMux registers on the server's mux and keeps each pattern.
type recordingMux struct {
	*http.ServeMux
	patterns *[]string
}

func (m *recordingMux) Handle(pattern string, h http.Handler) {
	m.ServeMux.Handle(pattern, h)
	*m.patterns = append(*m.patterns, pattern)
}

func (m *recordingMux) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// serveOpenAPI answers the OpenAPI document.
func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header()["Content-Type"] = []string{"application/json"}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(s.OpenAPI())
}

// ServeHTTP bounds the body, recovers panics and turns every route the mux
// does not know into CertCentral's not_found|route envelope (the mux's own
// 404 and 405 answers are plain text, which clients cannot decode). A path
// with trailing slashes is served as the route without them
// (/order/certificate/ is the order list, as clients built on string
// concatenation send it); no route is registered with one.
//
// Every answer carries X-Request-ID: the client's own when it sent a sane
// one (logging.SaneRequestID), otherwise a fresh one; every line logged
// for the request carries it as request_id.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get(RequestIDHeader)
	if !logging.SaneRequestID(id) {
		id = logging.NewRequestID()
	}
	w.Header().Set(RequestIDHeader, id)
	r = r.WithContext(logging.WithRequestID(r.Context(), id))
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { // a dropped connection (faults.go), not a failure
				panic(p)
			}
			s.Log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", logPath(r), "panic", p, "stack", string(debug.Stack()))
			if rec.status == 0 {
				writeError(rec, errs.New(errs.Internal, "internal_error", "An internal error occurred."))
			}
		}
		took := time.Since(start)
		status := rec.status
		if rec.hijacked {
			status = metrics.NoAnswer
		}
		s.Metrics.Served(route(r), status, took)
		s.Log.DebugContext(r.Context(), "request", "method", r.Method, "path", logPath(r), "status", rec.status, "duration", took)
	}()
	r.Body = http.MaxBytesReader(rec, r.Body, MaxBodyBytes)
	// An OCSP GET carries base64, which may hold "//" when the client did
	// not URL-encode it; the mux would "clean" that path and redirect.
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, "/ocsp/") {
		s.serveOCSPGet(rec, r)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		trimmed, ok := s.withoutTrailingSlash(r)
		if !ok {
			writeError(rec, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
			return
		}
		r = trimmed
	}
	s.mux.ServeHTTP(rec, r)
}

// withoutTrailingSlash is r for its path without trailing slashes, when
// that path is a route; the mux would otherwise answer 404 (or redirect
// "//", which it would also have to clean).
func (s *Server) withoutTrailingSlash(r *http.Request) (*http.Request, bool) {
	p := strings.TrimRight(r.URL.Path, "/")
	if p == r.URL.Path || p == "" {
		return nil, false
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, strings.TrimRight(u.RawPath, "/")
	r2.URL = &u
	if _, pattern := s.mux.Handler(r2); pattern == "" {
		return nil, false
	}
	return r2, true
}

// healthTimeout bounds GET /healthz: a database that does not answer in
// that time counts as unavailable.
const healthTimeout = 5 * time.Second

// healthz is the readiness answer: 200 while the store takes writes, 503
// (the envelope, with Retry-After) while it does not. store.Store.Health
// says how it knows: the outcome of the last write, a probe write to see
// a refusing store come back, otherwise a cheap read.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
	defer cancel()
	done := make(chan error, 1) // Health may outlast the timeout (a write queued behind a stuck batch)
	go func() { done <- s.Store.Health(ctx) }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = fmt.Errorf("no answer within %s: %w", healthTimeout, ctx.Err())
	}
	if err != nil {
		if errors.Is(r.Context().Err(), context.Canceled) {
			return // the checker went away; its timeout says nothing about the store
		}
		s.Log.WarnContext(r.Context(), "health check: store unavailable", "err", err)
		writeError(w, store.Unavailable(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	// hijacked: a handler took the connection over (a sandbox drop
	// fault) and no answer was given.
	hijacked bool
}

// Hijack hands the connection over and notes that no answer follows.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (a drop fault
// takes it over).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// HashKey is how API keys are stored: SHA-256 of the key as sent (one
// definition, in account.HashKey, for the API, the rules and the CLI).
func HashKey(key string) []byte { return account.HashKey(key) }

func (s *Server) authenticate(ar account.Area, h authed) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := s.actor(r.Context(), strings.TrimSpace(r.Header.Get("X-DC-DEVKEY")))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		// The conformance record starts before the rate limit, so a call
		// made before a 429's Retry-After is seen whatever it is answered.
		w, r, finish := s.beginConformance(w, r, actor, ar)
		defer finish()
		if err := s.spend(actor); err != nil {
			s.fail(w, r, err)
			return
		}
		if f := s.decideFault(r, actor, ar); f != nil {
			s.inject(w, r, f, call{actor, ar, h})
			return
		}
		s.run(w, r, call{actor, ar, h})
	})
}

// call is an authenticated caller's call, ready to run.
type call struct {
	actor account.Actor
	area  account.Area
	h     authed
}

// run checks the caller's permission for the call's area and runs it.
func (s *Server) run(w http.ResponseWriter, r *http.Request, c call) {
	ctx, err := account.Authorize(r.Context(), s.Store, c.actor, c.area, r.Method == http.MethodGet || r.Method == http.MethodHead)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	r = r.WithContext(ctx)
	if err := c.h(w, r, c.actor); err != nil {
		s.fail(w, r, err)
	}
}

func invalidKey() error {
	// The live API's answer for a missing or unknown key (captured by a
	// public client): 403 access_denied|access_denied_invalid_key.
	return errs.New(errs.Unauthorized, "access_denied|access_denied_invalid_key", "Access denied due to access_denied_invalid_key.")
}

func (s *Server) actor(ctx context.Context, key string) (account.Actor, error) {
	if key == "" {
		return account.Actor{}, invalidKey()
	}
	// The key, its user and its account in one read, fresh on every
	// request: a revoked key or a deactivated user is refused at once.
	k, u, acct, err := s.Store.KeyActor(ctx, HashKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return account.Actor{}, invalidKey()
	}
	if err != nil {
		return account.Actor{}, errs.Internalf(err, "look up api key")
	}
	if k.RevokedAt != nil {
		return account.Actor{}, invalidKey()
	}
	if u.Status != "active" {
		return account.Actor{}, invalidKey()
	}
	return account.Actor{Account: acct, User: u, Key: k}, nil
}

// fail answers a handler's error and logs what an operator needs to see:
// internal errors at ERROR with their cause, an unavailable store at WARN.
// A request whose client went away is neither: its failure is most likely
// the cancellation itself (a store read interrupted, a queued write given
// up), so it is logged at INFO as what it is, and nobody is left to answer.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		s.Log.InfoContext(r.Context(), "client disconnected", "method", r.Method, "path", logPath(r), "err", err)
		return
	}
	e := problem(err)
	switch e.Kind {
	case errs.Internal:
		s.Log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", logPath(r), "err", e.Error())
	case errs.Unavailable:
		s.Log.WarnContext(r.Context(), "unavailable", "method", r.Method, "path", logPath(r), "err", err)
	}
	writeError(w, e)
}

// StoreRetryAfter is the Retry-After of an unavailable store: long enough
// for a database restart or a failover, short enough that clients resume
// soon after it is back.
const StoreRetryAfter = 10 * time.Second

// problem is the one place where an error becomes what the client is told.
// Inner packages say what went wrong in an errs.Error; a store that cannot
// be reached or written (store.ErrUnavailable anywhere in the chain, also
// under an internal error that wrapped it) is 503 service_unavailable with
// Retry-After, whatever the code that met it made of it.
func problem(err error) *errs.Error {
	if errors.Is(err, store.ErrUnavailable) {
		return &errs.Error{Kind: errs.Unavailable, Details: []errs.Detail{{Code: "service_unavailable",
			Message: "The service is temporarily unavailable; retry later."}}, Cause: err, RetryAfter: StoreRetryAfter}
	}
	return errs.As(err)
}

func statusOf(k errs.Kind) int { return web.Status(k) }

// writeError renders CertCentral's envelope, with Retry-After when the
// error says when to come back. Internal errors carry only their public
// message; the cause went to the log.
func writeError(w http.ResponseWriter, err error) {
	e := problem(err)
	details := e.Details
	if len(details) == 0 {
		details = []errs.Detail{{Code: "internal_error", Message: "An internal error occurred."}}
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(retrySeconds(e.RetryAfter)))
	}
	writeJSON(w, statusOf(e.Kind), map[string]any{"errors": details})
}

// retrySeconds is d in whole seconds, rounded up: a client that waits
// that long is not turned away again for being early.
func retrySeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"code":"internal_error","message":"An internal error occurred."}]}`)
	}
	// Exactly application/json: one public client drops the message when a
	// charset parameter is added.
	w.Header()["Content-Type"] = []string{"application/json"}
	w.WriteHeader(status)
	w.Write(b)
}

func noContent(w http.ResponseWriter) {
	w.WriteHeader(http.StatusNoContent)
}

// decode reads a JSON body into v. Unknown fields are ignored; a body that
// is not JSON is bad_request_format; a value of the wrong JSON type is
// invalid_value:<field>.
func decode(r *http.Request, v any) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errs.New(errs.TooLarge, "request_too_large", "The request body is larger than %d bytes.", MaxBodyBytes)
		}
		return errs.New(errs.Invalid, "bad_request_format", "The request body could not be read.")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return errs.New(errs.Invalid, "bad_request_format", "The request body is empty; a JSON object is expected.")
	}
	err = json.Unmarshal(body, v)
	if c := conformance.CallFrom(r.Context()); c != nil {
		c.Body(body, v)
	}
	if err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			field := typeErr.Field
			if i := strings.LastIndexByte(field, '.'); i >= 0 {
				field = field[i+1:]
			}
			return errs.InvalidValue(field, "%s has the wrong type: expected %s.", field, typeErr.Type.String())
		}
		return errs.New(errs.Invalid, "bad_request_format", "The request body is not valid JSON.")
	}
	return nil
}

// logPath is the request's path as logs may show it, the secret of an
// emailed link redacted (web.LogPath).
func logPath(r *http.Request) string { return web.LogPath(r) }

// route names the route that served r in metrics: its pattern, so that
// the label's values are the routes, never the paths (which carry ids and
// secrets). An OCSP GET bypasses the mux (ServeHTTP).
func route(r *http.Request) string {
	switch {
	case r.Pattern != "":
		return r.Pattern
	case strings.HasPrefix(r.URL.Path, "/ocsp/"):
		return "GET /ocsp/{request...}"
	}
	return ""
}
