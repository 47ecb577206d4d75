package revocation

import (
	"bytes"
	"context"
	"fmt"
	"math/big"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/ca"
	"github.com/certorder/certorder/internal/store"
)

// A serial written down before signing whose certificate was never
// recorded is revoked on the CRL and by OCSP once it is older than
// AbandonAfter; a younger one (an issuance in progress) is not yet, and a
// completed one (ReserveSerial removed it) never is.
// Ages are on the lease clock: a sandbox whose business clock jumped 30
// days ahead does not take an issuance in progress for abandoned.
func TestAbandonedIssuancesAreRevoked(t *testing.T) {
	for i, jump := range []time.Duration{0, 30 * 24 * time.Hour} {
		t.Run(fmt.Sprintf("business clock %s ahead", jump), func(t *testing.T) {
			testAbandonedIssuances(t, jump, fmt.Sprintf("7A%d", i))
		})
	}
}

func testAbandonedIssuances(t *testing.T, jump time.Duration, prefix string) {
	e := newEnv(t)
	ctx := context.Background()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	business := func() time.Time { return clk.Now().Add(jump) }
	p := e.publisher(business, func(c *Config) { c.AbandonAfter = 10 * time.Minute; c.LeaseNow = clk.Now })
	tls := e.h.DefaultIssuer()
	intents := []struct {
		serial string
		age    time.Duration
		done   bool // recorded afterwards
		want   int
	}{
		{prefix + "001", time.Hour, false, ocsp.Revoked},
		{prefix + "002", time.Minute, false, -1}, // -1: unassigned, answered unauthorized
		{prefix + "003", time.Hour, true, -1},
	}
	for _, in := range intents {
		err := e.st.InTx(ctx, func(tx store.Tx) error {
			if err := tx.CreateIssuanceIntent(ctx, &store.IssuanceIntent{SerialNumber: in.serial, IssuerID: tls.ID,
				AccountID: e.acct, CreatedAt: clk.Now().Add(-in.age)}); err != nil {
				return err
			}
			if in.done {
				return tx.ReserveSerial(ctx, in.serial, e.order, clk.Now())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	crl, err := e.crl(t, p, tls.ID)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, entry := range parseCRL(t, crl, tls.Cert).RevokedCertificateEntries {
		listed[ca.SerialHex(entry.SerialNumber)] = true
	}
	for _, in := range intents {
		serial, _ := new(big.Int).SetString(in.serial, 16)
		if listed[ca.SerialHex(serial)] != (in.want == ocsp.Revoked) {
			t.Errorf("serial %s (intent %v old, recorded %v) on the CRL: %v", in.serial, in.age, in.done, listed[ca.SerialHex(serial)])
		}
		ans := respond(t, p, ocspRequest(t, serial, tls.Cert, 0), tls.Cert, serial)
		if in.want < 0 {
			if ans.Status != StatusError || !bytes.Equal(ans.DER, ocsp.UnauthorizedErrorResponse) {
				t.Errorf("serial %s: OCSP answer %d %x, want unauthorized", in.serial, ans.Status, ans.DER)
			}
			continue
		}
		resp, err := ocsp.ParseResponseForCert(ans.DER, nil, tls.Cert)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Status != in.want {
			t.Errorf("serial %s: OCSP status %d, want %d", in.serial, resp.Status, in.want)
		}
	}
}
