package api

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/revocation"
)

// serveCACert serves the DER certificates that AIA caIssuers URLs name.
func (s *Server) serveCACert(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	id, ok := strings.CutSuffix(file, ".crt")
	if !ok {
		writeError(w, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
		return
	}
	var der []byte
	if id == "root" {
		der = s.CA.Root().Raw
	} else if iss, ok := s.CA.Issuer(id); ok {
		der = iss.Cert.Raw
	} else {
		writeError(w, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
		return
	}
	w.Header().Set("Content-Type", "application/pkix-cert")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(der)
}

// crlMaxAge caps how long HTTP caches keep a CRL: a revocation shows in a
// rebuilt CRL within moments, and in caches within this.
const crlMaxAge = 5 * time.Minute

// serveCRL serves each issuer's CRL (and the root's) as DER: the last one
// internal/revocation built, so a large CRL is never signed per request.
func (s *Server) serveCRL(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".crl")
	if !ok {
		writeError(w, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
		return
	}
	crl, err := s.Revocation.CRLs.Get(r.Context(), id)
	if errors.Is(err, revocation.ErrUnknownIssuer) {
		writeError(w, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
		return
	}
	if err != nil {
		s.Log.ErrorContext(r.Context(), "sign CRL", "issuer", id, "err", err)
		writeError(w, errs.New(errs.Unavailable, "crl_unavailable", "The CRL could not be produced."))
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/pkix-crl")
	h.Set("Last-Modified", crl.ThisUpdate.UTC().Format(http.TimeFormat))
	h.Set("Cache-Control", "public, max-age="+seconds(min(crlMaxAge, crl.NextUpdate.Sub(s.Now()))))
	w.Write(crl.DER)
}

// maxOCSPRequest bounds a POSTed OCSP request; one CertID with a nonce is
// about a hundred bytes.
const maxOCSPRequest = 16 << 10

// serveOCSPGet answers GET {OCSPURL}/{url-encoded base64 DER request}
// (RFC 6960 appendix A.1). The request is taken from the escaped path, so
// a "/" or "+" of the base64 survives whether or not the client encoded it.
func (s *Server) serveOCSPGet(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/ocsp/")
	enc, err := url.PathUnescape(raw)
	var der []byte
	if err == nil {
		der, err = decodeOCSPBase64(enc)
	}
	if err != nil || len(der) == 0 {
		writeOCSP(w, revocation.Answer{DER: ocsp.MalformedRequestErrorResponse, Status: revocation.StatusError}, false, s.Now())
		return
	}
	writeOCSP(w, s.Revocation.OCSP.Respond(r.Context(), der), true, s.Now())
}

// serveOCSPPost answers POST {OCSPURL} with an application/ocsp-request body.
func (s *Server) serveOCSPPost(w http.ResponseWriter, r *http.Request) {
	der, err := io.ReadAll(io.LimitReader(r.Body, maxOCSPRequest+1))
	if err != nil || len(der) == 0 || len(der) > maxOCSPRequest {
		writeOCSP(w, revocation.Answer{DER: ocsp.MalformedRequestErrorResponse, Status: revocation.StatusError}, false, s.Now())
		return
	}
	writeOCSP(w, s.Revocation.OCSP.Respond(r.Context(), der), false, s.Now())
}

// decodeOCSPBase64 accepts standard base64 (what RFC 6960 says), with or
// without padding, and the URL-safe alphabet some clients send.
func decodeOCSPBase64(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// writeOCSP sends an OCSP answer. Error statuses are answered with 200 as
// well: the OCSP status inside is what clients read. GET answers carry the
// RFC 5019 section 6 caching headers; a POST answer is not cacheable.
func writeOCSP(w http.ResponseWriter, a revocation.Answer, cacheable bool, now time.Time) {
	h := w.Header()
	h.Set("Content-Type", "application/ocsp-response")
	if cacheable && a.MaxAge > 0 {
		sum := sha256.Sum256(a.DER)
		h.Set("Cache-Control", "public, no-transform, must-revalidate, max-age="+seconds(a.MaxAge))
		h.Set("Last-Modified", a.ThisUpdate.UTC().Format(http.TimeFormat))
		h.Set("Expires", now.Add(a.MaxAge).UTC().Format(http.TimeFormat))
		h.Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	} else {
		h.Set("Cache-Control", "no-cache, no-store")
	}
	h.Set("Content-Length", strconv.Itoa(len(a.DER)))
	w.WriteHeader(http.StatusOK)
	w.Write(a.DER)
}

func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatInt(int64(d/time.Second), 10)
}
