package console

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/clock"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/listq"
	"github.com/certorder/certorder/internal/store"
)

// ---- audit log

type auditRow struct {
	At, User, Action, Object, Detail string
}

type auditData struct {
	Rows  []auditRow
	Page  pager
	Users []option
}

// audit pages through the account's audit log, newest first, filtered by
// user, action (a prefix ending in "." takes a family: "order."), object
// and date range (the API's date filter grammar).
func (s *Server) audit(w http.ResponseWriter, r *http.Request, v *visit) error {
	q := listQuery(r.URL.Query())
	ctx := r.Context()
	d := &auditData{}
	users, _, err := s.Accounts.Users(ctx, v.Actor, store.UserFilter{}, store.Page{Limit: 500})
	if err != nil {
		return err
	}
	for _, u := range users {
		d.Users = append(d.Users, option{strconv.FormatInt(u.ID, 10), u.Username})
	}
	lp, err := listq.Parse(q, nil)
	var list errs.List
	list.Add(err)
	f := store.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Object: strings.TrimSpace(q.Get("object"))}
	if u := q.Get("user"); u != "" {
		n, err := strconv.ParseInt(u, 10, 64)
		if err != nil || n < 0 {
			list.Add(errs.InvalidValue("user", "Choose a user from the list."))
		}
		f.UserID = n
	}
	if at := strings.TrimSpace(q.Get("date")); at != "" {
		tr, err := listq.TimeRange(at)
		if err != nil {
			list.Add(errs.InvalidValue("date", "The date is a day (2026-05-01), a range (2026-05-01...2026-05-31) or >day / <day."))
		}
		f.At = tr
	}
	if err := list.Err(); err != nil {
		return s.formFailureQuery(w, r, v, "audit", err, d)
	}
	events, total, err := s.Store.AuditLog(ctx, v.Actor.Account.ID, f, lp.Page)
	if err != nil {
		return errs.Internalf(err, "read audit log")
	}
	for _, e := range events {
		d.Rows = append(d.Rows, auditRow{At: e.At.UTC().Format("2006-01-02 15:04:05 UTC"), User: s.userName(ctx, e.AccountID, e.UserID),
			Action: e.Action, Object: e.Object, Detail: e.Detail})
	}
	d.Page = pageOf(q, lp.Page, total, len(events))
	s.render(w, r, v, http.StatusOK, "audit", &view{D: d, Form: q})
	return nil
}

// formFailureQuery is formFailure for a GET form: what was typed is in the
// query string.
func (s *Server) formFailureQuery(w http.ResponseWriter, r *http.Request, v *visit, name string, err error, data any) error {
	e := problem(err)
	if e.Kind != errs.Invalid {
		return err
	}
	s.render(w, r, v, http.StatusBadRequest, name, &view{D: data, Errors: e.Details, Fields: fieldErrors(e.Details, nil), Form: r.URL.Query()})
	return nil
}

// ---- sandbox

type mailRow struct {
	ID                         int64
	Kind, To, Subject, Body    string
	Status, Created, Sent, Err string
}

type sandboxData struct {
	Now, Wall, Offset string
	Mail              []mailRow
	Page              pager
	faultsData
}

// sandbox shows the sandbox's business clock and its outbox (what GET
// /sandbox/clock and /sandbox/mail answer).
func (s *Server) sandbox(w http.ResponseWriter, r *http.Request, v *visit) error {
	d, err := s.sandboxData(r, v)
	if err != nil {
		return err
	}
	s.render(w, r, v, http.StatusOK, "sandbox", &view{D: d, Form: r.URL.Query()})
	return nil
}

func (s *Server) sandboxData(r *http.Request, v *visit) (*sandboxData, error) {
	if !s.Sandbox || s.Travel == nil {
		return nil, errs.NotFoundf("sandbox", "This page exists only on a server started with --sandbox.")
	}
	ctx := r.Context()
	off, err := s.Travel.Offset(ctx)
	if err != nil {
		return nil, errs.Internalf(err, "read the sandbox clock")
	}
	wall := clock.Now(s.Travel.Base).UTC()
	d := &sandboxData{Now: wall.Add(off).Format("2006-01-02 15:04 UTC"), Wall: wall.Format("2006-01-02 15:04 UTC"), Offset: off.String(),
		faultsData: s.faultsData(v)}
	q := listQuery(r.URL.Query())
	lp, err := listq.Parse(q, nil)
	if err != nil {
		return nil, err
	}
	list, total, err := s.Store.ListMail(ctx, store.MailFilter{AccountID: v.Actor.Account.ID, Recipient: q.Get("recipient"), Page: lp.Page})
	if err != nil {
		return nil, errs.Internalf(err, "list the sandbox outbox")
	}
	for _, m := range list {
		row := mailRow{ID: m.ID, Kind: m.Kind, To: m.Recipient, Subject: m.Subject, Body: m.Body, Status: "waiting", Created: date(m.CreatedAt), Err: m.LastError}
		switch {
		case m.SentAt != nil:
			row.Status, row.Sent = "sent", date(*m.SentAt)
		case m.GivenUpAt != nil:
			row.Status = "given up"
		}
		d.Mail = append(d.Mail, row)
	}
	d.Page = pageOf(q, lp.Page, total, len(list))
	return d, nil
}

// moveClock moves the sandbox's business time forward, by a duration
// ("720h", "30d") or to a time; never back.
func (s *Server) moveClock(w http.ResponseWriter, r *http.Request, v *visit) error {
	if !s.Sandbox || s.Travel == nil {
		return errs.NotFoundf("sandbox", "This page exists only on a server started with --sandbox.")
	}
	ctx := r.Context()
	var err error
	var off time.Duration
	switch adv, to := strings.TrimSpace(r.PostFormValue("advance")), strings.TrimSpace(r.PostFormValue("to")); {
	case adv != "" && to != "":
		err = errs.InvalidValue("advance", "Give either a duration or a time, not both.")
	case adv != "":
		d, perr := clock.ParseAdvance(adv)
		if perr != nil {
			err = errs.InvalidValue("advance", "The duration is like 720h or 30d.")
			break
		}
		off, err = s.Travel.Advance(ctx, d)
	case to != "":
		t, perr := time.Parse("2006-01-02", to)
		if perr != nil {
			err = errs.InvalidValue("to", "The time is a day like 2027-01-01.")
			break
		}
		off, err = s.Travel.AdvanceTo(ctx, t)
	default:
		err = errs.MissingField("advance")
	}
	if err != nil {
		r.URL.RawQuery = ""
		d, derr := s.sandboxData(r, v)
		if derr != nil {
			return derr
		}
		return s.formFailure(w, r, v, "sandbox", err, d, nil)
	}
	s.Log.InfoContext(r.Context(), "sandbox clock moved", "user", v.Actor.User.ID, "offset", off.String())
	return redirect(w, r, "/console/sandbox", "moved")
}

// ---- the caller's own account

type accountData struct {
	User       *store.User
	Role       string
	HasTOTP    bool
	TOTPKey    string
	TOTPURI    string
	Enrolling  bool
	CanTOTP    bool
	Containers string
}

func (s *Server) accountData(r *http.Request, v *visit) *accountData {
	u := v.Actor.User
	d := &accountData{User: u, Role: account.RoleNames[u.AccessRole], CanTOTP: s.Accounts.Box != nil}
	if c, err := s.Store.Credential(r.Context(), u.AccountID, u.ID); err == nil {
		d.HasTOTP = c.TOTPEnabled
	}
	return d
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, v *visit) error {
	s.render(w, r, v, http.StatusOK, "account", s.accountData(r, v))
	return nil
}

// changePassword sets the caller's password after checking the current
// one (a session left open on a shared screen does not give the password
// away); the caller's other sessions end.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, v *visit) error {
	d := s.accountData(r, v)
	u := v.Actor.User
	if _, _, err := s.Accounts.SignIn(r.Context(), u.Username, r.PostFormValue("current"), s.wallNow()); err != nil {
		e := problem(err)
		if e.Kind == errs.Unauthorized {
			err = errs.InvalidValue("current", "The current password is wrong.")
		}
		return s.formFailure(w, r, v, "account", err, d, nil)
	}
	if r.PostFormValue("password") != r.PostFormValue("confirm") {
		return s.formFailure(w, r, v, "account", errs.InvalidValue("confirm", "The two new passwords differ."), d, nil)
	}
	if err := s.Accounts.SetPassword(r.Context(), v.Actor, u.ID, r.PostFormValue("password"), v.Session.ID); err != nil {
		return s.formFailure(w, r, v, "account", err, d, nil)
	}
	return redirect(w, r, "/console/account", "password")
}

// startTOTP shows a new seed once, to be typed or imported into an app,
// and asks for a code from it.
func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request, v *visit) error {
	d := s.accountData(r, v)
	seed, err := s.Accounts.StartTOTP(r.Context(), v.Actor)
	if err != nil {
		return s.formFailure(w, r, v, "account", err, d, nil)
	}
	d.Enrolling, d.TOTPKey, d.TOTPURI = true, account.TOTPKey(seed), account.TOTPURI("certorder", v.Actor.User.Username, seed)
	s.render(w, r, v, http.StatusOK, "account", d)
	return nil
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, v *visit) error {
	if err := s.Accounts.ConfirmTOTP(r.Context(), v.Actor, r.PostFormValue("code"), s.wallNow()); err != nil {
		d := s.accountData(r, v)
		d.Enrolling = true
		return s.formFailure(w, r, v, "account", err, d, nil)
	}
	return redirect(w, r, "/console/account", "totp")
}

// ownTOTPOff turns the caller's second factor off once a current code
// proves they hold it, as a new password needs the current one: a session
// left open on a shared screen does not make the password alone enough
// from then on. A lost phone is an administrator's to turn off.
func (s *Server) ownTOTPOff(w http.ResponseWriter, r *http.Request, v *visit) error {
	if d := s.accountData(r, v); d.HasTOTP {
		err := s.Accounts.CheckSecondFactor(r.Context(), v.Actor.User, r.PostFormValue("code"), s.wallNow())
		if e := problem(err); err != nil && e.Kind == errs.Unauthorized {
			err = errs.InvalidValue("code", "That code is not the app's current one, or was used already.")
		}
		if err != nil {
			return s.formFailure(w, r, v, "account", err, d, nil)
		}
	}
	if err := s.Accounts.TurnOffTOTP(r.Context(), v.Actor, v.Actor.User.ID); err != nil {
		return s.formFailure(w, r, v, "account", err, s.accountData(r, v), nil)
	}
	return redirect(w, r, "/console/account", "totp-off")
}
