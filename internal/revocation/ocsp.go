package revocation

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
)

// OCSPMaxAge caps how long HTTP caches may keep a response (Cache-Control
// max-age), so a revocation reaches relying parties behind caches within
// the hour even though responses are valid for OCSPValidity.
const OCSPMaxAge = time.Hour

// StatusError marks an Answer that carries an OCSP error status
// (malformedRequest, internalError, unauthorized) instead of a signed
// response.
const StatusError = -1

// Answer is what the responder returns for one request.
type Answer struct {
	DER []byte
	// Status is ocsp.Good, ocsp.Revoked or StatusError.
	Status     int
	ThisUpdate time.Time // zero for an error answer
	NextUpdate time.Time // zero for an error answer
	// MaxAge is how long an HTTP cache may keep the answer; zero means
	// it must not (errors, unassigned serials included).
	MaxAge time.Duration
}

// Responder answers OCSP requests (RFC 6960, with the RFC 5019 profile:
// one certificate per request, no nonce) from the store, signed by the
// certificate's issuing intermediate. Good and revoked responses are
// cached per serial until half their validity has passed or a revocation
// of their issuer is signalled.
type Responder struct {
	cfg Config

	mu    sync.Mutex
	cache map[cacheKey]*cachedAnswer
	gens  map[string]uint64 // invalidations per issuer ID
}

type cacheKey struct {
	issuer string
	serial string
	hash   crypto.Hash // the CertID hash, echoed in the response
}

type cachedAnswer struct {
	ans       Answer
	refreshAt time.Time
}

func newResponder(cfg Config) *Responder {
	return &Responder{cfg: cfg, cache: map[cacheKey]*cachedAnswer{}, gens: map[string]uint64{}}
}

func errorAnswer(der []byte) Answer { return Answer{DER: der, Status: StatusError} }

// Respond answers one DER OCSP request. It always returns something to
// send: a signed response (good or revoked), or an unsigned error status
// (malformedRequest for what does not parse, unauthorized for an issuer
// certorder does not have and for a serial the issuer never assigned, as
// RFC 6960 section 2.3 says, internalError when the store or the signer
// fails).
func (r *Responder) Respond(ctx context.Context, der []byte) Answer {
	req, err := ocsp.ParseRequest(der)
	if err != nil || req.SerialNumber == nil || req.SerialNumber.Sign() <= 0 {
		return errorAnswer(ocsp.MalformedRequestErrorResponse)
	}
	iss, ok := r.cfg.CA.MatchOCSPIssuer(req.HashAlgorithm, req.IssuerNameHash, req.IssuerKeyHash)
	if !ok {
		return errorAnswer(ocsp.UnauthorizedErrorResponse)
	}
	// One clock reading, to the second, is thisUpdate and producedAt
	// both (RFC 6960 section 2.4: thisUpdate at or before producedAt).
	now := r.cfg.Now().UTC().Truncate(time.Second)
	key := cacheKey{issuer: iss.ID, serial: ca.SerialHex(req.SerialNumber), hash: req.HashAlgorithm}

	r.mu.Lock()
	if c, ok := r.cache[key]; ok && now.Before(c.refreshAt) {
		ans := c.ans
		r.mu.Unlock()
		ans.MaxAge = min(c.refreshAt.Sub(now), OCSPMaxAge)
		return ans
	}
	gen := r.gens[iss.ID]
	r.mu.Unlock()

	tmpl := ocsp.Response{SerialNumber: req.SerialNumber, IssuerHash: req.HashAlgorithm,
		ThisUpdate: now, ProducedAt: now, NextUpdate: now.Add(r.cfg.OCSPValidity)}
	st, err := r.cfg.Store.SerialStatus(ctx, key.serial)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A serial this issuer never assigned: the BRs (4.9.9) forbid
		// "good", and a signed "unknown" cost a signature per request
		// for serials anyone can make up. It is answered unauthorized
		// (RFC 6960 section 2.3: the responder cannot answer for it
		// authoritatively), unsigned, for nothing — unless it was
		// about to be signed and its certificate was never recorded:
		// revoked, as on the CRL.
		in, aerr := r.cfg.Store.AbandonedIssuance(ctx, key.serial, r.cfg.LeaseNow().Add(-r.cfg.AbandonAfter))
		switch {
		case aerr == nil && strings.EqualFold(in.IssuerID, iss.ID):
			tmpl.Status = ocsp.Revoked
			tmpl.RevokedAt = in.CreatedAt.UTC().Truncate(time.Second)
		case aerr != nil && !errors.Is(aerr, store.ErrNotFound):
			r.cfg.Log.Error("OCSP intent lookup", "serial", key.serial, "err", aerr)
			return errorAnswer(ocsp.InternalErrorErrorResponse)
		default:
			return errorAnswer(ocsp.UnauthorizedErrorResponse)
		}
	case err != nil:
		r.cfg.Log.Error("OCSP status lookup", "serial", key.serial, "err", err)
		return errorAnswer(ocsp.InternalErrorErrorResponse)
	case !strings.EqualFold(st.IssuerID, iss.ID):
		// Issued, but by another intermediate: unassigned for this one.
		return errorAnswer(ocsp.UnauthorizedErrorResponse)
	case st.Revocation != nil:
		tmpl.Status = ocsp.Revoked
		tmpl.RevokedAt = st.Revocation.RevokedAt.UTC().Truncate(time.Second)
		tmpl.RevocationReason = st.Revocation.Reason
	default:
		tmpl.Status = ocsp.Good
	}
	signed, err := r.cfg.CA.SignOCSP(iss, tmpl)
	if err != nil {
		r.cfg.Log.Error("sign OCSP response", "issuer", iss.ID, "serial", key.serial, "err", err)
		return errorAnswer(ocsp.InternalErrorErrorResponse)
	}
	ans := Answer{DER: signed, Status: tmpl.Status, ThisUpdate: tmpl.ThisUpdate, NextUpdate: tmpl.NextUpdate}
	refreshAt := tmpl.ThisUpdate.Add(r.cfg.OCSPValidity / 2)
	ans.MaxAge = min(refreshAt.Sub(now), OCSPMaxAge)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gens[iss.ID] != gen {
		// A revocation of this issuer was signalled while we read: the
		// status may be stale, so it is served once but not kept.
		return ans
	}
	if len(r.cache) >= r.cfg.OCSPMaxCache {
		r.evictLocked(now)
	}
	r.cache[key] = &cachedAnswer{ans: ans, refreshAt: refreshAt}
	return ans
}

// evictLocked makes room: expired entries go first, then arbitrary ones
// until a tenth of the cache is free.
func (r *Responder) evictLocked(now time.Time) {
	for k, c := range r.cache {
		if !now.Before(c.refreshAt) {
			delete(r.cache, k)
		}
	}
	target := r.cfg.OCSPMaxCache - r.cfg.OCSPMaxCache/10 - 1
	for k := range r.cache {
		if len(r.cache) <= target {
			break
		}
		delete(r.cache, k)
	}
}

// Invalidate drops the cached responses of these issuers (of every issuer
// when none is named), so the next request reads the store again.
func (r *Responder) Invalidate(issuerIDs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(issuerIDs) == 0 {
		for _, iss := range r.cfg.CA.Issuers() {
			r.gens[iss.ID]++
		}
		clear(r.cache)
		return
	}
	drop := map[string]bool{}
	for _, id := range issuerIDs {
		if cid, ok := canonicalID(r.cfg.CA, id); ok && cid != RootID {
			r.gens[cid]++
			drop[cid] = true
		}
	}
	if len(drop) == 0 {
		return
	}
	for k := range r.cache {
		if drop[k.issuer] {
			delete(r.cache, k)
		}
	}
}

// cached reports how many responses are cached (tests).
func (r *Responder) cached() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cache)
}
