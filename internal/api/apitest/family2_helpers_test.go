package apitest

// Helpers of the client / S/MIME (seed 003), X9 PKI (seed 004) and account
// option tests. Names start with cl, x9 or fam2 so that they never collide
// with the helpers of the other product-family tests.

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// runRejects sends every case built from base and checks the envelope
// and that the order, request and organization totals did not move. The
// cases run in parallel (none of them may write anything); when all are
// done, the totals and the balance must be where they started.
func runRejects(t *testing.T, srv *testenv.Server, product string, base func() map[string]any, cases []rejectCase) {
	t.Helper()
	before, bal := counts(t, srv), fam2Balance(t, srv)
	t.Cleanup(func() {
		requireTally(t, srv, before, tally{})
		if now := fam2Balance(t, srv); now != bal {
			t.Errorf("rejected orders moved the balance from %s to %s", bal, now)
		}
	})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := tc.product
			if p == "" {
				p = product
			}
			m := base()
			if tc.mutate != nil {
				tc.mutate(m)
			}
			want := tc.status
			if want == 0 {
				want = http.StatusBadRequest
			}
			b := counts(t, srv)
			status, hdr, body := srv.Do("POST", orderPath+p, mustJSON(t, m))
			requireTally(t, srv, b, tally{})
			requireErrors(t, status, hdr, body, want, tc.codes...)
		})
	}
}

// fam2Order is the part of order info these tests read beyond orderInfo.
type fam2Order struct {
	ID             int64  `json:"id"`
	Status         string `json:"status"`
	OrderValidTill string `json:"order_valid_till"`
	Certificate    struct {
		ID          int64    `json:"id"`
		CommonName  string   `json:"common_name"`
		DNSNames    []string `json:"dns_names"`
		Emails      []string `json:"emails"`
		IPAddresses []string `json:"ip_addresses"`
		KeyUsages   []string `json:"key_usages"`
		EKUs        []string `json:"extended_key_usages"`
		CACert      *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"ca_cert"`
	} `json:"certificate"`
	Requests []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"requests"`
	PaymentMethod      string  `json:"payment_method"`
	CardLastFour       string  `json:"card_last_four"`
	AlternativeOrderID string  `json:"alternative_order_id"`
	DCVRandomValue     string  `json:"dcv_random_value"`
	Price              float64 `json:"price"`
}

func fam2GetOrder(t *testing.T, srv *testenv.Server, id int64) (fam2Order, []byte) {
	t.Helper()
	_, raw := getOrder(t, srv, id)
	var o fam2Order
	if err := json.Unmarshal(raw, &o); err != nil {
		t.Fatalf("decode order %d: %v", id, err)
	}
	return o, raw
}

// fam2WaitStatus polls order info until the order has status want and
// returns the order. Background validation can take a few rounds when
// dozens of -race tests share two cores, so only a failure waits 20 s.
func fam2WaitStatus(t *testing.T, srv *testenv.Server, id int64, want string) fam2Order {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		o, _ := fam2GetOrder(t, srv, id)
		if o.Status == want {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d is %q, want %q", id, o.Status, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fam2PutRequest sets a request's status and requires 204.
func fam2PutRequest(t *testing.T, srv *testenv.Server, reqID int64, status string) {
	t.Helper()
	code, _, body := srv.Do("PUT", "/services/v2/request/"+itoa(reqID)+"/status", `{"status":"`+status+`"}`)
	if code != http.StatusNoContent {
		t.Fatalf("PUT request %d status %s: %d %s", reqID, status, code, clip(body))
	}
	if len(body) != 0 {
		t.Errorf("204 with a body: %s", clip(body))
	}
}

// fam2PutCSR supplies the CSR of an order.
func fam2PutCSR(t *testing.T, srv *testenv.Server, orderID int64, csr string) (int, http.Header, []byte) {
	t.Helper()
	return srv.Do("PUT", orderPath+itoa(orderID)+"/csr", mustJSON(t, map[string]any{"csr": csr}))
}

// fam2IssuedChain downloads the order's certificate as pem_all, checks
// that each element signs the one before and that the last is a
// self-signed root, and lints every certificate.
func fam2IssuedChain(t *testing.T, srv *testenv.Server, orderID int64) []*x509.Certificate {
	t.Helper()
	status, _, body := srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", orderID), "")
	if status != http.StatusOK {
		t.Fatalf("download certificate of order %d: %d %s", orderID, status, clip(body))
	}
	chain := testenv.ParsePEMChain(t, body)
	if len(chain) != 3 {
		t.Fatalf("pem_all of order %d holds %d certificates, want leaf, intermediate, root", orderID, len(chain))
	}
	for _, c := range chain {
		testenv.RequireLintClean(t, c.Raw)
	}
	requireChainShape(t, chain)
	return chain
}

// fam2Download is the order's certificate chain as pem_all, unlinted
// (for comparing with a chain already linted).
func fam2Download(t *testing.T, srv *testenv.Server, orderID int64) []*x509.Certificate {
	t.Helper()
	status, _, body := srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", orderID), "")
	if status != http.StatusOK {
		t.Fatalf("download certificate of order %d: %d %s", orderID, status, clip(body))
	}
	return testenv.ParsePEMChain(t, body)
}

// fam2Verify builds a path from the leaf to the chain's root for the
// given usages with crypto/x509 and returns its error.
func fam2Verify(chain []*x509.Certificate, usages ...x509.ExtKeyUsage) error {
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(chain[len(chain)-1])
	for _, c := range chain[1 : len(chain)-1] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: usages})
	return err
}

// fam2Policies lists the certificate policy OIDs as dotted strings.
func fam2Policies(c *x509.Certificate) []string {
	var out []string
	for _, p := range c.Policies {
		out = append(out, p.String())
	}
	if len(out) == 0 {
		for _, p := range c.PolicyIdentifiers {
			out = append(out, p.String())
		}
	}
	return out
}

// fam2SameKey: the certificate carries exactly pub.
func fam2SameKey(t *testing.T, c *x509.Certificate, pub crypto.PublicKey) {
	t.Helper()
	k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !k.Equal(pub) {
		t.Errorf("the certificate's key (%T) is not the key of the CSR (%T)", c.PublicKey, pub)
	}
}

// fam2Day is the UTC date of a time, yyyy-MM-dd.
func fam2Day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// fam2Keys is the sorted key set of a JSON object.
func fam2Keys(t *testing.T, raw []byte) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %v: %s", err, clip(raw))
	}
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fam2Balance reads GET /finance/balance.
func fam2Balance(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	status, hdr, body := srv.Do("GET", "/services/v2/finance/balance", "")
	if status != http.StatusOK {
		t.Fatalf("GET balance: %d %s", status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Balance  string `json:"balance"`
		Currency string `json:"currency"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Currency != "USD" || v.Balance == "" {
		t.Fatalf("balance body: %v %s", err, clip(body))
	}
	return v.Balance
}

// fam2Must asserts a condition with a formatted message.
func fam2Must(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Errorf(format, args...)
	}
}

func fam2Contains(list []string, s string) bool { return slices.Contains(list, s) }

func fam2HasPrefix(list []string, prefix string) bool {
	return slices.ContainsFunc(list, func(s string) bool { return strings.HasPrefix(s, prefix) })
}
