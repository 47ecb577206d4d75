package revocation

import (
	"bytes"
	"fmt"
	"math/big"
	"testing"
	"time"
)

// replicas starts n publishers on the env's one store, as n processes on
// one database; the first started takes the lease.
func (e *env) replicas(n int, ttl time.Duration) []*Publisher {
	var ps []*Publisher
	for i := range n {
		p := e.publisher(nil, func(c *Config) {
			c.Holder = fmt.Sprintf("replica-%d", i)
			c.WatchEvery = 20 * time.Millisecond
			c.LeaseTTL = ttl
		})
		p.Start()
		ps = append(ps, p)
	}
	return ps
}

// ids are the CRL names of the hierarchy: the root's and every issuer's.
func (e *env) ids() []string {
	ids := []string{RootID}
	for _, iss := range e.h.Issuers() {
		ids = append(ids, iss.ID)
	}
	return ids
}

// Of two processes on one store, the lease holder alone signs CRLs; both
// serve the same ones, a revocation signalled in the other reaches both,
// and when the holder stops the other takes over at once.
func TestCRLLeaseOneSigner(t *testing.T) {
	e := newEnv(t)
	ps := e.replicas(2, time.Minute) // only a release hands over within the test
	holder, other := ps[0], ps[1]
	if !holder.HoldsLease() || other.HoldsLease() {
		t.Fatalf("lease held by first %v, second %v; want the first only", holder.HoldsLease(), other.HoldsLease())
	}
	same := func(id string) (bool, string) {
		a, err := e.crl(t, holder, id)
		if err != nil {
			return false, err.Error()
		}
		b, err := e.crl(t, other, id)
		if err != nil {
			return false, err.Error()
		}
		return bytes.Equal(a.DER, b.DER), fmt.Sprintf("holder %s, other %s", numberString(a), numberString(b))
	}
	for _, id := range e.ids() {
		if ok, state := same(id); !ok {
			t.Fatalf("CRL %s differs: %s", id, state)
		}
	}
	if got, want := holder.CRLs.Signed(), int64(len(e.ids())); got != want || other.CRLs.Signed() != 0 {
		t.Fatalf("holder signed %d CRLs, other %d; want %d and 0", got, other.CRLs.Signed(), want)
	}

	tls := e.h.DefaultIssuer()
	before, _ := e.crl(t, holder, tls.ID)
	e.revoke(e.certs(tls, 2), 1, time.Now().UTC())
	other.Revoked([]string{tls.ID}) // the order engine of the other process
	eventually(t, "both serve the revocation", func() (bool, string) {
		ok, state := same(tls.ID)
		c, _ := e.crl(t, other, tls.ID)
		return ok && c.Entries == 2, state
	})
	if other.CRLs.Signed() != 0 {
		t.Fatalf("the process without the lease signed %d CRLs", other.CRLs.Signed())
	}

	last, _ := e.crl(t, holder, tls.ID)
	if last.Number.Cmp(before.Number) <= 0 {
		t.Fatalf("CRL number %s did not grow from %s", last.Number, before.Number)
	}
	holder.Stop()
	eventually(t, "the other process takes the released lease", func() (bool, string) { return other.HoldsLease(), "" })
	eventually(t, "the new holder publishes", func() (bool, string) {
		c, err := e.crl(t, other, tls.ID)
		return err == nil && c.Number.Cmp(last.Number) > 0 && c.Entries == 2, numberString(c)
	})
	want := int64(len(e.ids()))
	eventually(t, "the new holder signs every CRL", func() (bool, string) {
		return other.CRLs.Signed() >= want, fmt.Sprint(other.CRLs.Signed())
	})
	time.Sleep(100 * time.Millisecond)
	if other.CRLs.Signed() != want {
		t.Fatalf("the new holder signed %d CRLs, want %d (every one, once)", other.CRLs.Signed(), want)
	}
}

// A holder that dies keeps its lease until it expires; then another
// process takes it, signs every CRL with a greater number, and follows
// revocations.
func TestCRLLeaseExpiryHandOver(t *testing.T) {
	e := newEnv(t)
	const ttl = 2 * time.Second
	ps := e.replicas(2, ttl)
	holder, other := ps[0], ps[1]
	tls := e.h.DefaultIssuer()
	last, err := e.crl(t, holder, tls.ID)
	if err != nil {
		t.Fatal(err)
	}
	died := time.Now()
	holder.shutdown(false) // no release: as a process that dies
	eventually(t, "the other process takes the expired lease", func() (bool, string) { return other.HoldsLease(), "" })
	if waited := time.Since(died); waited < ttl/2 {
		t.Fatalf("the lease changed hands %s after the holder died, before it could have expired", waited)
	}
	var c *CRL
	eventually(t, "the new holder signs with a greater number", func() (bool, string) {
		c, err = e.crl(t, other, tls.ID)
		return err == nil && c.Number.Cmp(last.Number) > 0, numberString(c)
	})
	// The new holder renews: it keeps the lease over several TTLs.
	time.Sleep(2 * ttl)
	if !other.HoldsLease() {
		t.Fatal("the new holder lost its lease")
	}
	e.revoke(e.certs(tls, 1), 0, time.Now().UTC())
	// Nobody signals: the new holder's watcher sees the count move.
	eventually(t, "the new holder lists the revocation", func() (bool, string) {
		c, err := e.crl(t, other, tls.ID)
		return err == nil && c.Entries == 1, numberString(c)
	})
	if got := new(big.Int).Sub(c.Number, last.Number); got.Sign() <= 0 {
		t.Fatalf("numbers went back: %s", got)
	}
}
