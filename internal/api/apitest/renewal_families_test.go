package apitest

import (
	"crypto/elliptic"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestRenewalEveryFamily: a renewal of an issued order of each product
// family links both orders in order info, by order id and by thumbprint,
// and a second renewal of the same order is refused.
func TestRenewalEveryFamily(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	p256 := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	uid := x9UserID(t, srv)
	withApproval := func(m map[string]any) map[string]any { m["skip_approval"] = true; return m }
	for _, tc := range []struct {
		product string
		body    func() map[string]any
	}{
		{"ssl_dv_geotrust", func() map[string]any { return withApproval(dvBase(p256)) }},
		{"code_signing", func() map[string]any { return withApproval(csBase(p256)) }},
		{"client_email_security_plus", func() map[string]any { return clBody(p256) }},
		{"class1_smime", func() map[string]any { return clBody(p256) }},
		{"x9_pki", func() map[string]any {
			m := x9Body(p256, uid)
			certOf(m)["key_usages"] = []any{"digital_signature"}
			return m
		}},
	} {
		t.Run(tc.product, func(t *testing.T) {
			place := func(extra map[string]any) int64 {
				t.Helper()
				m := tc.body()
				for k, v := range extra {
					m[k] = v
				}
				got := createOK(t, srv, tc.product, mustJSON(t, m))
				fam2WaitStatus(t, srv, got.ID, "issued")
				fam2IssuedChain(t, srv, got.ID) // chain checked, every certificate linted
				return got.ID
			}
			old := place(nil)
			byID := place(map[string]any{"renewal_of_order_id": old})
			oldInfo, _ := getOrder(t, srv, old)
			newInfo, _ := getOrder(t, srv, byID)
			if !oldInfo.IsRenewed || oldInfo.RenewedOrderID != byID {
				t.Errorf("old order: is_renewed %v renewed_order_id %d; want true, %d", oldInfo.IsRenewed, oldInfo.RenewedOrderID, byID)
			}
			if !newInfo.IsRenewal || newInfo.RenewalOfOrderID != old {
				t.Errorf("renewal: is_renewal %v renewal_of_order_id %d; want true, %d", newInfo.IsRenewal, newInfo.RenewalOfOrderID, old)
			}

			// The renewal is itself issued, so its thumbprint renews it.
			byThumb := place(map[string]any{"renewed_thumbprint": newInfo.Certificate.Thumbprint})
			if info, _ := getOrder(t, srv, byThumb); !info.IsRenewal || info.RenewalOfOrderID != byID {
				t.Errorf("renewal by thumbprint: is_renewal %v renewal_of_order_id %d; want true, %d", info.IsRenewal, info.RenewalOfOrderID, byID)
			}

			m := tc.body()
			m["renewal_of_order_id"] = old
			b := counts(t, srv)
			status, hdr, body := srv.Do("POST", orderPath+tc.product, mustJSON(t, m))
			requireErrors(t, status, hdr, body, 400, "invalid_value:renewal_of_order_id")
			requireTally(t, srv, b, tally{})
		})
	}
}
