package revocation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/store"
)

// CRLLease names the lease in the store whose holder signs the CRLs of
// every process on that store (issue 7); the others serve what it saved.
const CRLLease = "crl-publisher"

// lease is this process's view of the CRL lease. Expiry is by each
// process's own clock, which replicas must keep roughly in agreement (as
// they must for the CRLs' own times): a skew shortens or lengthens a
// hand-over, and an overlap only means two processes sign for a moment,
// which the CRL numbers (taken from one counter; the store keeps the
// greatest) make harmless.
type lease struct {
	st     store.Store
	log    *slog.Logger
	holder string
	ttl    time.Duration

	mu    sync.Mutex
	until time.Time // end of this process's hold; zero when not held
}

// newHolder names this process in the leases table: host, pid and random
// bytes, so that a restarted process never mistakes its predecessor's
// lease for its own.
func newHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 8)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// held: this process holds the lease now.
func (l *lease) held() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.until.IsZero() && time.Now().Before(l.until)
}

// try takes the lease, or renews it, for ttl; gained reports that this
// process holds it now and did not before. A failure of the store leaves
// the hold as it was: this process keeps acting as holder until its lease
// ends by its own clock, when another may take it.
func (l *lease) try(ctx context.Context) (gained bool) {
	was := l.held()
	now := time.Now()
	var ok bool
	err := l.st.InTx(ctx, func(tx store.Tx) error {
		var err error
		ok, err = tx.AcquireLease(ctx, CRLLease, l.holder, now.UTC(), now.Add(l.ttl).UTC())
		return err
	})
	l.mu.Lock()
	switch {
	case err != nil:
		if ctx.Err() == nil {
			l.log.Warn("renew CRL lease", "err", err)
		}
	case ok:
		l.until = now.Add(l.ttl)
	default:
		l.until = time.Time{}
	}
	l.mu.Unlock()
	is := l.held()
	switch {
	case is && !was:
		l.log.Info("holding the CRL lease: this process signs the CRLs", "holder", l.holder)
	case was && !is:
		l.log.Info("no longer holding the CRL lease", "holder", l.holder)
	}
	return is && !was
}

// release gives the lease up (a process stopping), so that another takes
// it over without waiting for it to expire.
func (l *lease) release(ctx context.Context) {
	if !l.held() {
		return
	}
	l.mu.Lock()
	l.until = time.Time{}
	l.mu.Unlock()
	if err := l.st.InTx(ctx, func(tx store.Tx) error { return tx.ReleaseLease(ctx, CRLLease, l.holder) }); err != nil {
		l.log.Warn("release CRL lease", "err", err)
	}
}
