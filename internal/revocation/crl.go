package revocation

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
)

// ErrUnknownIssuer: no CRL of that name.
var ErrUnknownIssuer = errors.New("revocation: unknown issuer")

// crlNumberBase is added to the store's per-issuer counter (1, 2, ...).
// Before the counter existed certorder numbered CRLs with the signing
// second's Unix time; every such number is below 2^31 until 2038, so the
// numbers keep growing across the upgrade (RFC 5280 section 5.2.3).
const crlNumberBase = 1 << 31

// CRL is one signed CRL as served.
type CRL struct {
	DER        []byte
	Number     *big.Int
	ThisUpdate time.Time
	NextUpdate time.Time
	Entries    int
}

// CRLs keeps the current CRL of every issuer and of the root, and one
// background worker per issuer. In the holder of the CRL lease the worker
// rebuilds the CRL when a revocation is signalled (several signals during
// a build coalesce into one more build) and on a schedule well before
// nextUpdate, and saves each one in the store; in the other processes it
// signs nothing, and the publisher's watcher replaces their CRLs by the
// holder's as it saves them. Readers always get the current CRL at once;
// only a request for an issuer without one (or with an expired one), or
// one made while no worker runs, builds (or, without the lease, loads) in
// the request.
type CRLs struct {
	cfg    Config
	lease  *lease
	states map[string]*crlState // by canonical issuer ID; fixed after newCRLs
	signed atomic.Int64         // CRLs this process signed

	mu      sync.Mutex // guards running, stop
	running bool
	stop    chan struct{}
	wg      sync.WaitGroup
}

type crlState struct {
	id  string
	iss *ca.Issuer // nil for the root

	kick  chan struct{} // capacity 1: a pending refresh signal
	wake  chan struct{} // capacity 1: reschedule (a request built a CRL)
	build sync.Mutex    // one build at a time per issuer

	mu      sync.Mutex // guards the fields below
	cur     *CRL
	want    uint64    // refresh signals received
	built   uint64    // signals the current CRL accounts for
	builtAt time.Time // when cur was signed (Config.Now, not truncated; its thisUpdate when loaded)
	retryAt time.Time // after a failed build; zero when the last one worked
}

func newCRLs(cfg Config, l *lease) *CRLs {
	c := &CRLs{cfg: cfg, lease: l, states: map[string]*crlState{}}
	c.states[RootID] = &crlState{id: RootID, kick: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
	for _, iss := range cfg.CA.Issuers() {
		c.states[iss.ID] = &crlState{id: iss.ID, iss: iss, kick: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
	}
	return c
}

// Start launches one worker per issuer; it does nothing while they run.
func (c *CRLs) Start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.running {
		return
	}
	c.running = true
	c.stop = make(chan struct{})
	for _, st := range c.states {
		c.wg.Add(1)
		go c.work(st, c.stop)
	}
}

// Stop ends the workers and waits for them.
func (c *CRLs) Stop() {
	c.mu.Lock()
	if !c.running {
		c.mu.Unlock()
		return
	}
	c.running = false
	close(c.stop)
	c.mu.Unlock()
	c.wg.Wait()
}

func (c *CRLs) isRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running
}

// Signed is how many CRLs this process has signed.
func (c *CRLs) Signed() int64 { return c.signed.Load() }

// signer: this process signs CRLs, holding the lease, or (not serving,
// without workers) on its own for the request at hand.
func (c *CRLs) signer() bool { return !c.isRunning() || c.lease.held() }

// Refresh asks for new CRLs of these issuers (every CRL when none is
// named); unknown IDs are ignored. It returns at once.
func (c *CRLs) Refresh(issuerIDs ...string) {
	var targets []*crlState
	if len(issuerIDs) == 0 {
		for _, st := range c.states {
			targets = append(targets, st)
		}
	}
	for _, id := range issuerIDs {
		if cid, ok := canonicalID(c.cfg.CA, id); ok {
			targets = append(targets, c.states[cid])
		}
	}
	for _, st := range targets {
		st.mu.Lock()
		st.want++
		st.mu.Unlock()
		select {
		case st.kick <- struct{}{}:
		default: // a signal is already pending; the next build covers this one
		}
	}
}

// Get returns the current CRL of an issuer ID ("root" for the root's),
// building it only when there is none yet, when it has expired, or when a
// revocation is pending and no worker runs to pick it up.
func (c *CRLs) Get(ctx context.Context, issuerID string) (*CRL, error) {
	id, ok := canonicalID(c.cfg.CA, issuerID)
	if !ok {
		return nil, ErrUnknownIssuer
	}
	st := c.states[id]
	if cur, fresh := c.current(st, c.isRunning()); fresh {
		return cur, nil
	}
	st.build.Lock()
	defer st.build.Unlock()
	// Another request, or the worker, may have built it meanwhile.
	if cur, fresh := c.current(st, c.isRunning()); fresh {
		return cur, nil
	}
	if !c.signer() {
		// The holder's CRL, unless it has none current: then this
		// process signs one rather than serve none.
		loaded, err := c.load(ctx, st)
		if err == nil {
			if cur := c.adopt(st, loaded); c.cfg.Now().Before(cur.NextUpdate) {
				return cur, nil
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			c.cfg.Log.Warn("load CRL", "issuer", st.id, "err", err)
		}
		c.cfg.Log.Warn("no current CRL from the CRL lease holder; signing one here", "issuer", st.id)
	}
	crl, err := c.rebuildLocked(ctx, st)
	// The worker may be waiting without a timer (before the first CRL) or
	// with the old CRL's: it reschedules from this build, or its retry.
	select {
	case st.wake <- struct{}{}:
	default:
	}
	return crl, err
}

// current is the state's CRL and whether it may be served as it is.
func (c *CRLs) current(st *crlState, workers bool) (*CRL, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cur == nil || !c.cfg.Now().Before(st.cur.NextUpdate) {
		return st.cur, false
	}
	if !workers && st.want != st.built {
		return st.cur, false
	}
	return st.cur, true
}

// work is one issuer's worker: it waits for a refresh signal, the
// scheduled refresh of the current CRL, or the retry of a failed build.
// Before the first signal or request it does nothing, so a process that
// nobody asks for CRLs signs none.
func (c *CRLs) work(st *crlState, stop <-chan struct{}) {
	defer c.wg.Done()
	ctx, cancel := untilClosed(stop)
	defer cancel()
	for {
		var timer *time.Timer
		var due <-chan time.Time
		if at, ok := c.nextDue(st); ok {
			timer = time.NewTimer(max(at.Sub(c.cfg.Now()), 0))
			due = timer.C
		}
		build := true
		select {
		case <-stop:
			if timer != nil {
				timer.Stop()
			}
			return
		case <-st.kick:
		case <-due:
		case <-st.wake:
			build = false
		}
		if timer != nil {
			timer.Stop()
		}
		if !build || !c.signer() {
			// Not the lease holder: its watcher sees the revocation
			// behind a signal and rebuilds; ours loads the result.
			continue
		}
		st.build.Lock()
		_, err := c.rebuildLocked(ctx, st)
		st.build.Unlock()
		if err != nil && ctx.Err() == nil {
			c.cfg.Log.Error("build CRL", "issuer", st.id, "err", err)
		}
	}
}

// nextDue is when the worker should rebuild without a signal; never
// without the lease.
func (c *CRLs) nextDue(st *crlState) (time.Time, bool) {
	if !c.signer() {
		return time.Time{}, false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.retryAt.IsZero() {
		return st.retryAt, true
	}
	if st.cur == nil {
		return time.Time{}, false
	}
	return st.builtAt.Add(c.cfg.CRLRefresh), true
}

// rebuildLocked signs a new CRL and saves it in the store for the other
// processes; the caller holds st.build. A CRL signed but not saved is
// served here all the same, and the build is retried so that the others
// get one.
func (c *CRLs) rebuildLocked(ctx context.Context, st *crlState) (*CRL, error) {
	st.mu.Lock()
	want := st.want
	st.mu.Unlock()
	crl, err := c.sign(ctx, st)
	if err != nil {
		st.mu.Lock()
		st.retryAt = c.cfg.Now().Add(c.cfg.CRLRetry)
		st.mu.Unlock()
		return nil, err
	}
	saved, saveErr := c.save(ctx, st.id, crl)
	st.mu.Lock()
	st.built, st.retryAt = want, time.Time{}
	if saveErr != nil {
		st.retryAt = c.cfg.Now().Add(c.cfg.CRLRetry)
	}
	cur := c.adoptLocked(st, crl, c.cfg.Now())
	st.mu.Unlock()
	if saveErr != nil {
		c.cfg.Log.Error("save CRL", "issuer", st.id, "err", saveErr)
	} else if !saved {
		// Another process saved a CRL with a greater number meanwhile
		// (a former holder finishing late): it lists at least as much,
		// having read the revocations after this one did.
		if loaded, err := c.load(ctx, st); err == nil {
			cur = c.adopt(st, loaded)
		}
	}
	return cur, nil
}

// rebuildAll signs every CRL anew, for a process that took the lease as
// it started; each worker then schedules from its issuer's new CRL (or
// retries a failed build).
func (c *CRLs) rebuildAll(ctx context.Context) {
	for _, st := range c.states {
		st.build.Lock()
		_, err := c.rebuildLocked(ctx, st)
		st.build.Unlock()
		if err != nil && ctx.Err() == nil {
			c.cfg.Log.Error("build CRL", "issuer", st.id, "err", err)
		}
		select {
		case st.wake <- struct{}{}:
		default:
		}
	}
}

// save stores crl as its issuer's latest unless the store has a greater
// number; saved reports whether it did.
func (c *CRLs) save(ctx context.Context, id string, crl *CRL) (saved bool, err error) {
	sc := &store.StoredCRL{IssuerID: id, Number: crl.Number.Int64(), ThisUpdate: crl.ThisUpdate, NextUpdate: crl.NextUpdate,
		Entries: crl.Entries, DER: crl.DER}
	err = c.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		saved, err = tx.SaveCRL(ctx, sc)
		return err
	})
	return saved, err
}

// load reads the issuer's latest saved CRL.
func (c *CRLs) load(ctx context.Context, st *crlState) (*CRL, error) {
	sc, err := c.cfg.Store.LatestCRL(ctx, st.id)
	if err != nil {
		return nil, err
	}
	return &CRL{DER: sc.DER, Number: big.NewInt(sc.Number), ThisUpdate: sc.ThisUpdate, NextUpdate: sc.NextUpdate, Entries: sc.Entries}, nil
}

// adopt makes crl the current CRL of st unless the current one has a
// number as great, and returns the current one.
func (c *CRLs) adopt(st *crlState, crl *CRL) *CRL {
	st.mu.Lock()
	defer st.mu.Unlock()
	return c.adoptLocked(st, crl, crl.ThisUpdate)
}

// adoptLocked is adopt with st.mu held; builtAt is when crl counts as
// built (its signing by this process, or its thisUpdate when loaded).
func (c *CRLs) adoptLocked(st *crlState, crl *CRL, builtAt time.Time) *CRL {
	if st.cur == nil || crl.Number.Cmp(st.cur.Number) > 0 {
		st.cur, st.builtAt = crl, builtAt
	}
	return st.cur
}

// loadNewer replaces every CRL whose saved number is above the one
// served by the saved one: in the processes without the lease, the
// holder's new CRLs.
func (c *CRLs) loadNewer(ctx context.Context) error {
	numbers, err := c.cfg.Store.CRLNumbers(ctx)
	if err != nil {
		return err
	}
	for id, n := range numbers {
		st, ok := c.states[id]
		if !ok {
			continue
		}
		st.mu.Lock()
		newer := st.cur == nil || st.cur.Number.Cmp(big.NewInt(n)) < 0
		st.mu.Unlock()
		if !newer {
			continue
		}
		crl, err := c.load(ctx, st)
		if err != nil {
			return err
		}
		c.adopt(st, crl)
	}
	return nil
}

// sign takes the next CRL number, then reads the issuer's revocations
// (so a CRL with a higher number never lists less), and signs.
func (c *CRLs) sign(ctx context.Context, st *crlState) (*CRL, error) {
	var n int64
	err := c.cfg.Store.InTx(ctx, func(tx store.Tx) error {
		var err error
		n, err = tx.NextCRLNumber(ctx, st.id)
		return err
	})
	if err != nil {
		return nil, err
	}
	number := new(big.Int).Add(big.NewInt(crlNumberBase), big.NewInt(n))
	var der []byte
	entries := 0
	if st.iss == nil {
		der, err = c.cfg.CA.RootCRL(number, c.cfg.CRLValidity)
	} else {
		var revs []store.Revocation
		revs, err = c.cfg.Store.RevokedByIssuer(ctx, st.iss.ID)
		if err != nil {
			return nil, err
		}
		list := make([]ca.Revoked, 0, len(revs))
		for _, r := range revs {
			serial, ok := parseSerial(r.SerialNumber)
			if !ok {
				return nil, fmt.Errorf("revocation of certificate %d has serial %q", r.CertificateID, r.SerialNumber)
			}
			list = append(list, ca.Revoked{Serial: serial, RevokedAt: r.RevokedAt, Reason: r.Reason})
		}
		// Serials signed, or about to be, whose certificate was never
		// recorded: revoked as of their intent, reason unspecified.
		abandoned, err := c.cfg.Store.AbandonedIssuances(ctx, st.iss.ID, c.cfg.LeaseNow().Add(-c.cfg.AbandonAfter))
		if err != nil {
			return nil, err
		}
		for _, in := range abandoned {
			serial, ok := parseSerial(in.SerialNumber)
			if !ok {
				return nil, fmt.Errorf("issuance intent has serial %q", in.SerialNumber)
			}
			list = append(list, ca.Revoked{Serial: serial, RevokedAt: in.CreatedAt})
		}
		entries = len(list)
		der, err = c.cfg.CA.CRL(st.iss, list, number, c.cfg.CRLValidity)
	}
	if err != nil {
		return nil, err
	}
	c.signed.Add(1)
	thisUpdate, nextUpdate, err := crlTimes(der)
	if err != nil {
		return nil, err
	}
	return &CRL{DER: der, Number: number, ThisUpdate: thisUpdate, NextUpdate: nextUpdate, Entries: entries}, nil
}

// crlTimes reads thisUpdate and nextUpdate from a CRL that internal/ca
// signed.
func crlTimes(der []byte) (thisUpdate, nextUpdate time.Time, err error) {
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("revocation: parse own CRL: %w", err)
	}
	return rl.ThisUpdate, rl.NextUpdate, nil
}

// parseSerial reads a serial as the store keeps it (hex); ok is false for
// anything that is not a positive number.
func parseSerial(hex string) (*big.Int, bool) {
	n, ok := new(big.Int).SetString(hex, 16)
	return n, ok && n.Sign() > 0
}
