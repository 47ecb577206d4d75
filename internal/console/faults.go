package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/certorder/certorder/internal/conformance"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/faults"
	"github.com/certorder/certorder/internal/store"
)

// The sandbox page's fault rules and client conformance report: what GET
// /sandbox/faults and /sandbox/conformance answer, and forms for what
// POST and DELETE do.

// faultsData is the rules and report part of the sandbox page.
type faultsData struct {
	Faults   []faults.View
	Injected map[faults.Kind]int64
	Kinds    []faults.Kind
	Report   conformance.Report
}

func (s *Server) faultsData(v *visit) faultsData {
	d := faultsData{Kinds: faults.Kinds}
	if s.Faults != nil {
		d.Faults, d.Injected = s.Faults.List(v.Actor.Account.ID), s.Faults.Counts()
	}
	if s.Conformance != nil {
		d.Report = s.Conformance.Report(v.Actor.Account.ID, 0)
	}
	return d
}

// addFault puts the form's rule in force for the account's keys.
func (s *Server) addFault(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !s.Sandbox || s.Faults == nil {
		return errs.NotFoundf("sandbox", "This page exists only on a server started with --sandbox.")
	}
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	var l errs.List
	num := func(field string) int64 {
		if f(field) == "" {
			return 0
		}
		n, err := strconv.ParseInt(f(field), 10, 64)
		if err != nil {
			l.Add(errs.InvalidValue(field, "%s is a whole number.", field))
		}
		return n
	}
	sp := faults.Spec{Route: f("route"), Product: f("product"), Fault: faults.Kind(f("fault")), RetryAfter: f("retry_after"),
		Delay: f("delay"), DelayMax: f("delay_max"), RunHandler: f("run_handler") != "", For: f("for"),
		APIKeyID: num("api_key_id"), Status: int(num("status")), Every: int(num("every")), Count: int(num("count"))}
	if p := f("probability"); p != "" {
		x, err := strconv.ParseFloat(p, 64)
		if err != nil {
			l.Add(errs.InvalidValue("probability", "probability is a number above 0 and at most 1."))
		}
		sp.Probability = x
	}
	err := l.Err()
	if err == nil && sp.APIKeyID > 0 {
		if _, kerr := s.Store.APIKey(r.Context(), v.Actor.Account.ID, sp.APIKeyID); errors.Is(kerr, store.ErrNotFound) {
			err = errs.InvalidValue("api_key_id", "The account has no API key %d.", sp.APIKeyID)
		} else if kerr != nil {
			return errs.Internalf(kerr, "read api key %d", sp.APIKeyID)
		}
	}
	var rule faults.View
	if err == nil {
		rule, err = s.Faults.Add(v.Actor.Account.ID, sp)
	}
	if err != nil {
		r.URL.RawQuery = ""
		d, derr := s.sandboxData(r, v)
		if derr != nil {
			return derr
		}
		return s.formFailure(w, r, v, "sandbox", err, d, nil)
	}
	s.Log.Info("sandbox fault rule added", "user", v.Actor.User.ID, "rule", rule.ID, "fault", string(rule.Fault), "route", rule.Route)
	return redirect(w, r, "/console/sandbox", "created")
}

// deleteFault ends a rule.
func (s *Server) deleteFault(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !s.Sandbox || s.Faults == nil {
		return errs.NotFoundf("sandbox", "This page exists only on a server started with --sandbox.")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || !s.Faults.Delete(v.Actor.Account.ID, id) {
		return errs.NotFoundf("fault", "There is no such fault rule.")
	}
	s.Log.Info("sandbox fault rule deleted", "user", v.Actor.User.ID, "rule", id)
	return redirect(w, r, "/console/sandbox", "deleted")
}

// resetConformance forgets what the account's keys sent.
func (s *Server) resetConformance(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !s.Sandbox || s.Conformance == nil {
		return errs.NotFoundf("sandbox", "This page exists only on a server started with --sandbox.")
	}
	s.Conformance.Reset(v.Actor.Account.ID, 0)
	return redirect(w, r, "/console/sandbox", "deleted")
}
