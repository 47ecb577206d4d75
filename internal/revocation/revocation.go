// Package revocation publishes the revocation status of certorder's
// certificates to relying parties: one CRL per issuer (and the root's),
// rebuilt in the background, and an OCSP responder. It reads revocations
// from the store and signs through internal/ca; it never speaks HTTP (the
// API layer serves what it produces) and never records a revocation (the
// order engine does, then calls Revoked).
//
// Of the processes sharing one store, the holder of a lease in the store
// (CRLLease) signs the CRLs and saves them there; every process, the
// holder included, serves the latest saved CRL of each issuer. A process
// alone on its store always holds the lease. OCSP responses are signed by
// each process on demand.
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
	// LeaseNow is the clock issuance intents are dated by (the order
	// engine's LeaseNow), against which AbandonAfter is measured; nil is
	// Now.
	LeaseNow func() time.Time
	// WatchEvery is how often the store is asked whether another process
	// on it revoked something or saved a new CRL (replicas on one
	// PostgreSQL database); default 2 s. This process's own revocations
	// arrive at once through Revoked. A process that does not hold the CRL
	// lease tries to take it this often too.
	WatchEvery time.Duration
	// LeaseTTL is how long the CRL lease lasts unless renewed: how soon
	// another process takes over the CRLs of one that died; default 30 s.
	// LeaseRenew is how often the holder renews it; default LeaseTTL/3,
	// at most LeaseTTL/2.
	LeaseTTL   time.Duration
	LeaseRenew time.Duration
	// Holder names this process in the lease; default host/pid/random.
	Holder string
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.LeaseNow == nil {
		c.LeaseNow = c.Now
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
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = 30 * time.Second
	}
	if c.LeaseRenew <= 0 {
		c.LeaseRenew = c.LeaseTTL / 3
	}
	if c.LeaseRenew > c.LeaseTTL/2 {
		c.LeaseRenew = c.LeaseTTL / 2
	}
	if c.Holder == "" {
		c.Holder = newHolder()
	}
}

// Publisher is the CRLs and the OCSP responder of one process.
type Publisher struct {
	CRLs *CRLs
	OCSP *Responder

	cfg   Config
	lease *lease
	mu    sync.Mutex // guards stop, wg
	stop  chan struct{}
	wg    sync.WaitGroup
	known map[string]int64 // revocations per issuer the watcher has seen
}

// New builds the publisher; Start begins its background CRL workers.
func New(cfg Config) *Publisher {
	cfg.defaults()
	l := &lease{st: cfg.Store, log: cfg.Log, holder: cfg.Holder, ttl: cfg.LeaseTTL}
	return &Publisher{CRLs: newCRLs(cfg, l), OCSP: newResponder(cfg), cfg: cfg, lease: l}
}

// Start tries to take the CRL lease, and when it does signs every CRL
// anew before it returns (so that the CRLs are current, and in the store
// for the other processes, from the start); it launches the keeper of the
// lease, the CRL workers and the watcher of other processes' revocations
// and CRLs. Calling it while they run does nothing.
func (p *Publisher) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stop != nil {
		return
	}
	ctx := context.Background()
	// The watcher's baseline is read before any CRL is built, so that the
	// CRLs cover it and every revocation after it moves a count the
	// watcher sees (read later, a revocation made between the build and
	// the read would never reach the CRL).
	if counts, err := p.cfg.Store.RevocationCounts(ctx); err == nil {
		p.known = counts
	}
	gained := p.lease.try(ctx)
	p.stop = make(chan struct{})
	p.wg.Add(2)
	go p.hold(p.stop) // renews the lease while the CRLs are signed
	if gained {
		p.CRLs.rebuildAll(ctx)
	}
	p.CRLs.Start()
	go p.watch(p.stop)
}

// Stop ends the CRL workers, the watcher and the keeper of the lease and
// waits for them (a build in progress finishes first), then releases the
// lease so that another process takes the CRLs over at once. Calling it
// twice, or before Start, is harmless.
func (p *Publisher) Stop() { p.shutdown(true) }

// shutdown is Stop; a test passes release false to stop as a process that
// dies does, leaving its lease to expire.
func (p *Publisher) shutdown(release bool) {
	p.mu.Lock()
	stop := p.stop
	p.stop = nil
	p.mu.Unlock()
	if stop != nil {
		close(stop)
		p.wg.Wait()
	}
	p.CRLs.Stop()
	if release {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.lease.release(ctx)
	}
}

// HoldsLease reports whether this process signs the CRLs of its store now.
func (p *Publisher) HoldsLease() bool { return p.lease.held() }

// hold renews the lease while this process holds it, and otherwise tries
// to take it every WatchEvery; a process that takes it over has its
// workers sign every CRL anew (its predecessor may have died before
// signing for a revocation), with numbers above its predecessor's. It
// never waits for a build, so that a long one does not let the lease
// lapse.
func (p *Publisher) hold(stop chan struct{}) {
	defer p.wg.Done()
	ctx, cancel := untilClosed(stop)
	defer cancel()
	for {
		every := p.cfg.LeaseRenew
		if !p.lease.held() {
			every = min(every, p.cfg.WatchEvery)
		}
		t := time.NewTimer(every)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		if p.lease.try(ctx) {
			p.CRLs.Refresh()
		}
	}
}

// watch asks the store every WatchEvery how many revocations each issuer
// has and which CRLs it holds. A count that moved (a revocation made by
// another process on the same store, or by this one) drops that issuer's
// cached OCSP answers and, in the lease holder, rebuilds its CRL; a saved
// CRL with a number above the one served (the holder's work) replaces it,
// so that replicas behind one address agree within seconds.
func (p *Publisher) watch(stop chan struct{}) {
	defer p.wg.Done()
	t := time.NewTicker(p.cfg.WatchEvery)
	defer t.Stop()
	ctx := context.Background()
	for {
		counts, err := p.cfg.Store.RevocationCounts(ctx)
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
		if err := p.CRLs.loadNewer(ctx); err != nil {
			p.cfg.Log.Warn("watch CRLs", "err", err)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// Revoked is the order engine's hook, called after a revocation of
// certificates from these issuers has committed: their cached OCSP
// responses are dropped and, when this process holds the CRL lease, their
// CRLs are rebuilt in the background (otherwise the holder's watcher sees
// the revocation within WatchEvery and rebuilds them, and this process's
// watcher loads the result). It never blocks on signing.
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

// untilClosed is a context that ends when stop is closed (or cancel is
// called), for workers stopped through a channel.
func untilClosed(stop <-chan struct{}) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-stop:
		case <-ctx.Done():
		}
		cancel()
	}()
	return ctx, cancel
}
