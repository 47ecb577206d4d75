package order

import (
	"context"
	"math/big"
	"sync"
	"time"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
)

// Serials with their issuance intents committed before anyone asks.
//
// A serial is written down (a store.IssuanceIntent) in a commit of its
// own before the issuer signs it, so that a process dying between the
// signature and the commit that records the certificate leaves its serial
// known, and CRLs and OCSP answer for it as revoked. An immediate order
// used to make that commit itself: two commits per order. The pool makes
// those commits ahead, a batch of intents at a time, and the order takes a
// serial whose intent is already durable; the order's one commit records
// the certificate and reserves the serial, which from then on is no
// abandoned issuance (store.Writer.ReserveSerialKeepingIntent). The
// intents of the recorded serials are deleted with the next batch, in
// one statement (store.Writer.DeleteRecordedIntents), not one per order.
//
// What it costs: serials a process held when it died keep their intents,
// and once they are revocation.Config.AbandonAfter old the CRLs list them
// as revoked, serials nobody signed. A batch is small unless orders come
// faster than one batch a second (it then doubles, up to poolMax), a serial
// unused for poolMaxAge is dropped (its intent deleted with the next
// batch) long before any CRL could list it, and a clean shutdown deletes
// the rest (ReleaseSerials).
type serialPool struct {
	mu      sync.Mutex
	issuers map[string]*issuerSerials
}

// issuerSerials are one issuer's serials. Its mutex is held while a batch
// commits: the callers that find it empty wait for that batch instead of
// each writing one.
type issuerSerials struct {
	mu     sync.Mutex
	free   []pooledSerial // oldest first
	next   int            // size of the next batch
	filled time.Time      // when the last batch was written (lease clock)
	// stale are dropped serials whose intents the next batch deletes.
	stale []string
}

type pooledSerial struct {
	serial *big.Int
	at     time.Time // its intent's created_at
}

const (
	// poolFirst is the first batch of an issuer; poolMax the largest.
	poolFirst = 4
	poolMax   = 256
	// poolMaxAge: a serial unused this long is dropped. Far below any
	// sensible AbandonAfter (10 minutes by default), so that no CRL lists
	// a serial that might still be signed.
	poolMaxAge = time.Minute
)

// poolsMu guards the making of each Service's pool: a Service is a
// struct literal, and one that is copied keeps sharing its pool.
var poolsMu sync.Mutex

func (s *Service) serialsOf() *serialPool {
	poolsMu.Lock()
	defer poolsMu.Unlock()
	if s.serials == nil {
		s.serials = &serialPool{}
	}
	return s.serials
}

func (p *serialPool) issuer(id string) *issuerSerials {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.issuers == nil {
		p.issuers = map[string]*issuerSerials{}
	}
	is := p.issuers[id]
	if is == nil {
		is = &issuerSerials{}
		p.issuers[id] = is
	}
	return is
}

// takeSerial returns a serial for issuer iss whose issuance intent has
// committed, writing a batch of them first when none is left.
func (s *Service) takeSerial(ctx context.Context, iss *ca.Issuer) (*big.Int, error) {
	is := s.serialsOf().issuer(iss.ID)
	is.mu.Lock()
	defer is.mu.Unlock()
	now := s.leaseNow()
	for len(is.free) > 0 && now.Sub(is.free[0].at) >= poolMaxAge {
		is.stale = append(is.stale, ca.SerialHex(is.free[0].serial))
		is.free = is.free[1:]
	}
	if len(is.free) == 0 {
		if err := s.refillSerials(ctx, iss.ID, is, now); err != nil {
			return nil, err
		}
	}
	sn := is.free[0].serial
	is.free = is.free[1:]
	return sn, nil
}

// refillSerials writes the next batch of intents of issuerID, deleting
// the stale ones in the same commit, and sizes the batch after: half when
// serials went stale, double when the last batch lasted under a second.
func (s *Service) refillSerials(ctx context.Context, issuerID string, is *issuerSerials, now time.Time) error {
	switch {
	case is.next == 0:
		is.next = poolFirst
	case len(is.stale) > 0:
		is.next = max(1, is.next/2)
	case now.Sub(is.filled) < time.Second:
		is.next = min(poolMax, 2*is.next)
	}
	fresh := make([]pooledSerial, is.next)
	intents := make([]store.IssuanceIntent, is.next)
	for i := range fresh {
		sn, err := ca.NewSerial(s.rand())
		if err != nil {
			return err
		}
		fresh[i] = pooledSerial{serial: sn, at: now}
		// No account or order yet: the order that takes the serial is
		// recorded with it, in the commit that removes the intent.
		intents[i] = store.IssuanceIntent{SerialNumber: ca.SerialHex(sn), IssuerID: issuerID, CreatedAt: now}
	}
	stale := is.stale
	err := s.Store.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.DeleteRecordedIntents(ctx, issuerID); err != nil {
			return err
		}
		for _, sn := range stale {
			if err := tx.DeleteIssuanceIntent(ctx, sn); err != nil {
				return err
			}
		}
		for i := range intents {
			if err := tx.CreateIssuanceIntent(ctx, &intents[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	is.stale = nil
	is.free = fresh
	is.filled = now
	return nil
}

// ReleaseSerials deletes the intents of every serial the pool holds, of
// those it dropped and of those recorded: on a clean shutdown nothing is
// left for the CRLs to list. Orders placed afterwards write new batches.
func (s *Service) ReleaseSerials(ctx context.Context) error {
	p := s.serialsOf()
	p.mu.Lock()
	pools := make(map[string]*issuerSerials, len(p.issuers))
	for id, is := range p.issuers {
		pools[id] = is
	}
	p.mu.Unlock()
	for issuerID, is := range pools {
		is.mu.Lock()
		serials := is.stale
		for _, f := range is.free {
			serials = append(serials, ca.SerialHex(f.serial))
		}
		err := s.Store.InTx(ctx, func(tx store.Tx) error {
			if _, err := tx.DeleteRecordedIntents(ctx, issuerID); err != nil {
				return err
			}
			for _, sn := range serials {
				if err := tx.DeleteIssuanceIntent(ctx, sn); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			is.free, is.stale = nil, nil
		}
		is.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}
