package api

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/store"
)

// The sandbox's fault injection at the edge: a rule's decision is taken
// after the caller is known (its key and account pick rules) and before
// the permission check and the handler, so an injected 429 or 5xx, or a
// connection dropped without run_handler, leaves the store as it was. The
// sandbox's own routes are never faulted.

// decideFault is the fault, if any, for this call.
func (s *Server) decideFault(r *http.Request, a account.Actor, ar account.Area) *faults.Fault {
	if s.Faults == nil || ar == account.AreaSandbox || a.Key == nil {
		return nil
	}
	c := faults.Call{AccountID: a.Account.ID, KeyID: a.Key.ID, Method: r.Method, Path: r.URL.Path, Pattern: patternPath(r)}
	for _, name := range []string{"product", "name_id"} {
		if v := r.PathValue(name); v != "" {
			c.Products = append(c.Products, v)
			if p, ok := s.products().Orderable(v); ok && p.NameID != v {
				c.Products = append(c.Products, p.NameID)
			}
		}
	}
	return s.Faults.Decide(c)
}

// patternPath is the path of the route pattern that serves r.
func patternPath(r *http.Request) string {
	if i := strings.IndexByte(r.Pattern, '/'); i >= 0 {
		return r.Pattern[i:]
	}
	return r.Pattern
}

// inject acts on f; c is the rest of the call (permission check and
// handler), which a delay runs after its wait and a drop with run_handler
// runs into a writer nobody reads.
func (s *Server) inject(w http.ResponseWriter, r *http.Request, f *faults.Fault, c call) {
	s.Log.InfoContext(r.Context(), "sandbox fault injected", "rule", f.RuleID, "fault", string(f.Kind), "status", f.Status,
		"delay", f.Delay, "method", r.Method, "path", logPath(r))
	s.Metrics.FaultInjected(string(f.Kind))
	switch f.Kind {
	case faults.RateLimit:
		e := errs.New(errs.RateLimited, "request_limit_exceeded", "The API key has exceeded its request limit; retry after %d seconds.",
			retrySeconds(f.RetryAfter))
		e.RetryAfter = f.RetryAfter
		writeError(w, e)
	case faults.Error:
		// The answers of the real failures they stand for, so a client
		// cannot tell them apart.
		e := &errs.Error{Kind: errs.Internal, Details: []errs.Detail{{Code: "internal_error", Message: "An internal error occurred."}}}
		if f.Status == http.StatusServiceUnavailable {
			e = &errs.Error{Kind: errs.Unavailable, Details: []errs.Detail{{Code: "service_unavailable",
				Message: "The service is temporarily unavailable; retry later."}}}
		}
		e.RetryAfter = f.RetryAfter
		writeError(w, e)
	case faults.Delay:
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			s.run(w, r, c)
		case <-r.Context().Done():
			// The client gave up while waiting: the call never ran.
			s.Log.Info("client disconnected during an injected delay", "method", r.Method, "path", logPath(r))
		}
	case faults.Drop:
		if f.RunHandler {
			s.run(&discardWriter{h: http.Header{}}, r, c)
		}
		// The whole request is read before the connection goes, so the
		// client has sent it all and waits for an answer that never comes.
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			// A connection that cannot be taken over (HTTP/2) is reset.
			panic(http.ErrAbortHandler)
		}
		conn.Close()
	}
}

// discardWriter takes the answer of a call whose connection a drop fault
// closes.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(int)             {}

type faultsAnswer struct {
	Faults []faults.View `json:"faults"`
	// Injected counts the faults the process has injected, by kind, since
	// it started (every rule, every account).
	Injected map[faults.Kind]int64 `json:"injected"`
}

// sandboxFaults: GET /sandbox/faults lists the rules the account sees.
func (s *Server) sandboxFaults(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if s.Faults == nil {
		return s.notSandbox()
	}
	writeJSON(w, http.StatusOK, faultsAnswer{Faults: s.Faults.List(a.Account.ID), Injected: s.Faults.Counts()})
	return nil
}

// addSandboxFault: POST /sandbox/faults puts a rule in force for the
// account's keys → 201 with the rule.
func (s *Server) addSandboxFault(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if s.Faults == nil {
		return s.notSandbox()
	}
	var in faults.Spec
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.APIKeyID > 0 {
		if _, err := s.Store.APIKey(r.Context(), a.Account.ID, in.APIKeyID); errors.Is(err, store.ErrNotFound) {
			return errs.InvalidValue("api_key_id", "The account has no API key %d.", in.APIKeyID)
		} else if err != nil {
			return errs.Internalf(err, "read api key %d", in.APIKeyID)
		}
	}
	v, err := s.Faults.Add(a.Account.ID, in)
	if err != nil {
		return err
	}
	s.Log.Info("sandbox fault rule added", "user", a.User.ID, "rule", v.ID, "fault", string(v.Fault), "route", v.Route)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// deleteSandboxFault: DELETE /sandbox/faults/{id} → 204.
func (s *Server) deleteSandboxFault(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if s.Faults == nil {
		return s.notSandbox()
	}
	id, err := pathID(r, "id", "fault")
	if err != nil {
		return err
	}
	if !s.Faults.Delete(a.Account.ID, id) {
		return errs.NotFoundf("fault", "fault %d was not found.", id)
	}
	s.Log.Info("sandbox fault rule deleted", "user", a.User.ID, "rule", id)
	noContent(w)
	return nil
}
