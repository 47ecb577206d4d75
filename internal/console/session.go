package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/mail"
	"github.com/certorder/certorder/internal/secret"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/web"
)

// cookieName is the session cookie. It is Secure (browsers keep and send
// it over HTTPS, and to loopback addresses, which they trust as secure),
// HttpOnly (no script reads it), SameSite=Lax (no other site's form or
// script request carries it; a link from a mail still opens the signed-in
// page) and scoped to the console's path.
const cookieName = "certorder_console"

// pendingLife bounds a sign-in waiting for its TOTP code.
const pendingLife = 5 * time.Minute

// touchEvery: a session's last page is recorded at most this often, not
// on every page (a write per page would be the console's main load).
const touchEvery = time.Minute

func (s *Server) wallNow() time.Time { return s.WallNow().UTC() }

// sessionOf finds the live session of the request's cookie: nil when there
// is none, it is unknown, ended, expired or idle too long.
func (s *Server) sessionOf(r *http.Request) (*store.Session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" || len(c.Value) > 64 {
		return nil, nil
	}
	sess, err := s.Store.SessionByHash(r.Context(), secret.Hash(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, errs.Internalf(err, "read session")
	}
	now := s.wallNow()
	if sess.EndedAt != nil || !now.Before(sess.ExpiresAt) || !now.Before(sess.LastSeenAt.Add(s.IdleTimeout)) {
		return nil, nil
	}
	return sess, nil
}

// readSession is the complete session of the request and its user as an
// actor with an unrestricted key: the user's role is read on every page,
// so that a changed role or a deleted user takes effect at once.
func (s *Server) readSession(w http.ResponseWriter, r *http.Request) (*store.Session, account.Actor, error) {
	sess, err := s.sessionOf(r)
	if err != nil || sess == nil || !sess.SecondFactor {
		return nil, account.Actor{}, err
	}
	actor, ok, err := s.actorOf(r.Context(), sess)
	if err != nil || !ok {
		return nil, account.Actor{}, err
	}
	if now := s.wallNow(); now.Sub(sess.LastSeenAt) >= touchEvery {
		err := s.Store.InTx(r.Context(), func(tx store.Tx) error { return tx.TouchSession(r.Context(), sess.ID, now) })
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, account.Actor{}, errs.Internalf(err, "touch session")
		}
	}
	return sess, actor, nil
}

// actorOf is the session's user as the permission table sees them; ok is
// false when the user may no longer sign in.
func (s *Server) actorOf(ctx context.Context, sess *store.Session) (account.Actor, bool, error) {
	u, err := s.Store.User(ctx, sess.AccountID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return account.Actor{}, false, nil
	}
	if err != nil {
		return account.Actor{}, false, errs.Internalf(err, "read user of session")
	}
	if u.Status != store.UserActive || u.APIOnly {
		return account.Actor{}, false, nil
	}
	acct, err := s.Store.Account(ctx, sess.AccountID)
	if err != nil {
		return account.Actor{}, false, errs.Internalf(err, "read account of session")
	}
	return account.As(acct, u, account.KeyRoleInherit), true, nil
}

func (s *Server) setCookie(w http.ResponseWriter, value string, expires time.Time) {
	c := &http.Cookie{Name: cookieName, Value: value, Path: Prefix, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
	if value == "" {
		c.MaxAge = -1
	} else {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

// startSession makes a session for u, complete or waiting for its code,
// and gives the browser its cookie. A fresh value at every sign-in: a
// value planted before it (session fixation) is never signed in.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, u *store.User, complete bool) (*store.Session, error) {
	value, hash, err := secret.New()
	if err != nil {
		return nil, errs.Internalf(err, "session secret")
	}
	now := s.wallNow()
	sess := &store.Session{AccountID: u.AccountID, UserID: u.ID, TokenHash: hash, SecondFactor: complete,
		CreatedAt: now, ExpiresAt: now.Add(s.SessionLife), LastSeenAt: now}
	if !complete {
		sess.ExpiresAt = now.Add(pendingLife)
	}
	if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.CreateSession(ctx, sess) }); err != nil {
		return nil, errs.Internalf(err, "create session")
	}
	s.setCookie(w, value, sess.ExpiresAt)
	return sess, nil
}

func (s *Server) endSession(ctx context.Context, sess *store.Session) error {
	if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.EndSession(ctx, sess.ID, s.wallNow()) }); err != nil {
		return errs.Internalf(err, "end session")
	}
	return nil
}

// nextPage is where a sign-in continues: a console page the sign-in page
// was sent from, never another site (an open redirect).
func nextPage(v string) string {
	if strings.HasPrefix(v, Prefix) && !strings.HasPrefix(v, "//") && !strings.ContainsAny(v, "\\\r\n") &&
		!strings.HasPrefix(v, "/console/signin") {
		return v
	}
	return Prefix
}

// The sign-in forms' tokens are bound to the browser only: there is no
// session yet (the pending one of the code form excepted).
const signInScope = "console sign-in"

type signInData struct {
	CSRF, Next, Username string
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request) {
	if sess, _, _ := s.readSession(w, r); sess != nil {
		http.Redirect(w, r, nextPage(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "signin", &signInData{CSRF: web.FormToken(w, r, signInScope), Next: nextPage(r.URL.Query().Get("next"))})
}

func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if !web.CheckForm(r, signInScope) {
		s.render(w, r, nil, http.StatusForbidden, "message", web.Message{Title: "Form expired",
			Text: "This form was not sent from this browser's sign-in page. Open the page again and sign in from there."})
		return
	}
	username, next := strings.TrimSpace(r.PostFormValue("username")), nextPage(r.PostFormValue("next"))
	u, cred, err := s.Accounts.SignIn(r.Context(), username, r.PostFormValue("password"), s.wallNow())
	if err != nil {
		s.signInFailed(w, r, "signin", &signInData{CSRF: web.FormToken(w, r, signInScope), Next: next, Username: username}, err)
		return
	}
	if old, _ := s.sessionOf(r); old != nil {
		_ = s.endSession(r.Context(), old)
	}
	if _, err := s.startSession(r.Context(), w, u, !cred.TOTPEnabled); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if cred.TOTPEnabled {
		http.Redirect(w, r, "/console/signin/code?next="+url.QueryEscape(next), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signInFailed shows the form again with what went wrong: the same words
// for an unknown name and a wrong password, and how long to wait when
// the name is throttled.
func (s *Server) signInFailed(w http.ResponseWriter, r *http.Request, page string, data any, err error) {
	e := problem(err)
	switch e.Kind {
	case errs.Unauthorized, errs.RateLimited:
	default:
		s.fail(w, r, nil, err)
		return
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.RetryAfter+time.Second-1)/time.Second)))
	}
	status := http.StatusUnauthorized
	if e.Kind == errs.RateLimited {
		status = http.StatusTooManyRequests
	}
	s.render(w, r, nil, status, page, &view{D: data, Errors: e.Details})
}

type codeData struct {
	CSRF, Next string
}

// pendingSession is the request's session waiting for its code.
func (s *Server) pendingSession(r *http.Request) (*store.Session, error) {
	sess, err := s.sessionOf(r)
	if err != nil || sess == nil || sess.SecondFactor {
		return nil, err
	}
	return sess, nil
}

func (s *Server) codePage(w http.ResponseWriter, r *http.Request) {
	sess, err := s.pendingSession(r)
	if err != nil || sess == nil {
		http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
		return
	}
	s.render(w, r, nil, http.StatusOK, "code", &codeData{CSRF: web.FormToken(w, r, formScope(sess)), Next: nextPage(r.URL.Query().Get("next"))})
}

func (s *Server) code(w http.ResponseWriter, r *http.Request) {
	sess, err := s.pendingSession(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if sess == nil || !web.CheckForm(r, formScope(sess)) {
		s.render(w, r, nil, http.StatusForbidden, "message", web.Message{Title: "Sign in again",
			Text: "This sign-in has expired or was not started in this browser. Sign in again."})
		return
	}
	next := nextPage(r.PostFormValue("next"))
	u, err := s.Store.User(r.Context(), sess.AccountID, sess.UserID)
	if err != nil {
		s.fail(w, r, nil, errs.Internalf(err, "read user of pending session"))
		return
	}
	if err := s.Accounts.CheckSecondFactor(r.Context(), u, r.PostFormValue("code"), s.wallNow()); err != nil {
		s.signInFailed(w, r, "code", &codeData{CSRF: web.FormToken(w, r, formScope(sess)), Next: next}, err)
		return
	}
	// The complete session gets a value of its own: the pending one's
	// value was issued before the second factor was proven.
	if err := s.endSession(r.Context(), sess); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if _, err := s.startSession(r.Context(), w, u, true); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signOut ends the session for good: its cookie is refused from now on,
// whoever holds a copy.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	sess, err := s.sessionOf(r)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if sess != nil {
		if !web.CheckForm(r, formScope(sess)) {
			s.render(w, r, nil, http.StatusForbidden, "message", web.Message{Title: "Form expired",
				Text: "Sign out from a console page of this browser."})
			return
		}
		if err := s.endSession(r.Context(), sess); err != nil {
			s.fail(w, r, nil, err)
			return
		}
	}
	s.setCookie(w, "", time.Time{})
	http.Redirect(w, r, "/console/signin?done=bye", http.StatusSeeOther)
}

// ---- password links

// MailKindPassword is the outbox kind of a password link.
const MailKindPassword = "console_password"

// linkKind is the link_tokens kind of a password link; its subject is the
// user's id.
const linkKind = "console_password"

// passwordLinkLife is how long a mailed password link works.
const passwordLinkLife = 24 * time.Hour

type passwordPayload struct {
	UserID int64 `json:"user_id"`
}

// PasswordMail is what the console_password templates are given.
type PasswordMail struct {
	// FirstName and Username are the user's; Link sets the password once
	// until ExpiresAt.
	FirstName, Username, Link, ExpiresAt string
}

func init() {
	mail.DefineKind(MailKindPassword, PasswordMail{FirstName: "Jane", Username: "jane.doe",
		Link: "https://certorder.example/console/password/abcdefghijklmnopqrstuvwxyz234567", ExpiresAt: "Mon, 04 Jan 2027 10:00:00 UTC"},
		PasswordMail{Username: "ops", Link: "https://certorder.example/console/password/abcdefghijklmnopqrstuvwxyz234567",
			ExpiresAt: "Mon, 04 Jan 2027 10:00:00 UTC"})
}

// RenderPasswordMail makes a password link's message when it is sent: the
// user must still be one who signs in; a fresh single-use link replaces
// the ones mailed before.
func (s *Server) RenderPasswordMail(ctx context.Context, m *store.OutboxMail) (mail.Message, error) {
	var p passwordPayload
	if err := json.Unmarshal([]byte(m.Payload), &p); err != nil {
		return mail.Message{}, fmt.Errorf("password mail %d: payload: %w", m.ID, err)
	}
	u, err := s.Store.User(ctx, m.AccountID, p.UserID)
	if errors.Is(err, store.ErrNotFound) || err == nil && (u.Status != store.UserActive || u.APIOnly) {
		return mail.Message{}, mail.ErrDrop
	}
	if err != nil {
		return mail.Message{}, err
	}
	value, hash, err := secret.New()
	if err != nil {
		return mail.Message{}, err
	}
	now := s.wallNow()
	subject := strconv.FormatInt(u.ID, 10)
	tok := &store.LinkToken{AccountID: u.AccountID, Kind: linkKind, Subject: subject, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(passwordLinkLife)}
	err = s.Store.InTx(ctx, func(tx store.Tx) error {
		if err := tx.ExpireLinkTokens(ctx, u.AccountID, 0, linkKind, subject, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err // not found: no earlier link to end
		}
		return tx.CreateLinkToken(ctx, tok)
	})
	if err != nil {
		return mail.Message{}, fmt.Errorf("record password link: %w", err)
	}
	link := strings.TrimRight(s.URL, "/") + "/console/password/" + value
	undelivered := func(ctx context.Context) {
		if err := s.Store.InTx(ctx, func(tx store.Tx) error { return tx.DeleteLinkToken(ctx, tok.AccountID, tok.ID) }); err != nil {
			s.Log.WarnContext(ctx, "drop undelivered password link", "err", err)
		}
	}
	// In the user's language; a user without one gets English (the
	// templates' fallback): a password link belongs to no order whose
	// locale could stand in.
	msg, err := s.Templates.Render(MailKindPassword, u.Locale, PasswordMail{FirstName: u.FirstName, Username: u.Username,
		Link: link, ExpiresAt: tok.ExpiresAt.UTC().Format(time.RFC1123)})
	if err != nil {
		undelivered(ctx)
		return mail.Message{}, err
	}
	msg.Undelivered = undelivered
	return msg, nil
}

// linkUser is the user a password link is for, or nil when the link is
// unknown, used or expired.
func (s *Server) linkUser(ctx context.Context, value string) (*store.LinkToken, *store.User, error) {
	tok, err := s.Store.LinkTokenByHash(ctx, linkKind, secret.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, errs.Internalf(err, "read password link")
	}
	if !tok.Usable(s.wallNow()) {
		return nil, nil, nil
	}
	id, _ := strconv.ParseInt(tok.Subject, 10, 64)
	u, err := s.Store.User(ctx, tok.AccountID, id)
	if errors.Is(err, store.ErrNotFound) || err == nil && (u.Status != store.UserActive || u.APIOnly) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, errs.Internalf(err, "read user of password link")
	}
	return tok, u, nil
}

type passwordLinkData struct {
	CSRF, Username string
}

func linkScope(value string) string { return "console password\x00" + string(secret.Hash(value)) }

var deadLink = web.Message{Title: "Link not valid", Text: "This link is unknown, used or expired. Ask an administrator for a new one."}

func (s *Server) passwordLinkPage(w http.ResponseWriter, r *http.Request) {
	value := r.PathValue("secret")
	_, u, err := s.linkUser(r.Context(), value)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if u == nil {
		s.render(w, r, nil, http.StatusNotFound, "message", deadLink)
		return
	}
	s.render(w, r, nil, http.StatusOK, "password", &passwordLinkData{CSRF: web.FormToken(w, r, linkScope(value)), Username: u.Username})
}

func (s *Server) passwordLink(w http.ResponseWriter, r *http.Request) {
	value := r.PathValue("secret")
	if !web.CheckForm(r, linkScope(value)) {
		s.render(w, r, nil, http.StatusForbidden, "message", web.Message{Title: "Form expired", Text: "Open the link again and send the form from there."})
		return
	}
	tok, u, err := s.linkUser(r.Context(), value)
	if err != nil {
		s.fail(w, r, nil, err)
		return
	}
	if u == nil {
		s.render(w, r, nil, http.StatusNotFound, "message", deadLink)
		return
	}
	data := &passwordLinkData{CSRF: web.FormToken(w, r, linkScope(value)), Username: u.Username}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("confirm") {
		s.render(w, r, nil, http.StatusBadRequest, "password", &view{D: data, Errors: []errs.Detail{{Code: "invalid_value:confirm",
			Message: "The two passwords differ."}}, Fields: map[string]string{"confirm": "The two passwords differ."}})
		return
	}
	if err := account.CheckPasswordPolicy(u, pw); err != nil {
		e := problem(err)
		s.render(w, r, nil, http.StatusBadRequest, "password", &view{D: data, Errors: e.Details, Fields: fieldErrors(e.Details, nil)})
		return
	}
	// The link is spent before the password is set: of two forms sent at
	// once, one sets it.
	var used bool
	err = s.Store.InTx(r.Context(), func(tx store.Tx) (err error) {
		used, err = tx.UseLinkToken(r.Context(), tok.AccountID, tok.ID, s.wallNow())
		return err
	})
	if err != nil {
		s.fail(w, r, nil, errs.Internalf(err, "use password link"))
		return
	}
	if !used {
		s.render(w, r, nil, http.StatusNotFound, "message", deadLink)
		return
	}
	acct, err := s.Store.Account(r.Context(), u.AccountID)
	if err != nil {
		s.fail(w, r, nil, errs.Internalf(err, "read account"))
		return
	}
	// The link is its recipient's proof: they set their own password.
	if err := s.Accounts.SetPassword(r.Context(), account.As(acct, u, account.KeyRoleInherit), u.ID, pw, 0); err != nil {
		s.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/console/signin?done=set", http.StatusSeeOther)
}
