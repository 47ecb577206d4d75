// Package revocation publishes the revocation status of certorder's
// certificates to relying parties: one CRL per issuer (and the root's),
// rebuilt in the background, and an OCSP responder. It reads revocations
// from the store and signs through internal/ca; it never speaks HTTP (the
// API layer serves what it produces) and never records a revocation (the
// order engine does, then calls Revoked).
package revocation

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
)

// Config is what the publisher needs.
type Config struct {
	CA    *ca.Hierarchy
	Store store.Store
	Log   *slog.Logger
	Now   func() time.Time

	// CRLValidity is nextUpdate - thisUpdate of every CRL; default
	// ca.DefaultCRLValidity (7 days; the BRs allow at most 10).
	CRLValidity time.Duration
	// CRLRefresh is how long a CRL is served before the worker signs a
	// fresh one even without a revocation; default 24h. It must stay well
	// below CRLValidity so relying parties never see a stale CRL.
	CRLRefresh time.Duration
	// CRLRetry is how soon a failed build is retried; default 1 minute.
	CRLRetry time.Duration

	// OCSPValidity is nextUpdate - thisUpdate of every OCSP response;
	// default 24h (the BRs want at least 8 hours, at most 10 days).
	OCSPValidity time.Duration
	// OCSPMaxCache bounds the cached responses; default 100,000.
	OCSPMaxCache int
	// AbandonAfter is how old an issuance intent that no recorded
	// certificate completed must be before CRLs and OCSP answer for its
	// serial as revoked (an issuance in progress completes in well under a
	// second); default 10 minutes.
	AbandonAfter time.Duration
	// WatchEvery is how often the store is asked whether another process
	// on it revoked something (replicas on one PostgreSQL database);
	// default 2 s. This process's own revocations arrive at once through
	// Revoked.
	WatchEvery time.Duration
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CRLValidity <= 0 {
		c.CRLValidity = ca.DefaultCRLValidity
	}
	if c.CRLRefresh <= 0 {
		c.CRLRefresh = 24 * time.Hour
	}
	if c.CRLRefresh > c.CRLValidity/2 {
		c.CRLRefresh = c.CRLValidity / 2
	}
	if c.CRLRetry <= 0 {
		c.CRLRetry = time.Minute
	}
	if c.OCSPValidity <= 0 {
		c.OCSPValidity = 24 * time.Hour
	}
	if c.OCSPMaxCache <= 0 {
		c.OCSPMaxCache = 100_000
	}
	if c.AbandonAfter <= 0 {
		c.AbandonAfter = 10 * time.Minute
	}
	if c.WatchEvery <= 0 {
		c.WatchEvery = 2 * time.Second
	}
}

// Publisher is the CRLs and the OCSP responder of one process.
type Publisher struct {
	CRLs *CRLs
	OCSP *Responder

	cfg   Config
	mu    sync.Mutex // guards stop, done
	stop  chan struct{}
	done  chan struct{}
	known map[string]int64 // revocations per issuer the watcher has seen
}

// New builds the publisher; Start begins its background CRL workers.
func New(cfg Config) *Publisher {
	cfg.defaults()
	return &Publisher{CRLs: newCRLs(cfg), OCSP: newResponder(cfg), cfg: cfg}
}

// Start launches the CRL workers and the watcher of other processes'
// revocations; calling it while they run does nothing.
func (p *Publisher) Start() {
	p.CRLs.Start()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		return
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.watch(p.stop, p.done)
}

// Stop ends the CRL workers and the watcher and waits for them; a build in
// progress finishes first. Calling it twice, or before Start, is harmless.
func (p *Publisher) Stop() {
	p.mu.Lock()
	stop, done := p.stop, p.done
	p.stop, p.done = nil, nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	p.CRLs.Stop()
}

// watch asks the store every WatchEvery how many revocations each issuer
// has; a count that moved (a revocation made by another process on the
// same store, or by this one) refreshes that issuer's CRL and drops its
// cached OCSP answers, so that replicas behind one address agree within
// seconds.
func (p *Publisher) watch(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(p.cfg.WatchEvery)
	defer t.Stop()
	for {
		counts, err := p.cfg.Store.RevocationCounts(context.Background())
		if err != nil {
			p.cfg.Log.Warn("watch revocations", "err", err)
		} else if p.known == nil {
			p.known = counts // the CRLs built from now on cover these
		} else {
			var moved []string
			for id, n := range counts {
				if p.known[id] != n {
					moved = append(moved, id)
				}
			}
			p.known = counts
			if len(moved) > 0 {
				p.Revoked(moved)
			}
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// Revoked is the order engine's hook, called after a revocation of
// certificates from these issuers has committed: their CRLs are rebuilt
// in the background and their cached OCSP responses are dropped. It never
// blocks on signing.
func (p *Publisher) Revoked(issuerIDs []string) {
	p.OCSP.Invalidate(issuerIDs...)
	p.CRLs.Refresh(issuerIDs...)
}

// RootID names the root's CRL, beside the intermediates' IDs.
const RootID = "root"

// canonicalID maps an issuer ID as a URL or the store spells it to the
// hierarchy's spelling; ok is false for an issuer certorder does not have.
func canonicalID(h *ca.Hierarchy, id string) (string, bool) {
	if strings.EqualFold(id, RootID) {
		return RootID, true
	}
	if iss, ok := h.Issuer(id); ok {
		return iss.ID, true
	}
	return "", false
}
