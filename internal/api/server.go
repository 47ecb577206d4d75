// Package api is the HTTP edge: routes, authentication, JSON decoding and
// the CertCentral error envelope. It reads through the store interface and
// changes state only through internal/order; it never writes SQL.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/ratelimit"
	"github.com/certorder/certorder/internal/revocation"
	"github.com/certorder/certorder/internal/store"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Base is the path every CertCentral endpoint lives under.
const Base = "/services/v2"

// Server serves the API.
type Server struct {
	Store  store.Store
	Orders *order.Service
	CA     *ca.Hierarchy
	Log    *slog.Logger
	Now    func() time.Time
	// Limits is the per-key request budget (spec §1.6); nil is unlimited.
	Limits *ratelimit.Limiter

	// Revocation serves CRLs and OCSP (pki.go); New makes one without
	// background workers when it is nil.
	Revocation *revocation.Publisher

	mux *http.ServeMux
}

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
	// Reads honour the caller's container scope (see users.go).
	s.Store = order.ScopedStore(s.Store)
	if s.Orders != nil {
		s.Orders.Store = order.ScopedStore(s.Orders.Store)
	}
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// area is what an API key role may reach (spec §1.2).
type area int

const (
	areaOrders     area = iota // orders, requests, certificates
	areaOrgs                   // organizations, domains
	areaCatalog                // products, the caller's own user
	areaUsers                  // users
	areaFinance                // balance and other money matters
	areaContainers             // containers (divisions)
	areaKeys                   // API keys (a user-management matter for key roles)
)

// authed is a handler that runs for an authenticated caller.
type authed func(w http.ResponseWriter, r *http.Request, a order.Actor) error

func (s *Server) routes() {
	m := s.mux
	api := func(pattern string, ar area, h authed) {
		method, path, _ := strings.Cut(pattern, " ")
		m.Handle(method+" "+Base+path, s.authenticate(ar, h))
	}
	api("POST /order/certificate/{product}", areaOrders, s.createOrder)
	api("GET /order/certificate/{id}", areaOrders, s.orderInfo)
	api("GET /order/certificate", areaOrders, s.listOrders)
	api("PUT /order/certificate/{id}/csr", areaOrders, s.updateCSR)
	// Issue 4, order operations (lifecycle.go).
	api("PUT /order/certificate/{id}/status", areaOrders, s.updateOrderStatus)
	api("POST /order/certificate/{id}/reissue", areaOrders, s.reissueOrder)
	api("GET /order/certificate/{id}/reissue", areaOrders, s.listReissues)
	api("POST /order/certificate/{id}/duplicate", areaOrders, s.duplicateOrder)
	api("GET /order/certificate/{id}/duplicate", areaOrders, s.listDuplicates)
	api("GET /order/certificate/status-changes", areaOrders, s.statusChanges)
	api("GET /finance/balance", areaFinance, s.balance)
	api("GET /request", areaOrders, s.listRequests)
	api("GET /request/{id}", areaOrders, s.requestInfo)
	api("PUT /request/{id}/status", areaOrders, s.updateRequestStatus)
	api("GET /certificate/{id}/download/format/{format}", areaOrders, s.downloadCertificate)
	api("GET /certificate/download/order/{id}/format/{format}", areaOrders, s.downloadOrderCertificate)
	api("GET /certificate/download/order/{id}", areaOrders, s.downloadOrderCertificate)
	api("GET /certificate/{id}/download/platform", areaOrders, s.downloadCertificate)
	api("GET /certificate/{id}/download/platform/{platform}", areaOrders, s.downloadCertificate)
	api("GET /certificate/{id}/chain", areaOrders, s.certificateChain)
	// Issue 5, revocation (revoke.go).
	api("PUT /certificate/{id}/revoke", areaOrders, s.revokeCertificate)
	api("PUT /order/certificate/{id}/revoke", areaOrders, s.revokeOrder)
	api("GET /organization", areaOrgs, s.listOrganizations)
	api("GET /organization/{id}", areaOrgs, s.organizationInfo)
	api("POST /organization", areaOrgs, s.createOrganization)
	api("DELETE /organization/{id}", areaOrgs, s.deleteOrganization)
	api("GET /organization/{id}/validation", areaOrgs, s.organizationValidations)
	api("POST /organization/{id}/validation", areaOrgs, s.submitOrganizationValidation)
	api("PUT /organization/{id}/validation/{type}", areaOrgs, s.grantOrganizationValidation) // certorder's own (decisions.md)
	api("POST /domain", areaOrgs, s.addDomain)
	api("GET /domain", areaOrgs, s.listDomains)
	api("GET /domain/{id}", areaOrgs, s.domainInfo)
	api("POST /domain/{id}/validation", areaOrgs, s.submitDomainValidation)
	api("POST /domain/{id}/dcv/token", areaOrgs, s.newDomainToken)
	api("PUT /domain/{id}/dcv/validate-token", areaOrgs, s.checkDomainToken)
	api("PUT /domain/{id}/dcv/method", areaOrgs, s.changeDomainDCVMethod)
	api("GET /domain/{id}/dcv/emails", areaOrgs, s.domainEmails)
	api("PUT /domain/{id}/dcv/emails", areaOrgs, s.resendDomainEmails)
	api("PUT /domain/{id}/dcv/approve", areaOrgs, s.grantDomainValidation) // certorder's own (decisions.md)
	api("GET /order/certificate/{id}/validation", areaOrders, s.orderValidation)
	// Issue 6, order-level DCV (dcv.go).
	api("PUT /order/certificate/{id}/check-dcv", areaOrders, s.checkDCV)
	api("PUT /order/certificate/{id}/dcv-method", areaOrders, s.changeOrderDCVMethod)
	api("PUT /order/certificate/{id}/dcv-random-value", areaOrders, s.newOrderRandomValue)
	api("PUT /order/certificate/{id}/resend-emails", areaOrders, s.resendOrderEmails)
	api("GET /container", areaContainers, s.listContainers)
	api("GET /container/{id}", areaContainers, s.containerInfo)
	api("GET /container/{id}/children", areaContainers, s.containerChildren)
	api("POST /container/{id}/children", areaContainers, s.createChildContainer)
	api("POST /container", areaContainers, s.createContainer)
	api("POST /user", areaUsers, s.createUser)
	api("GET /user", areaUsers, s.listUsers)
	api("GET /user/{id}", areaUsers, s.userInfo)
	api("DELETE /user/{id}", areaUsers, s.deleteUser)
	api("PUT /user/{id}", areaUsers, s.editUser)
	api("POST /key/user/{user_id}", areaKeys, s.createKey)
	api("GET /key", areaKeys, s.listKeys)
	api("GET /key/{id}", areaKeys, s.keyInfo)
	api("PUT /key/{id}/status", areaKeys, s.setKeyStatus)
	api("GET /product", areaCatalog, s.listProducts)
	api("GET /product/{name_id}", areaCatalog, s.productInfo)
	api("GET /user/me", areaCatalog, s.userMe)
	api("GET /account/metadata", areaOrders, s.listMetadata)
	api("POST /account/metadata", areaOrders, s.createMetadata)

	// Unauthenticated PKI endpoints that certificates point relying parties to.
	m.HandleFunc("GET /healthz", s.healthz)
	m.HandleFunc("GET /ca/{file}", s.serveCACert)
	m.HandleFunc("GET /crl/{file}", s.serveCRL)
	m.HandleFunc("GET /ocsp/{request...}", s.serveOCSPGet)
	m.HandleFunc("POST /ocsp", s.serveOCSPPost)
	// The emailed DCV approval links (the link's secret is the credential).
	m.HandleFunc("GET /dcv/email/{secret}", s.showEmailLink)
	m.HandleFunc("POST /dcv/email/{secret}", s.approveEmailLink)
}

// ServeHTTP bounds the body, recovers panics and turns every route the mux
// does not know into CertCentral's not_found|route envelope (the mux's own
// 404 and 405 answers are plain text, which clients cannot decode).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			s.Log.Error("panic in handler", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
			if rec.status == 0 {
				writeError(rec, errs.New(errs.Internal, "internal_error", "An internal error occurred."))
			}
		}
		s.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
	}()
	r.Body = http.MaxBytesReader(rec, r.Body, MaxBodyBytes)
	// An OCSP GET carries base64, which may hold "//" when the client did
	// not URL-encode it; the mux would "clean" that path and redirect.
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && strings.HasPrefix(r.URL.Path, "/ocsp/") {
		s.serveOCSPGet(rec, r)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		writeError(rec, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
		return
	}
	s.mux.ServeHTTP(rec, r)
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
		s.Log.Warn("health check: store unavailable", "err", err)
		writeError(w, store.Unavailable(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// HashKey is how API keys are stored: SHA-256 of the key as sent (one
// definition, in order.HashKey, for the API, the rules and the CLI).
func HashKey(key string) []byte { return order.HashKey(key) }

func (s *Server) authenticate(ar area, h authed) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, err := s.actor(r.Context(), strings.TrimSpace(r.Header.Get("X-DC-DEVKEY")))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if err := s.spend(actor); err != nil {
			s.fail(w, r, err)
			return
		}
		if err := allowed(actor, ar, r.Method); err != nil {
			s.fail(w, r, err)
			return
		}
		if sc, ok, err := order.ScopeFor(r.Context(), s.Store, actor); err != nil {
			s.fail(w, r, errs.Internalf(err, "scope of user %d", actor.User.ID))
			return
		} else if ok {
			r = r.WithContext(order.WithScope(r.Context(), sc))
		}
		if err := h(w, r, actor); err != nil {
			s.fail(w, r, err)
		}
	})
}

func invalidKey() error {
	// The live API's answer for a missing or unknown key (captured by a
	// public client): 403 access_denied|access_denied_invalid_key.
	return errs.New(errs.Unauthorized, "access_denied|access_denied_invalid_key", "Access denied due to access_denied_invalid_key.")
}

func (s *Server) actor(ctx context.Context, key string) (order.Actor, error) {
	if key == "" {
		return order.Actor{}, invalidKey()
	}
	k, err := s.Store.APIKeyByHash(ctx, HashKey(key))
	if errors.Is(err, store.ErrNotFound) {
		return order.Actor{}, invalidKey()
	}
	if err != nil {
		return order.Actor{}, errs.Internalf(err, "look up api key")
	}
	if k.RevokedAt != nil {
		return order.Actor{}, invalidKey()
	}
	acct, err := s.Store.Account(ctx, k.AccountID)
	if err != nil {
		return order.Actor{}, errs.Internalf(err, "read account of key %d", k.ID)
	}
	u, err := s.Store.User(ctx, k.AccountID, k.UserID)
	if err != nil {
		return order.Actor{}, errs.Internalf(err, "read user of key %d", k.ID)
	}
	if u.Status != "active" {
		return order.Actor{}, invalidKey()
	}
	return order.Actor{Account: acct, User: u, Key: k}, nil
}

// allowed enforces both roles of a call: the key's role (spec §1.2: 100
// orders, 101 orders+domains+organizations, 102 view only, 103 user
// management; 0 inherits the user's role) and the user's access role
// (roleAllows in users.go). The matrix is in docs/decisions.md.
func allowed(a order.Actor, ar area, method string) error {
	keyArea := ar
	if ar == areaKeys {
		keyArea = areaUsers
	}
	read := method == http.MethodGet || method == http.MethodHead
	deny := errs.New(errs.Forbidden, "access_denied|missing_permission", "This API key's role does not allow this call.")
	switch a.Key.RoleID {
	case 0:
	case 100:
		if keyArea == areaOrgs || keyArea == areaUsers || keyArea == areaFinance || keyArea == areaContainers && !read {
			return deny
		}
	case 101:
		if keyArea == areaUsers || keyArea == areaFinance || keyArea == areaContainers && !read {
			return deny
		}
	case 102:
		if !read {
			return deny
		}
	case 103:
		if keyArea != areaUsers && keyArea != areaCatalog && !(keyArea == areaContainers && read) {
			return deny
		}
	default:
		return deny
	}
	if !roleAllows(a.User.AccessRole, ar, read) {
		return errs.New(errs.Forbidden, "access_denied|missing_permission", "Your access role (%s) does not allow this call.", roleNames[a.User.AccessRole])
	}
	return nil
}

// fail answers a handler's error and logs what an operator needs to see:
// internal errors at ERROR with their cause, an unavailable store at WARN.
// A request whose client went away is neither: its failure is most likely
// the cancellation itself (a store read interrupted, a queued write given
// up), so it is logged at INFO as what it is, and nobody is left to answer.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		s.Log.Info("client disconnected", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	e := problem(err)
	switch e.Kind {
	case errs.Internal:
		s.Log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", e.Error())
	case errs.Unavailable:
		s.Log.Warn("unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
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

func statusOf(k errs.Kind) int {
	switch k {
	case errs.Invalid, errs.Conflict:
		return http.StatusBadRequest
	case errs.Unauthorized, errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

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
	if err := json.Unmarshal(body, v); err != nil {
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
