package apitest

// Keys revoked for keyCompromise are never certified again (Baseline
// Requirements 6.1.1.3), in any account. Helpers start with bk.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/api"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// otherAccount makes a second account on srv's store with an
// administrator and returns its API key: what cross-account tests attack
// from.
func otherAccount(t *testing.T, srv *testenv.Server) string {
	t.Helper()
	key := "OTHERACCOUNTKEY" + strings.Repeat("7", 40)
	ctx := t.Context()
	now := time.Now().UTC()
	err := srv.App.Store.InTx(ctx, func(tx store.Tx) error {
		a := &store.Account{Name: "other", ApprovalMode: "one_step", AllowSkipApproval: true, BalanceCents: 100000, CreatedAt: now}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		c := &store.Container{AccountID: a.ID, Name: "other", IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: a.ID, ContainerID: c.ID, Username: "other.admin", FirstName: "O", LastName: "A", Email: "o@example.com",
			AccessRole: store.RoleAdministrator, Status: "active", CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, &store.APIKey{AccountID: a.ID, UserID: u.ID, Hash: api.HashKey(key), CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// bkIssue orders an immediately issued DV certificate for csr with key
// (an administrator's) and returns the order and its certificate id.
func bkIssue(t *testing.T, srv *testenv.Server, key, csr string) created {
	t.Helper()
	m := dvBase(csr)
	m["skip_approval"] = true
	status, hdr, body := srv.DoKey(key, "POST", orderPath+"ssl_dv_geotrust", mustJSON(t, m))
	c := requireCreated(t, status, hdr, body)
	c.requireChain(t, "example.com")
	return c
}

// TestKeyCompromiseBlocksKey: once a certificate is revoked with
// key_compromise, by any revoke route and in any account, its key is
// refused by every call that takes a key (new orders in both accounts,
// reissue, duplicate, PUT .../csr) with 400 csr_key_compromised, the same
// message whoever revoked it; an order that took the key before the
// revocation does not issue on approval. Other reasons block nothing.
func TestKeyCompromiseBlocksKey(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	other := otherAccount(t, srv)
	admin := srv.AdminKey

	type revoker func(t *testing.T, placed created)
	skip := func(key string, path func(created) string) revoker {
		return func(t *testing.T, placed created) {
			status, _, body := srv.DoKey(key, "PUT", path(placed), rvSkip("key_compromise"))
			rvNoContent(t, status, body)
		}
	}
	byCert := func(c created) string { return rvCertPath(itoa(c.CertificateID)) }
	byOrder := func(c created) string { return rvOrderPath(c.ID) }
	approved := func(t *testing.T, placed created) {
		status, hdr, body := srv.Do("PUT", byCert(placed), `{"revocation_reason":"key_compromise","comments":"stolen laptop"}`)
		req := rvCreated(t, status, hdr, body, "submitted", "stolen laptop")
		fam2PutRequest(t, srv, req.ID, "approved")
	}
	for _, tc := range []struct {
		name    string
		owner   string // the account whose certificate is revoked
		revoke  revoker
		blocked bool
	}{
		{"certificate call, approval skipped", admin, skip(admin, byCert), true},
		{"order call, approval skipped", admin, skip(admin, byOrder), true},
		{"revoke request approved", admin, approved, true},
		{"another account's revocation", other, skip(other, byCert), true},
		{"superseded blocks nothing", admin, func(t *testing.T, placed created) {
			status, _, body := srv.Do("PUT", byCert(placed), rvSkip("superseded"))
			rvNoContent(t, status, body)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, csr := lcKey(t)
			placed := bkIssue(t, srv, tc.owner, csr)
			// Before the revocation: an issued order to reissue and
			// duplicate, one waiting for approval to take a new CSR, and
			// one that took the key and waits for approval.
			_, otherCSR := lcKey(t)
			issued := bkIssue(t, srv, admin, otherCSR)
			waiting := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(otherCSR)))
			tookKey := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))

			tc.revoke(t, placed)

			calls := []struct {
				name, key, method, path string
				body                    map[string]any
			}{
				{"new order", admin, "POST", orderPath + "ssl_securesite", baseBody(csr)},
				{"new order, other account", other, "POST", orderPath + "ssl_dv_geotrust", dvBase(csr)},
				{"new order, same key in another CSR", admin, "POST", orderPath + "ssl_dv_geotrust",
					dvBase(csrWith(t, key, "another.example.com", "another.example.com"))},
				{"reissue", admin, "POST", orderPath + itoa(issued.ID) + "/reissue",
					map[string]any{"certificate": map[string]any{"csr": csr}, "skip_approval": true}},
				{"duplicate", admin, "POST", orderPath + itoa(issued.ID) + "/duplicate",
					map[string]any{"certificate": map[string]any{"csr": csr}, "skip_approval": true}},
				{"PUT csr", admin, "PUT", orderPath + itoa(waiting.ID) + "/csr", map[string]any{"csr": csr}},
			}
			var messages []string
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					before := counts(t, srv)
					status, hdr, body := srv.DoKey(c.key, c.method, c.path, mustJSON(t, c.body))
					if !tc.blocked {
						if status >= 300 {
							t.Fatalf("%d %s; a key revoked as superseded stays allowed", status, clip(body))
						}
						return
					}
					requireErrors(t, status, hdr, body, http.StatusBadRequest, "csr_key_compromised")
					requireTally(t, srv, before, tally{})
					var env envelope
					if err := json.Unmarshal(body, &env); err != nil {
						t.Fatal(err)
					}
					messages = append(messages, env.Errors[0].Message)
				})
			}
			for _, m := range messages {
				if m != messages[0] {
					t.Errorf("refusals differ: %q and %q; they must not tell whose revocation it was", m, messages[0])
				}
			}

			// The order that took the key earlier: its approval does not
			// issue it while the key is blocked.
			fam2PutRequest(t, srv, tookKey.Requests[0].ID, "approved")
			info, _ := getOrder(t, srv, tookKey.ID)
			if tc.blocked && info.Status != "pending" {
				t.Errorf("order %d that took the blocked key is %s after approval, want pending (not issued)", tookKey.ID, info.Status)
			}
			if !tc.blocked && info.Status != "issued" {
				t.Errorf("order %d is %s after approval, want issued", tookKey.ID, info.Status)
			}

			// A new key is certified as ever.
			_, fresh := lcKey(t)
			bkIssue(t, srv, tc.owner, fresh)
		})
	}
}
