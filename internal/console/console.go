// Package console is the web console at /console/: the pages through
// which the people who run and approve certificates sign in, place and
// approve orders, revoke, validate organizations and domains, manage
// users and keys and read the audit log.
//
// It is a second edge beside internal/api and holds no rule of its own:
// every page authorizes its caller with account.Authorize (the permission
// table and container scope the API applies to keys, here for the
// session's user with an unrestricted key), reads through the scoped
// store, and changes state only through the services the API calls
// (order, validation, account). Pages are server-rendered by internal/web
// (escaped templates, security headers, cross-origin refusal, form
// tokens bound to the session) and work without JavaScript.
package console

import (
	"cmp"
	"context"
	"embed"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/conformance"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/order"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
	"github.com/certorder/certorder/internal/web"
)

// Prefix is where the console is mounted.
const Prefix = "/console/"

//go:embed all:templates
var files embed.FS

// Server serves the console.
type Server struct {
	Store      store.Store
	Orders     *order.Service
	Validation *validation.Service
	Accounts   *account.Service
	CA         *ca.Hierarchy
	Log        *slog.Logger
	// Now is business time: what pages show and count (the dashboard's
	// expiry windows), moved by the sandbox's clock. WallNow is real time:
	// sessions and the sign-in throttle keep it whatever the sandbox says.
	Now, WallNow func() time.Time
	// Sandbox shows the outbox and the clock; Travel is the clock.
	Sandbox bool
	Travel  *clock.Travel
	// Faults and Conformance are the sandbox's fault rules and client
	// conformance report (faults.go); nil outside the sandbox.
	Faults      *faults.Injector
	Conformance *conformance.Recorder
	// Mail sends password links (nil: none are sent); URL is the
	// console's public base (https://ca.example.com) the links name.
	Mail *mail.Queue
	URL  string
	// Templates make the mail (nil: the embedded ones), so that an
	// operator's --mail-templates reach password links too.
	Templates *mail.Templates
	// SessionLife bounds a session from its sign-in, IdleTimeout from its
	// last page (zero: the defaults).
	SessionLife, IdleTimeout time.Duration

	pages  *web.Pages
	mux    *http.ServeMux
	routes []Route
	// patterns are every pattern registered on mux (Patterns).
	patterns []string
}

// Session defaults: a working day at most, half an hour idle.
const (
	DefaultSessionLife = 12 * time.Hour
	DefaultIdleTimeout = 30 * time.Minute
)

// Route is one page behind sign-in and the area of the permission table
// that guards it (docs/security.md lists them with the API's).
type Route struct {
	Method, Path string
	Area         account.Area
	// Write: the page needs write access to the area (every POST, and
	// the page of a form that changes something).
	Write bool
}

// Routes lists the pages behind sign-in in the order they are registered.
func (s *Server) Routes() []Route { return s.routes }

// New builds the console's handler tree.
func New(s *Server) *Server {
	s.Log = cmp.Or(s.Log, slog.Default())
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.WallNow == nil {
		s.WallNow = time.Now
	}
	s.SessionLife = cmp.Or(s.SessionLife, DefaultSessionLife)
	s.IdleTimeout = cmp.Or(s.IdleTimeout, DefaultIdleTimeout)
	// Reads honour the caller's container scope, as the API's do.
	s.Store = account.ScopedStore(s.Store)
	s.pages = web.MustParseFuncs(files, "templates", funcs)
	s.pages.Log = s.Log
	s.mux = http.NewServeMux()
	s.register()
	return s
}

// Patterns are every pattern the console registered, the not-found
// fallback of its subtree included (the API's OpenAPI document describes
// them).
func (s *Server) Patterns() []string { return slices.Clone(s.patterns) }

// ServeHTTP serves a console page. A page that panics is logged as the
// API logs a handler's panic (method, redacted path, value, stack) and
// answers the console's error page: the API's own recovery, behind which
// the console is mounted, would answer the JSON envelope, which a browser
// shows as text.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &headerRecorder{ResponseWriter: w}
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler {
			panic(p) // the handler's way of dropping the connection
		}
		s.Log.ErrorContext(r.Context(), "panic in handler", "method", r.Method, "path", web.LogPath(r), "panic", p, "stack", string(debug.Stack()))
		if !rec.wrote {
			// Whatever the page set before it failed (a download's
			// Content-Disposition) is not the error page's.
			clear(rec.Header())
			s.render(rec, r, nil, http.StatusInternalServerError, "message", web.Message{Title: "Something went wrong",
				Text: "An internal error occurred; it was logged."})
		}
	}()
	s.mux.ServeHTTP(rec, r)
}

// headerRecorder notes whether the answer's header went out: after it, a
// panic can only cut the answer short.
type headerRecorder struct {
	http.ResponseWriter
	wrote bool
}

func (h *headerRecorder) WriteHeader(code int) {
	h.wrote = true
	h.ResponseWriter.WriteHeader(code)
}

func (h *headerRecorder) Write(b []byte) (int, error) {
	h.wrote = true
	return h.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (h *headerRecorder) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// visit is one signed-in request: who asks, through which session, and
// the form token of the pages it renders.
type visit struct {
	Actor   account.Actor
	Session *store.Session
	CSRF    string
}

// handler is a page for a signed-in caller that passed the route's check.
type handler func(w http.ResponseWriter, r *http.Request, v *visit) error

func (s *Server) register() {
	add := func(pattern string, ar account.Area, read bool, h handler) {
		method, path, _ := strings.Cut(pattern, " ")
		s.mux.Handle(pattern, web.Protect(s.signedIn(ar, read, h)))
		s.patterns = append(s.patterns, pattern)
		s.routes = append(s.routes, Route{Method: method, Path: path, Area: ar, Write: !read})
	}
	page := func(pattern string, ar account.Area, h handler) {
		add(pattern, ar, strings.HasPrefix(pattern, "GET "), h)
	}
	// form is the page of a form whose sending changes something: it
	// opens only for those who may send it.
	form := func(pattern string, ar account.Area, h handler) { add(pattern, ar, false, h) }
	open := func(pattern string, h http.HandlerFunc) {
		s.mux.Handle(pattern, web.Protect(h))
		s.patterns = append(s.patterns, pattern)
	}

	open("GET /console/signin", s.signInPage)
	open("POST /console/signin", s.signIn)
	open("GET /console/signin/code", s.codePage)
	open("POST /console/signin/code", s.code)
	open("POST /console/signout", s.signOut)
	open("GET /console/password/{secret}", s.passwordLinkPage)
	open("POST /console/password/{secret}", s.passwordLink)

	page("GET /console/{$}", account.AreaCatalog, s.dashboard)
	page("GET /console/account", account.AreaCatalog, s.accountPage)
	page("POST /console/account/password", account.AreaCatalog, s.changePassword)
	page("POST /console/account/totp", account.AreaCatalog, s.startTOTP)
	page("POST /console/account/totp/confirm", account.AreaCatalog, s.confirmTOTP)
	page("POST /console/account/totp/off", account.AreaCatalog, s.ownTOTPOff)

	page("GET /console/orders", account.AreaOrders, s.orders)
	form("GET /console/products", account.AreaOrders, s.products)
	form("GET /console/products/{product}", account.AreaOrders, s.newOrderPage)
	page("POST /console/products/{product}", account.AreaOrders, s.newOrder)
	page("GET /console/orders/{id}", account.AreaOrders, s.orderPage)
	page("GET /console/orders/{id}/certificates/{cert}/{format}", account.AreaOrders, s.download)
	page("POST /console/orders/{id}/cancel", account.AreaOrders, s.cancelOrder)
	page("POST /console/orders/{id}/reissue", account.AreaOrders, s.reissue)
	page("POST /console/orders/{id}/duplicate", account.AreaOrders, s.duplicate)
	page("POST /console/orders/{id}/revoke", account.AreaOrders, s.revoke)
	page("POST /console/orders/{id}/certificates/{cert}/revoke", account.AreaOrders, s.revokeCertificate)

	page("GET /console/requests", account.AreaOrders, s.requests)
	page("POST /console/requests/{id}", account.AreaOrders, s.decide)

	page("GET /console/organizations", account.AreaOrgs, s.organizations)
	form("GET /console/organizations/new", account.AreaOrgs, s.newOrganizationPage)
	page("POST /console/organizations/new", account.AreaOrgs, s.newOrganization)
	page("GET /console/organizations/{id}", account.AreaOrgs, s.organizationPage)
	page("POST /console/organizations/{id}/validation", account.AreaOrgs, s.submitOrganization)
	page("POST /console/organizations/{id}/grant", account.AreaOrgs, s.grantOrganization)
	page("GET /console/domains", account.AreaOrgs, s.domains)
	form("GET /console/domains/new", account.AreaOrgs, s.newDomainPage)
	page("POST /console/domains/new", account.AreaOrgs, s.newDomain)
	page("GET /console/domains/{id}", account.AreaOrgs, s.domainPage)
	page("POST /console/domains/{id}/validation", account.AreaOrgs, s.submitDomain)
	page("POST /console/domains/{id}/method", account.AreaOrgs, s.changeDomainMethod)
	page("POST /console/domains/{id}/check", account.AreaOrgs, s.checkDomain)
	page("POST /console/domains/{id}/grant", account.AreaOrgs, s.grantDomain)

	page("GET /console/containers", account.AreaContainers, s.containers)
	page("GET /console/containers/{id}", account.AreaContainers, s.containerPage)

	page("GET /console/users", account.AreaUsers, s.users)
	form("GET /console/users/new", account.AreaUsers, s.newUserPage)
	page("POST /console/users/new", account.AreaUsers, s.newUser)
	page("GET /console/users/{id}", account.AreaUsers, s.userPage)
	page("POST /console/users/{id}", account.AreaUsers, s.editUser)
	page("POST /console/users/{id}/delete", account.AreaUsers, s.deleteUser)
	page("POST /console/users/{id}/password-link", account.AreaUsers, s.sendPasswordLink)
	page("POST /console/users/{id}/totp-off", account.AreaUsers, s.userTOTPOff)
	page("GET /console/keys", account.AreaKeys, s.keys)
	page("POST /console/keys", account.AreaKeys, s.createKey)
	page("POST /console/keys/{id}/revoke", account.AreaKeys, s.revokeKey)

	page("GET /console/audit", account.AreaAudit, s.audit)

	page("GET /console/sandbox", account.AreaSandbox, s.sandbox)
	page("POST /console/sandbox/clock", account.AreaSandbox, s.moveClock)
	page("POST /console/sandbox/faults", account.AreaSandbox, s.addFault)
	page("POST /console/sandbox/faults/{id}/delete", account.AreaSandbox, s.deleteFault)
	page("POST /console/sandbox/conformance/reset", account.AreaSandbox, s.resetConformance)

	// Everything else under the prefix is a page that does not exist.
	open("/console/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, nil, http.StatusNotFound, "message", web.Message{Title: "Page not found", Text: "There is no console page at this address."})
	})
}

// signedIn runs h for a caller with a complete session whose user the
// permission table lets reach the area (to read it, or to write it when
// read is false), in the scope of that user's containers: exactly what the
// API checks for a key (account.Authorize). A state-changing request must
// also carry the session's form token.
func (s *Server) signedIn(ar account.Area, read bool, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, actor, err := s.readSession(w, r)
		if err != nil {
			s.fail(w, r, nil, err)
			return
		}
		safe := r.Method == http.MethodGet || r.Method == http.MethodHead
		if sess == nil {
			if !safe {
				s.render(w, r, nil, http.StatusForbidden, "message", web.Message{Title: "Signed out",
					Text: "Your session has ended. Sign in again and repeat what you were doing."})
				return
			}
			http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		v := &visit{Actor: actor, Session: sess}
		ctx, err := account.Authorize(r.Context(), s.Store, actor, ar, read)
		if err != nil {
			s.fail(w, r, v, err)
			return
		}
		r = r.WithContext(ctx)
		if !safe && !web.CheckForm(r, formScope(sess)) {
			s.render(w, r, v, http.StatusForbidden, "message", web.Message{Title: "Form expired",
				Text: "This form was not sent from this session's page. Open the page again and send it from there."})
			return
		}
		v.CSRF = web.FormToken(w, r, formScope(sess))
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	})
}

// formScope binds a signed-in page's form tokens to its session: a token
// of another session, or of a signed-out one, is refused. The session's
// secret binds it, not its number: whoever could plant the browser's form
// nonce would know the number too (it counts up), but not the digest of a
// cookie no script reads.
func formScope(sess *store.Session) string { return "console\x00" + hex.EncodeToString(sess.TokenHash) }

// statusOf is what a page answers for an error of a rule: the API's
// statuses, but a page and never the JSON envelope.
func statusOf(k errs.Kind) int { return web.Status(k) }

// problem is the typed error of err; an unavailable store is told as such.
func problem(err error) *errs.Error {
	if errors.Is(err, store.ErrUnavailable) {
		return &errs.Error{Kind: errs.Unavailable, Details: []errs.Detail{{Code: "service_unavailable",
			Message: "The service is temporarily unavailable; try again in a moment."}}, Cause: err, RetryAfter: 10 * time.Second}
	}
	return errs.As(err)
}

// fail answers an error with a page saying what went wrong; the cause of
// an internal error goes to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, v *visit, err error) {
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	e := problem(err)
	switch e.Kind {
	case errs.Internal:
		s.Log.ErrorContext(r.Context(), "console: internal error", "method", r.Method, "path", web.LogPath(r), "err", e.Error())
	case errs.Unavailable:
		s.Log.WarnContext(r.Context(), "console: unavailable", "method", r.Method, "path", web.LogPath(r), "err", err)
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	title := map[errs.Kind]string{errs.NotFound: "Not found", errs.Forbidden: "Not allowed", errs.Unauthorized: "Not allowed",
		errs.RateLimited: "Slow down", errs.Unavailable: "Unavailable"}[e.Kind]
	if title == "" {
		title = "Something went wrong"
		if e.Kind == errs.Invalid || e.Kind == errs.Conflict {
			title = "Not possible"
		}
	}
	text := "An internal error occurred; it was logged."
	if e.Kind != errs.Internal && len(e.Details) > 0 {
		var msgs []string
		for _, d := range e.Details {
			msgs = append(msgs, d.Message)
		}
		text = strings.Join(msgs, " ")
	}
	s.render(w, r, v, statusOf(e.Kind), "message", web.Message{Title: title, Text: text})
}

// view is what every console page is rendered with.
type view struct {
	V       *visit
	Nav     []navLink
	Here    string
	Sandbox bool
	// Notice is a line about what just happened (after a redirect).
	Notice string
	// Errors are the failures of a form, Fields the same by input name.
	Errors []errs.Detail
	Fields map[string]string
	Form   url.Values
	D      any
}

type navLink struct {
	Href, Label string
	Current     bool
}

// nav lists the sections the caller may open: a link is shown only where
// the permission table lets its page through.
func (s *Server) nav(v *visit, here string) []navLink {
	if v == nil {
		return nil
	}
	links := []struct {
		href, label string
		ar          account.Area
	}{
		{"/console/", "Dashboard", account.AreaCatalog},
		{"/console/orders", "Orders", account.AreaOrders},
		{"/console/requests", "Requests", account.AreaOrders},
		{"/console/organizations", "Organizations", account.AreaOrgs},
		{"/console/domains", "Domains", account.AreaOrgs},
		{"/console/containers", "Containers", account.AreaContainers},
		{"/console/users", "Users", account.AreaUsers},
		{"/console/keys", "API keys", account.AreaKeys},
		{"/console/audit", "Audit log", account.AreaAudit},
		{"/console/sandbox", "Sandbox", account.AreaSandbox},
		{"/console/account", "My account", account.AreaCatalog},
	}
	var out []navLink
	for _, l := range links {
		if l.ar == account.AreaSandbox && !s.Sandbox {
			continue
		}
		if account.Allowed(v.Actor, l.ar, true) != nil {
			continue
		}
		cur := here == l.href || l.href != "/console/" && strings.HasPrefix(here, l.href+"/")
		out = append(out, navLink{Href: l.href, Label: l.label, Current: cur})
	}
	return out
}

// render writes a console page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, v *visit, status int, name string, data any) {
	vw, ok := data.(*view)
	if !ok {
		vw = &view{D: data}
	}
	vw.V, vw.Sandbox, vw.Here = v, s.Sandbox, r.URL.Path
	vw.Nav = s.nav(v, r.URL.Path)
	if vw.Notice == "" {
		vw.Notice = notices[r.URL.Query().Get("done")]
	}
	s.pages.Render(w, status, name, vw)
}

// notices are the lines a page shows after a redirect (?done=...): fixed
// texts, so that nothing a link carries is echoed.
var notices = map[string]string{
	"placed": "The order was placed.", "approved": "The request was approved.", "rejected": "The request was rejected.",
	"canceled": "The order was canceled.", "reissued": "The reissue was requested.", "duplicated": "The duplicate was requested.",
	"revoked": "The revocation was requested or done.", "granted": "The validation was granted.", "checked": "The check ran; see the status below.",
	"created": "Created.", "saved": "Saved.", "deleted": "Deleted.", "linked": "A password link was mailed to the user.",
	"password": "Your password was changed; your other sessions were signed out.", "totp": "Your second factor is on.",
	"totp-off": "The second factor is off.", "moved": "The sandbox clock moved.", "keyrevoked": "The key was revoked.",
	"bye": "You are signed out.", "set": "Your password is set. Sign in with it.",
	"reused": "An identical organization exists already; this is it.", "submitted": "Submitted for validation; see the status below.",
}

// redirect ends a successful form with a redirect to a page (POST,
// redirect, GET), which shows notice done.
func redirect(w http.ResponseWriter, r *http.Request, path, done string) error {
	if done != "" {
		path += "?done=" + done
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
	return nil
}

// formFailure renders a form again with the errors of err by input, or
// passes on an error that is no verdict on the input.
func (s *Server) formFailure(w http.ResponseWriter, r *http.Request, v *visit, name string, err error, data any, aliases map[string]string) error {
	e := problem(err)
	if e.Kind != errs.Invalid && e.Kind != errs.Conflict {
		return err
	}
	vw := &view{D: data, Errors: e.Details, Fields: fieldErrors(e.Details, aliases), Form: r.PostForm}
	s.render(w, r, v, statusOf(e.Kind), name, vw)
	return nil
}

// fieldErrors maps the API's error codes to form inputs (detailField).
func fieldErrors(ds []errs.Detail, aliases map[string]string) map[string]string {
	return fieldErrorsBy(ds, func(d errs.Detail) string { return detailField(d, aliases) })
}

// fieldErrorsBy gathers the messages of ds by the input field names.
func fieldErrorsBy(ds []errs.Detail, field func(errs.Detail) string) map[string]string {
	out := map[string]string{}
	for _, d := range ds {
		if f := field(d); f != "" {
			if out[f] != "" {
				out[f] += " "
			}
			out[f] += d.Message
		}
	}
	return out
}

// detailField is the form input an error of the rules is about:
// invalid_value:x and missing_field:x name their field x (x.y is x's,
// unless aliases name x.y itself), other codes their field by prefix
// (csr_invalid_signature is the csr's); aliases rename.
func detailField(d errs.Detail, aliases map[string]string) string {
	field := ""
	if _, f, ok := strings.Cut(d.Code, ":"); ok {
		if a, ok := aliases[f]; ok {
			return a
		}
		field, _, _ = strings.Cut(f, ".")
	} else if p, _, ok := strings.Cut(d.Code, "_"); ok {
		field = p
	}
	if a, ok := aliases[field]; ok {
		field = a
	}
	return field
}

// pathID is the positive integer {name} of the path, or not found.
func pathID(r *http.Request, name, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.NotFoundf(what, "There is no %s %q.", what, r.PathValue(name))
	}
	return id, nil
}

// notFound turns the store's not-found (also a row outside the caller's
// scope) into the page's.
func notFound(err error, what string, id int64) error {
	if errors.Is(err, store.ErrNotFound) {
		return errs.NotFoundf(what, "There is no %s %d, or it is not yours to see.", what, id)
	}
	return errs.OrInternal(err, "read %s %d", what, id)
}

// allowed: the permission table lets v's user do this (to show a form).
func allowed(v *visit, ar account.Area, read bool) bool {
	return account.Allowed(v.Actor, ar, read) == nil
}

func formInt(r *http.Request, name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(r.PostFormValue(name)), 10, 64)
	return n
}
