package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// FormField is the name of the hidden field that carries a form's token.
const FormField = "csrf_token"

// formCookie holds the browser's form nonce: random, HttpOnly and
// SameSite=Strict, so that no other site can read it or send it along.
// Over HTTPS it is hostFormCookie instead: browsers keep a __Host- cookie
// only if it is Secure, for the path /, without a Domain, and set over
// HTTPS by the host itself, so neither a sibling host (a cookie for the
// parent domain) nor anyone who can answer the host's plain-HTTP requests
// can plant a nonce of their choosing beside it, or overwrite it.
const (
	formCookie     = "certorder_form"
	hostFormCookie = "__Host-" + formCookie
)

type httpsKey struct{}

// WithHTTPS marks r as reached by the browser over HTTPS though it came to
// certorder's plain listener: a reverse proxy the operator trusts ended
// TLS and said so.
func WithHTTPS(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), httpsKey{}, true))
}

// HTTPS reports whether the browser reached r over HTTPS.
func HTTPS(r *http.Request) bool {
	return r.TLS != nil || r.Context().Value(httpsKey{}) != nil
}

// formCookieName is the nonce cookie of r's scheme: only the __Host- one
// counts over HTTPS.
func formCookieName(r *http.Request) string {
	if HTTPS(r) {
		return hostFormCookie
	}
	return formCookie
}

// A form token binds a state-changing form to two things an attacker on
// another site has neither of: the browser's form nonce (a cookie it
// cannot read) and the page's scope (the link secret of an emailed link,
// or the session of a console page). No server-wide key is needed, so
// replicas check each other's tokens without sharing one.
func formToken(nonce, scope string) string {
	m := hmac.New(sha256.New, []byte(nonce))
	m.Write([]byte("certorder form\x00"))
	m.Write([]byte(scope))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// FormToken returns the token a form of scope carries, setting the
// browser's nonce cookie first if it has none.
func FormToken(w http.ResponseWriter, r *http.Request, scope string) string {
	nonce := ""
	name := formCookieName(r)
	if c, err := r.Cookie(name); err == nil && len(c.Value) >= 32 {
		nonce = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b) // crypto/rand.Read never fails
		nonce = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{
			Name:     name,
			Value:    nonce,
			Path:     "/",
			HttpOnly: true,
			Secure:   HTTPS(r),
			SameSite: http.SameSiteStrictMode,
		})
	}
	return formToken(nonce, scope)
}

// CheckForm reports whether a posted form carries the token of scope for
// the browser that sent it. It parses the form.
func CheckForm(r *http.Request, scope string) bool {
	c, err := r.Cookie(formCookieName(r))
	if err != nil || len(c.Value) < 32 {
		return false
	}
	got := r.PostFormValue(FormField)
	want := formToken(c.Value, scope)
	return hmac.Equal([]byte(got), []byte(want))
}
