package api

import (
	"math/big"
	"net/http"
	"strings"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/errs"
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

// crlLifetime is how long a served CRL is reused before a fresh one is
// signed. The revocation issue replaces this with CRLs regenerated on
// revocation; until then no certificate can be revoked, so every CRL is
// empty and a periodic re-signing keeps nextUpdate in the future.
const crlLifetime = time.Hour

// serveCRL serves each issuer's CRL (and the root's) as DER.
func (s *Server) serveCRL(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".crl")
	if !ok {
		writeError(w, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
		return
	}
	s.crlMu.Lock()
	defer s.crlMu.Unlock()
	now := s.Now()
	if c, ok := s.crls[id]; ok && now.Before(c.expires) {
		writeCRL(w, c.der)
		return
	}
	// CRL numbers must grow: the signing second does, across restarts too.
	number := big.NewInt(now.Unix())
	var der []byte
	var err error
	if id == "root" {
		der, err = s.CA.RootCRL(number, 0)
	} else if iss, ok := s.CA.Issuer(id); ok {
		der, err = s.CA.CRL(iss, []ca.Revoked{}, number, 0)
	} else {
		writeError(w, errs.New(errs.NotFound, "not_found|route", "The specified route was not found."))
		return
	}
	if err != nil {
		s.Log.Error("sign CRL", "issuer", id, "err", err)
		writeError(w, errs.New(errs.Unavailable, "crl_unavailable", "The CRL could not be produced."))
		return
	}
	s.crls[id] = cachedCRL{der: der, expires: now.Add(crlLifetime)}
	writeCRL(w, der)
}

func writeCRL(w http.ResponseWriter, der []byte) {
	w.Header().Set("Content-Type", "application/pkix-crl")
	w.Write(der)
}
