package revocation

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCRL10k signs the CRL of an issuer with 10,000 revoked
// certificates: read from SQLite, numbered, signed, linted with zlint and
// parsed back, as the background worker does. It reports the time per CRL
// and its size; it asserts nothing about them.
func BenchmarkCRL10k(b *testing.B) {
	const revoked = 10_000
	e := newEnv(b)
	tls := e.h.DefaultIssuer()
	certs := e.certs(tls, revoked)
	at := time.Now().UTC().Add(-time.Hour)
	for i := 0; i < len(certs); i += 1000 {
		e.revoke(certs[i:i+1000], i/1000%2, at) // half with keyCompromise, half unspecified
	}
	p := e.publisher(nil, nil)
	st := p.CRLs.states[tls.ID]
	ctx := context.Background()
	var size, entries int
	start := time.Now()
	n := 0
	for b.Loop() {
		st.build.Lock()
		crl, err := p.CRLs.rebuildLocked(ctx, st)
		st.build.Unlock()
		if err != nil {
			b.Fatal(err)
		}
		size, entries = len(crl.DER), crl.Entries
		n++
	}
	elapsed := time.Since(start)
	if entries != revoked {
		b.Fatalf("CRL lists %d entries, want %d", entries, revoked)
	}
	b.ReportMetric(float64(elapsed.Milliseconds())/float64(n), "ms/crl")
	b.ReportMetric(float64(size), "crl-bytes")
}
