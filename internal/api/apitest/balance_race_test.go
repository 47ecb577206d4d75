package apitest

import (
	"crypto/elliptic"
	"net/http"
	"sync"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestBalanceRunsOutUnderConcurrentOrders: orders placed at once against
// a balance that covers one of them all pass the early balance check (the
// authentication's read of the account), and the charge in the order's
// transaction refuses the rest. Each refusal is the same 400
// insufficient_funds as the early check's, on either store (PostgreSQL
// holds the charge back and learns of the refusal from a later statement
// or the commit), and the balance is charged exactly once.
func TestBalanceRunsOutUnderConcurrentOrders(t *testing.T) {
	t.Parallel()
	stores := []struct{ name, db string }{{"sqlite", ""}, {"postgres", "postgres"}}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			opts := testenv.Options{Sandbox: false, InitialBalanceCents: 10000}
			if st.db == "postgres" {
				opts.Database = testenv.PostgresDatabase(t) // skips, saying why, without a server
			}
			srv := testenv.Start(t, opts)
			price := dvcsPrice(t, srv, "ssl_dv_rapidssl")
			if price > 10000 || 2*price <= 10000 {
				t.Fatalf("ssl_dv_rapidssl costs %d cents; the test needs one order to fit 100.00 USD and two not to", price)
			}
			csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")
			const n = 6
			type answer struct {
				status int
				hdr    http.Header
				body   []byte
			}
			answers := make([]answer, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m := dvBase(csr)
					m["skip_approval"] = true
					<-start
					status, hdr, body := dvcsPost(t, srv, "ssl_dv_rapidssl", m)
					answers[i] = answer{status, hdr, body}
				}()
			}
			close(start)
			wg.Wait()
			placed := 0
			for _, a := range answers {
				if a.status == http.StatusCreated {
					placed++
					continue
				}
				requireErrors(t, a.status, a.hdr, a.body, http.StatusBadRequest, "insufficient_funds")
			}
			if placed != 1 {
				t.Errorf("%d orders placed, want exactly one", placed)
			}
			if got := dvcsBalance(t, srv); got != 10000-price {
				t.Errorf("balance = %d, want %d", got, 10000-price)
			}
		})
	}
}
