package apitest

import (
	"crypto/elliptic"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// Account options (testenv.Options / app.Config): the approval mode, unique
// alternative order ids, and the initial balance.

// secondApprover is the API key of another administrator of the account,
// for the second approval of two-step requests.
func secondApprover(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	_, key := usrKey(t, srv, usrUser(t, srv, 1, 1), 0)
	return key
}

// TestAccountTwoStepApproval: on a two-step account a new request is
// submitted; it needs a first approval (pending) before the second
// (approved), by another approver, issues the order.
func TestAccountTwoStepApproval(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: "two_step"})
	key := testenv.ECKey(t, elliptic.P256())
	csr := testenv.CSR(t, key, "ignored")
	orgName := clOrgName(t, srv)
	place := func(t *testing.T, product string) created {
		t.Helper()
		m := clBody(csr)
		delete(m, "skip_approval")
		b := counts(t, srv)
		got := createOK(t, srv, product, mustJSON(t, m))
		got.requireKeys(t, "id", "requests")
		if len(got.Requests) != 1 || got.Requests[0].ID <= 0 || got.Requests[0].Status != "submitted" {
			t.Fatalf("requests = %+v, want one submitted request", got.Requests)
		}
		requireTally(t, srv, b, tally{orders: 1, requests: 1})
		return got
	}

	other := secondApprover(t, srv)
	got := place(t, "class1_smime")
	reqID := got.Requests[0].ID
	if r := getRequest(t, srv, reqID); r.Status != "submitted" || r.Order.Status != "needs_approval" {
		t.Fatalf("request %s, order %s; want submitted, needs_approval", r.Status, r.Order.Status)
	}
	moves := []struct {
		name, from, to string
		code           string // "" = 204
		order          string // order status afterwards
		key            string // default the first administrator's
	}{
		{"approve straight away", "submitted", "approved", "invalid_request_status", "needs_approval", ""},
		{"submitted again is a no-op", "submitted", "submitted", "", "needs_approval", ""},
		{"first approval", "submitted", "pending", "", "needs_approval", ""},
		{"back to submitted", "pending", "submitted", "invalid_request_status", "needs_approval", ""},
		{"second approval by the first approver", "pending", "approved", "access_denied|missing_permission", "needs_approval", ""},
		{"second approval", "pending", "approved", "", "issued", other},
		{"reject after approval", "approved", "rejected", "invalid_request_status", "issued", ""},
	}
	for _, mv := range moves {
		t.Run(mv.name, func(t *testing.T) {
			if r := getRequest(t, srv, reqID); r.Status != mv.from {
				t.Fatalf("request is %s before the call, want %s", r.Status, mv.from)
			}
			b := counts(t, srv)
			key := mv.key
			if key == "" {
				key = srv.AdminKey
			}
			status, hdr, body := srv.DoKey(key, "PUT", "/services/v2/request/"+itoa(reqID)+"/status", `{"status":"`+mv.to+`"}`)
			if mv.code != "" {
				want := http.StatusBadRequest
				if strings.HasPrefix(mv.code, "access_denied") {
					want = http.StatusForbidden
				}
				requireErrors(t, status, hdr, body, want, mv.code)
			} else if status != http.StatusNoContent {
				t.Fatalf("status = %d, want 204: %s", status, clip(body))
			}
			requireTally(t, srv, b, tally{})
			want := mv.from
			if mv.code == "" {
				want = mv.to
			}
			if r := getRequest(t, srv, reqID); r.Status != want {
				t.Errorf("request is %s after the call, want %s", r.Status, want)
			}
			fam2WaitStatus(t, srv, got.ID, mv.order)
			if mv.order != "issued" {
				dl, _, body := srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", got.ID), "")
				fam2Must(t, dl == http.StatusNotFound, "certificate download before the second approval: %d %s", dl, clip(body))
			}
		})
	}
	t.Run("reviewer and processor", func(t *testing.T) {
		r := getRequest(t, srv, reqID)
		admin := x9UserID(t, srv)
		if r.Reviewer == nil || r.Reviewer.ID != admin || r.Processor == nil || r.Processor.ID == admin {
			t.Errorf("reviewer %+v processor %+v; want the first administrator (%d) and another", r.Reviewer, r.Processor, admin)
		}
	})
	t.Run("issued certificate", func(t *testing.T) {
		chain := fam2IssuedChain(t, srv, got.ID)
		fam2SameKey(t, chain[0], key.Public())
		clCheckLeaf(t, "class1_smime", chain, []string{clEmail}, clEmail, orgName, "")
	})

	t.Run("reject while submitted", func(t *testing.T) {
		o := place(t, "client_premium")
		fam2PutRequest(t, srv, o.Requests[0].ID, "rejected")
		r := getRequest(t, srv, o.Requests[0].ID)
		if r.Status != "rejected" || r.Order.Status != "rejected" {
			t.Errorf("request %s, order %s; want rejected, rejected", r.Status, r.Order.Status)
		}
		status, hdr, body := srv.Do("PUT", "/services/v2/request/"+itoa(o.Requests[0].ID)+"/status", `{"status":"pending"}`)
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_request_status")
	})

	t.Run("skip_approval still issues at once", func(t *testing.T) {
		b := counts(t, srv)
		o := createOK(t, srv, "client_authentication_plus", mustJSON(t, clBody(csr)))
		o.requireKeys(t, "id", "certificate_id", "certificate_chain")
		chain := o.requireChain(t, "Lock Cole")
		clCheckLeaf(t, "client_authentication_plus", chain, []string{clEmail}, "Lock Cole", orgName, "")
		requireTally(t, srv, b, tally{orders: 1})
	})

	// This account does not require unique alternative order ids.
	t.Run("duplicate alternative_order_id allowed without the option", func(t *testing.T) {
		var ids []int64
		for range 2 {
			m := clBody(csr)
			m["alternative_order_id"] = "PO-7"
			b := counts(t, srv)
			o := createOK(t, srv, "class1_smime", mustJSON(t, m))
			requireTally(t, srv, b, tally{orders: 1})
			ids = append(ids, o.ID)
		}
		for _, id := range ids {
			if info, _ := fam2GetOrder(t, srv, id); info.AlternativeOrderID != "PO-7" {
				t.Errorf("order %d alternative_order_id = %q, want PO-7", id, info.AlternativeOrderID)
			}
		}
	})
}

// TestAccountAutoApproval: on an auto-approve account the requester's own
// request is approved at creation and the order issues when ready: at
// once, with certificate_chain in the 201, when everything is validated
// (the sandbox).
func TestAccountAutoApproval(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: "auto"})
	key := testenv.ECKey(t, elliptic.P256())
	csr := testenv.CSR(t, key, "ignored")
	orgName := clOrgName(t, srv)
	uid := x9UserID(t, srv)
	requireApproved := func(t *testing.T, got created) {
		t.Helper()
		if len(got.Requests) != 1 || got.Requests[0].ID <= 0 || got.Requests[0].Status != "approved" || got.CertificateID <= 0 {
			t.Fatalf("requests = %+v, certificate_id %d; want one approved request and a certificate id", got.Requests, got.CertificateID)
		}
		if r := getRequest(t, srv, got.Requests[0].ID); r.Status != "approved" {
			t.Errorf("request info status = %s, want approved", r.Status)
		}
	}

	t.Run("client certificate", func(t *testing.T) {
		m := clBody(csr)
		delete(m, "skip_approval")
		b := counts(t, srv)
		got := createOK(t, srv, "client_authentication_plus", mustJSON(t, m))
		got.requireKeys(t, "id", "requests", "certificate_id", "certificate_chain")
		requireApproved(t, got)
		requireTally(t, srv, b, tally{orders: 1, requests: 1})
		info := fam2WaitStatus(t, srv, got.ID, "issued")
		fam2Must(t, info.Certificate.ID == got.CertificateID, "order info certificate id %d, 201 said %d", info.Certificate.ID, got.CertificateID)
		chain := fam2IssuedChain(t, srv, got.ID)
		fam2SameKey(t, chain[0], key.Public())
		clCheckLeaf(t, "client_authentication_plus", chain, []string{clEmail}, "Lock Cole", orgName, "")

		t.Run("approving again is a no-op, rejecting is refused", func(t *testing.T) {
			fam2PutRequest(t, srv, got.Requests[0].ID, "approved")
			status, hdr, body := srv.Do("PUT", "/services/v2/request/"+itoa(got.Requests[0].ID)+"/status", `{"status":"rejected"}`)
			requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_request_status")
			fam2WaitStatus(t, srv, got.ID, "issued")
		})
	})

	t.Run("X9 seed names", func(t *testing.T) {
		m := x9Body(testenv.CSR(t, testenv.RSAKey(t), "ignored"), uid)
		delete(m, "skip_approval")
		status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
		got := requireCreated(t, status, hdr, body)
		got.requireKeys(t, "id", "requests", "domains", "certificate_id", "certificate_chain")
		requireApproved(t, got)
		x9CheckDomains(t, body, x9SeedNames.dns, x9SeedNames.reg, "")
		fam2WaitStatus(t, srv, got.ID, "issued")
		fam2IssuedChain(t, srv, got.ID)
	})

	t.Run("X9", func(t *testing.T) {
		m, n := x9GoodBody(csr, uid)
		delete(m, "skip_approval")
		b := counts(t, srv)
		status, hdr, body := srv.Do("POST", orderPath+"x9_pki", mustJSON(t, m))
		got := requireCreated(t, status, hdr, body)
		got.requireKeys(t, "id", "requests", "domains", "certificate_id", "certificate_chain")
		requireApproved(t, got)
		x9CheckDomains(t, body, n.dns, n.reg, "")
		requireTally(t, srv, b, tally{orders: 1, requests: 1})
		fam2WaitStatus(t, srv, got.ID, "issued")
		chain := fam2IssuedChain(t, srv, got.ID)
		fam2SameKey(t, chain[0], key.Public())
		if !strings.Contains(chain[1].Subject.CommonName, "X9") {
			t.Errorf("issuer %q is not an X9 intermediate", chain[1].Subject.CommonName)
		}
	})

	t.Run("client certificate without CSR", func(t *testing.T) {
		m := clBody("")
		delete(m, "skip_approval")
		got := createOK(t, srv, "class1_smime", mustJSON(t, m))
		got.requireKeys(t, "id", "requests", "certificate_id")
		requireApproved(t, got)
		fam2WaitStatus(t, srv, got.ID, "needs_csr")
		status, _, body := fam2PutCSR(t, srv, got.ID, csr)
		if status != http.StatusNoContent {
			t.Fatalf("PUT csr: %d %s", status, clip(body))
		}
		fam2WaitStatus(t, srv, got.ID, "issued")
		clCheckLeaf(t, "class1_smime", fam2IssuedChain(t, srv, got.ID), []string{clEmail}, clEmail, orgName, "")
	})

	t.Run("skip_approval creates no request", func(t *testing.T) {
		b := counts(t, srv)
		got := createOK(t, srv, "class1_smime", mustJSON(t, clBody(csr)))
		got.requireKeys(t, "id", "certificate_id", "certificate_chain")
		got.requireChain(t, clEmail)
		requireTally(t, srv, b, tally{orders: 1})
	})
}

// TestAccountUniqueAltOrderID: with the option, an alternative_order_id
// names one order only, so clients can retry safely; refused repeats
// write nothing and charge nothing. The account starts with 1000 USD.
func TestAccountUniqueAltOrderID(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, RequireUniqueAltOrderID: true, InitialBalanceCents: 100000})
	key := testenv.ECKey(t, elliptic.P256())
	csr := testenv.CSR(t, key, "ignored")
	uid := x9UserID(t, srv)
	cents := func(t *testing.T) int64 { t.Helper(); return clCents(t, srv) }
	if got := fam2Balance(t, srv); got != "1000.00" {
		t.Fatalf("initial balance = %q, want 1000.00", got)
	}
	const premium = 9900 // client_premium, one year
	body := func(alt string, skip bool) string {
		m := clBody(csr)
		if !skip {
			delete(m, "skip_approval")
		}
		if alt != "" {
			m["alternative_order_id"] = alt
		}
		return mustJSON(t, m)
	}

	first := createOK(t, srv, "client_premium", body("PO-1001", false))
	first.requirePending(t)
	if c := cents(t); c != 100000-premium {
		t.Fatalf("balance after the first order = %d cents, want %d", c, 100000-premium)
	}

	t.Run("repeats refused", func(t *testing.T) {
		x9, _ := x9GoodBody(csr, uid)
		delete(x9, "skip_approval")
		x9["alternative_order_id"] = "PO-1001"
		cases := []struct {
			name, product, body string
		}{
			{"same body", "client_premium", body("PO-1001", false)},
			{"with skip_approval (signed, then refused)", "class1_smime", body("PO-1001", true)},
			{"other product", "x9_pki", mustJSON(t, x9)},
			{"padded id", "class1_smime", body("  PO-1001 ", false)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				b, bal := counts(t, srv), cents(t)
				status, hdr, resp := srv.Do("POST", orderPath+tc.product, tc.body)
				requireErrors(t, status, hdr, resp, http.StatusBadRequest, "invalid_value:alternative_order_id")
				requireTally(t, srv, b, tally{})
				if c := cents(t); c != bal {
					t.Errorf("balance moved from %d to %d cents", bal, c)
				}
			})
		}
		if info, _ := fam2GetOrder(t, srv, first.ID); info.AlternativeOrderID != "PO-1001" || info.Status != "needs_approval" {
			t.Errorf("first order: alternative_order_id %q, status %q", info.AlternativeOrderID, info.Status)
		}
	})

	t.Run("other ids and none accepted", func(t *testing.T) {
		for _, alt := range []string{"PO-1002", "po-1001x", "", ""} {
			b, bal := counts(t, srv), cents(t)
			createOK(t, srv, "client_premium", body(alt, false)).requirePending(t)
			requireTally(t, srv, b, tally{orders: 1, requests: 1})
			if c := cents(t); c != bal-premium {
				t.Errorf("alternative_order_id %q: balance %d → %d cents, want a debit of %d", alt, bal, c, premium)
			}
		}
	})

	t.Run("concurrent orders with one new id: exactly one wins", func(t *testing.T) {
		const n = 4
		b := counts(t, srv)
		codes := make([]int, n)
		bodies := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, err := http.NewRequest("POST", srv.URL+orderPath+"client_premium", strings.NewReader(body("PO-RACE", false)))
				if err != nil {
					return
				}
				req.Header.Set("X-DC-DEVKEY", srv.AdminKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					bodies[i] = err.Error()
					return
				}
				defer resp.Body.Close()
				rb, _ := io.ReadAll(resp.Body)
				codes[i], bodies[i] = resp.StatusCode, string(rb)
			}()
		}
		wg.Wait()
		won := 0
		for i, c := range codes {
			switch {
			case c == http.StatusCreated:
				won++
			case c == http.StatusBadRequest && strings.Contains(bodies[i], `"invalid_value:alternative_order_id"`):
			default:
				t.Errorf("order %d: %d %s", i, c, bodies[i])
			}
		}
		if won != 1 {
			t.Errorf("%d of %d concurrent orders with one alternative_order_id were accepted, want 1", won, n)
		}
		requireTally(t, srv, b, tally{orders: 1, requests: 1})
	})

	t.Run("insufficient funds", func(t *testing.T) {
		// Spend down to less than a class1_smime order costs (29 USD) with
		// x9_pki orders (499 USD) and client_premium ones (99 USD).
		bal := cents(t)
		x9 := x9Body(csr, uid)
		delete(x9, "skip_approval")
		for bal >= 49900+2900 {
			createOK(t, srv, "x9_pki", mustJSON(t, x9))
			bal -= 49900
		}
		for bal >= premium+2900 {
			createOK(t, srv, "client_premium", body("", false))
			bal -= premium
		}
		for bal >= 2900 {
			createOK(t, srv, "class1_smime", body("", false))
			bal -= 2900
		}
		if c := cents(t); c != bal {
			t.Fatalf("balance = %d cents, want %d", c, bal)
		}
		b := counts(t, srv)
		status, hdr, resp := srv.Do("POST", orderPath+"class1_smime", body("", true))
		requireErrors(t, status, hdr, resp, http.StatusBadRequest, "insufficient_funds")
		requireTally(t, srv, b, tally{})
		if c := cents(t); c != bal {
			t.Errorf("a refused order moved the balance from %d to %d cents", bal, c)
		}
		// A card payment does not need the balance.
		m := clBody(csr)
		m["payment_method"] = "card"
		m["credit_card"] = map[string]any{"number": "4111111111111111", "expiration": map[string]any{"month": 12, "year": 2099}, "cvv": "123"}
		got := createOK(t, srv, "class1_smime", mustJSON(t, m))
		got.requireKeys(t, "id", "certificate_id", "certificate_chain")
		got.requireChain(t, clEmail)
		if c := cents(t); c != bal {
			t.Errorf("a card order moved the balance from %d to %d cents", bal, c)
		}
	})
}
