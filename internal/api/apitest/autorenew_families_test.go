package apitest

import (
	"context"
	"crypto"
	"crypto/elliptic"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// TestAutoRenewEveryFamily: an order with auto_renew of every product
// family is renewed 30 days before its end by the order its requester
// would place: same product, subject (names, emails, IP addresses,
// organization units), organization, container, validity, payment and
// family details (key usages, provisioning method, shipping address),
// renewal_of_order_id set. Code signing and client products count
// auto_renew down. The key: the order's CSR where the family takes one; a
// code signing token method makes a new key on the token, so that renewal
// waits in needs_csr and issues once the new key's CSR is sent.
func TestAutoRenewEveryFamily(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	ctx := context.Background()
	key := testenv.ECKey(t, elliptic.P256())
	csr := testenv.CSR(t, key, "ignored")
	uid := x9UserID(t, srv)
	divA := usrContainer(t, srv, 1, "Renewals")
	with := func(m map[string]any, kv ...any) map[string]any {
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		m["skip_approval"] = true
		m["container"] = map[string]any{"id": divA}
		return m
	}
	type family struct {
		product   string
		body      map[string]any
		autoRenew int    // auto_renew the renewal must carry
		newKey    bool   // the renewal waits for a new key
		method    string // code signing provisioning method
		check     func(t *testing.T, old, nu *store.Order)
	}
	x9 := x9Body(csr, uid)
	certOf(x9)["dns_names"] = []any{"sub.example.com", "93.184.216.40"}
	certOf(x9)["key_usages"] = []any{"digital_signature"}
	certOf(x9)["extended_key_usages"] = []any{"client_authentication"}
	hsm := csBase(csr)
	hsm["cs_provisioning_method"] = "email"
	delete(certOf(hsm), "server_platform")
	token := csBase("")
	delete(certOf(token), "csr")
	ship := csBase("")
	delete(certOf(ship), "csr")
	delete(certOf(ship), "server_platform")
	cases := []family{
		{product: "ssl_dv_geotrust", body: with(dvBase(csr), "auto_renew", 1), autoRenew: 1},
		{product: "x9_pki", body: with(x9), autoRenew: 1, check: func(t *testing.T, old, nu *store.Order) {
			if !slices.Equal(nu.IPAddresses, []string{"93.184.216.40"}) || !slices.Equal(nu.DNSNames, old.DNSNames) ||
				!slices.Equal(nu.Extra.KeyUsages, []string{"digital_signature"}) || !slices.Equal(nu.Extra.ExtendedKeyUsages, []string{"client_authentication"}) ||
				nu.Extra.OrganizationContact == nil || nu.Extra.OrganizationContact.UserID != uid ||
				nu.Extra.TechnicalContact == nil || nu.Extra.TechnicalContact.Email != "jill.valentine@digicert.com" {
				t.Errorf("X9 renewal: names %v %v, usages %v %v, contacts %+v %+v", nu.DNSNames, nu.IPAddresses,
					nu.Extra.KeyUsages, nu.Extra.ExtendedKeyUsages, nu.Extra.OrganizationContact, nu.Extra.TechnicalContact)
			}
		}},
		{product: "client_email_security_plus", body: with(clBody(csr), "auto_renew", 3), autoRenew: 2, check: func(t *testing.T, old, nu *store.Order) {
			if !slices.Equal(nu.Emails, []string{clEmail}) || nu.CommonName != "Lock Cole" || !slices.Equal(nu.OrganizationUnits, []string{"Accounting"}) {
				t.Errorf("client renewal: cn %q, emails %v, units %v", nu.CommonName, nu.Emails, nu.OrganizationUnits)
			}
		}},
		{product: "class1_smime", body: with(clBody(csr), "auto_renew", 1), autoRenew: 0},
		{product: "code_signing", body: with(hsm, "auto_renew", 2), autoRenew: 1, method: "email"},
		{product: "code_signing", body: with(token, "auto_renew", 1), autoRenew: 0, method: "client_app", newKey: true,
			check: func(t *testing.T, old, nu *store.Order) {
				if nu.ServerPlatformID != 52 {
					t.Errorf("token renewal: server platform %d, want 52", nu.ServerPlatformID)
				}
			}},
		{product: "code_signing_ev", body: with(ship, "auto_renew", 5, "cs_provisioning_method", "ship_token", "ship_info", csShip()),
			autoRenew: 4, method: "ship_token", newKey: true, check: func(t *testing.T, old, nu *store.Order) {
				if nu.Extra.ShipInfo == nil || *nu.Extra.ShipInfo != *old.Extra.ShipInfo {
					t.Errorf("ship_info %+v, want %+v", nu.Extra.ShipInfo, old.Extra.ShipInfo)
				}
			}},
	}
	ids := make([]int64, len(cases))
	for i, c := range cases {
		got := createOK(t, srv, c.product, mustJSON(t, c.body))
		if c.newKey {
			// The original's key comes from the token as well.
			if status, _, body := srv.Do("PUT", fmt.Sprintf("%s%d/csr", orderPath, got.ID), mustJSON(t, map[string]string{"csr": csr})); status != http.StatusNoContent {
				t.Fatalf("%s: PUT csr: %d %s", c.product, status, clip(body))
			}
		}
		fam2WaitStatus(t, srv, got.ID, "issued")
		ids[i] = got.ID
	}
	first, err := srv.App.Store.Order(ctx, 1, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	// Every order runs a year from today: one move puts them all 29 days
	// before their end.
	shift.Store(int64(time.Until(first.OrderValidTill.Add(-jobs.RenewLead + time.Hour))))
	roundsUntil(t, srv, &shift, func() bool {
		for _, id := range ids {
			if o, err := srv.App.Store.Order(ctx, 1, id); err != nil || !o.IsRenewed {
				return false
			}
		}
		return true
	}, jobs.KindRenew)
	for i, c := range cases {
		t.Run(fmt.Sprintf("%s %s", c.product, c.method), func(t *testing.T) {
			old, err := srv.App.Store.Order(ctx, 1, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if !old.IsRenewed || old.RenewedOrderID == 0 {
				t.Fatalf("order %d was not renewed", old.ID)
			}
			nu, err := srv.App.Store.Order(ctx, 1, old.RenewedOrderID)
			if err != nil {
				t.Fatal(err)
			}
			if nu.RenewalOfOrderID != old.ID || nu.ProductNameID != old.ProductNameID || nu.CommonName != old.CommonName ||
				nu.OrganizationID != old.OrganizationID || nu.ContainerID != divA || nu.ValidityYears != old.ValidityYears ||
				!nu.OrderValidTill.After(old.OrderValidTill) || nu.PaymentMethod != "balance" || nu.UserID != old.UserID ||
				nu.AutoRenew != c.autoRenew || nu.Extra.CSProvisioningMethod != old.Extra.CSProvisioningMethod ||
				!slices.Equal(nu.DNSNames, old.DNSNames) || nu.SignatureHash != old.SignatureHash {
				t.Errorf("renewal %+v\nof %+v (auto_renew want %d)", nu, old, c.autoRenew)
			}
			if c.check != nil {
				c.check(t, old, nu)
			}
			want := key.Public()
			if c.newKey {
				if nu.Status != store.OrderNeedsCSR || nu.CSR != "" {
					t.Fatalf("token renewal is %s with CSR %t, want needs_csr without one", nu.Status, nu.CSR != "")
				}
				nk := testenv.ECKey(t, elliptic.P256())
				want = nk.Public()
				body := mustJSON(t, map[string]string{"csr": testenv.CSR(t, nk, "ignored")})
				if status, _, b := srv.Do("PUT", fmt.Sprintf("%s%d/csr", orderPath, nu.ID), body); status != http.StatusNoContent {
					t.Fatalf("PUT csr of the renewal: %d %s", status, clip(b))
				}
			} else if nu.CSR != old.CSR {
				t.Errorf("the renewal does not reuse the order's CSR")
			}
			fam2WaitStatus(t, srv, nu.ID, "issued")
			nu, err = srv.App.Store.Order(ctx, 1, nu.ID)
			if err != nil {
				t.Fatal(err)
			}
			cert, err := srv.App.Store.Certificate(ctx, 1, nu.CertificateID)
			if err != nil {
				t.Fatal(err)
			}
			leaf := arLeaf(t, *cert) // linted
			if !leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(want) {
				t.Error("the renewal's certificate has another key than expected")
			}
		})
	}
}
