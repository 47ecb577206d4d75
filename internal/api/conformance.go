package api

import (
	"net/http"
	"strconv"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/conformance"
	"github.com/certorder/certorder/internal/errs"
)

// beginConformance starts the conformance record of an authenticated call
// in the sandbox (nil elsewhere, and for the sandbox's own routes, which
// the report's reader calls); the JSON decoder finds it in the context.
// The record ends when the answer's status is written, before the client
// can read it, so a report read right after a call shows that call; or,
// for a call that got no answer (a dropped connection), with finish.
func (s *Server) beginConformance(w http.ResponseWriter, r *http.Request, a account.Actor, ar account.Area) (http.ResponseWriter, *http.Request, func()) {
	if s.Conformance == nil || ar == account.AreaSandbox || a.Key == nil {
		return w, r, func() {}
	}
	c := s.Conformance.Begin(conformance.Key{AccountID: a.Account.ID, KeyID: a.Key.ID, UserID: a.User.ID, Name: a.Key.Name}, r, patternPath(r))
	rw := &recordingWriter{ResponseWriter: w, call: c}
	return rw, r.WithContext(conformance.WithCall(r.Context(), c)), func() { rw.end(0) }
}

// recordingWriter ends a conformance record with the status it writes.
type recordingWriter struct {
	http.ResponseWriter
	call *conformance.Call
	done bool
}

func (w *recordingWriter) end(status int) {
	if !w.done {
		w.done = true
		w.call.End(status, w.Header())
	}
}

func (w *recordingWriter) WriteHeader(code int) {
	w.end(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	w.end(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sandboxConformance: GET /sandbox/conformance, the report of the
// account's keys (api_key_id: one key's).
func (s *Server) sandboxConformance(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if s.Conformance == nil {
		return s.notSandbox()
	}
	id, err := conformanceKey(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.Conformance.Report(a.Account.ID, id))
	return nil
}

// resetConformance: DELETE /sandbox/conformance forgets what the account's
// keys (api_key_id: one key) sent, so that a client's test run starts from
// an empty report → 204.
func (s *Server) resetConformance(w http.ResponseWriter, r *http.Request, a account.Actor) error {
	if s.Conformance == nil {
		return s.notSandbox()
	}
	id, err := conformanceKey(r)
	if err != nil {
		return err
	}
	s.Conformance.Reset(a.Account.ID, id)
	noContent(w)
	return nil
}

func conformanceKey(r *http.Request) (int64, error) {
	v := r.URL.Query().Get("api_key_id")
	if v == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.InvalidValue("api_key_id", "api_key_id must be a positive integer.")
	}
	return id, nil
}
