package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/api"
	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// arSetting is order info's auto_reissue.
func arSetting(t *testing.T, srv *testenv.Server, id int64) int {
	t.Helper()
	_, raw := getOrder(t, srv, id)
	var v struct {
		AutoReissue *int `json:"auto_reissue"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.AutoReissue == nil {
		t.Fatalf("order info of %d has no auto_reissue: %v %s", id, err, clip(raw))
	}
	return *v.AutoReissue
}

func arPut(srv *testenv.Server, key string, id int64, body string) (int, http.Header, []byte) {
	return srv.DoKey(key, "PUT", fmt.Sprintf("%s%d/auto-reissue", orderPath, id), body)
}

// TestAutoReissueSettingRoles: PUT /order/certificate/{id}/auto-reissue is
// an order edit. Every access role with every key role gets what the
// permission table says: 204 and order info changed, or 403 and nothing
// changed; a limited user reaches only their own orders (another user's
// is 404).
func TestAutoReissueSettingRoles(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	divA := usrContainer(t, srv, 1, "Division A")
	place := func(key string) int64 {
		t.Helper()
		m := baseBody(csr)
		m["container"] = map[string]any{"id": divA}
		status, hdr, body := srv.DoKey(key, "POST", orderPath+"ssl_securesite", mustJSON(t, m))
		return requireCreated(t, status, hdr, body).ID
	}
	acct := &store.Account{ID: 1}
	for _, role := range account.AccessRoles {
		uid := usrUser(t, srv, role, divA)
		_, full := usrKey(t, srv, uid, account.KeyRoleInherit)
		var own int64
		if account.Allowed(account.As(acct, &store.User{AccessRole: role}, 0), account.AreaOrders, false) == nil {
			own = place(full)
		}
		for _, kr := range account.KeyRoles {
			t.Run(fmt.Sprintf("%s key %d", account.RoleNames[role], kr), func(t *testing.T) {
				_, key := usrKey(t, srv, uid, kr)
				target := place(srv.AdminKey)
				allowed := account.Allowed(account.As(acct, &store.User{AccessRole: role}, kr), account.AreaOrders, false) == nil
				status, hdr, body := arPut(srv, key, target, `{"auto_reissue":0}`)
				switch {
				case !allowed:
					requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
				case role == store.RoleLimitedUser:
					requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|order")
				case status != http.StatusNoContent || len(body) != 0:
					t.Fatalf("allowed caller: %d %s, want 204", status, clip(body))
				}
				want := 1
				if allowed && role != store.RoleLimitedUser {
					want = 0
				}
				if got := arSetting(t, srv, target); got != want {
					t.Errorf("auto_reissue after the call = %d, want %d", got, want)
				}
				if own == 0 || !allowed {
					return
				}
				// The caller's own order: every allowed caller, a limited
				// user too, switches it off and on again.
				for _, v := range []int{0, 1} {
					if status, _, body := arPut(srv, key, own, fmt.Sprintf(`{"auto_reissue":%d}`, v)); status != http.StatusNoContent {
						t.Fatalf("own order, auto_reissue %d: %d %s", v, status, clip(body))
					}
					if got := arSetting(t, srv, own); got != v {
						t.Errorf("own order: auto_reissue = %d, want %d", got, v)
					}
				}
			})
		}
	}
}

// TestAutoReissueSettingScopeAndValues: another division's order and
// another account's are 404 as for every order edit; values other than 0
// and 1, a missing field and a body that is not JSON are 400 in the
// envelope and change nothing; the same value twice is 204 with one audit
// event; the order's id, thumbprint or serial all name it.
func TestAutoReissueSettingScopeAndValues(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	divA := usrContainer(t, srv, 1, "Division A")
	divB := usrContainer(t, srv, 1, "Division B")
	m := baseBody(csr)
	m["container"] = map[string]any{"id": divA}
	got := lcIssuedAnswer(t, srv, "ssl_securesite", m)
	id := got.ID
	_, stdB := usrKey(t, srv, usrUser(t, srv, store.RoleStandardUser, divB), 0)
	_, mgrB := usrKey(t, srv, usrUser(t, srv, store.RoleManager, divB), 0)

	ctx := context.Background()
	other := "OTHERACCOUNTKEY" + strings.Repeat("8", 40)
	now := time.Now().UTC()
	err := srv.App.Store.InTx(ctx, func(tx store.Tx) error {
		a := &store.Account{Name: "other", ApprovalMode: "one_step", CreatedAt: now}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		c := &store.Container{AccountID: a.ID, Name: "other", IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: a.ID, ContainerID: c.ID, Username: "other.ar.admin", FirstName: "O", LastName: "A", Email: "o@example.com",
			AccessRole: store.RoleAdministrator, Status: store.UserActive, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, &store.APIKey{AccountID: a.ID, UserID: u.ID, Hash: api.HashKey(other), CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name, key, body string
		status          int
		code            string
	}{
		{"another division, standard user", stdB, `{"auto_reissue":0}`, 404, "not_found|order"},
		{"another division, manager", mgrB, `{"auto_reissue":0}`, 404, "not_found|order"},
		{"another account", other, `{"auto_reissue":0}`, 404, "not_found|order"},
		{"2", srv.AdminKey, `{"auto_reissue":2}`, 400, "invalid_value:auto_reissue"},
		{"-1", srv.AdminKey, `{"auto_reissue":-1}`, 400, "invalid_value:auto_reissue"},
		{"a word", srv.AdminKey, `{"auto_reissue":"off"}`, 400, "invalid_value:auto_reissue"},
		{"a boolean", srv.AdminKey, `{"auto_reissue":false}`, 400, "invalid_value:auto_reissue"},
		{"1.5", srv.AdminKey, `{"auto_reissue":1.5}`, 400, "invalid_value:auto_reissue"},
		{"missing", srv.AdminKey, `{"auto_renew":0}`, 400, "missing_field:auto_reissue"},
		{"null", srv.AdminKey, `{"auto_reissue":null}`, 400, "missing_field:auto_reissue"},
		{"no body", srv.AdminKey, ``, 400, "bad_request_format"},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := arPut(srv, c.key, id, c.body)
			requireErrors(t, status, hdr, body, c.status, c.code)
			if v := arSetting(t, srv, id); v != 1 {
				t.Errorf("auto_reissue = %d after a refused call", v)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		status, hdr, body := arPut(srv, srv.AdminKey, id, `{"auto_reissue":`)
		if status != http.StatusBadRequest {
			t.Fatalf("%d %s, want 400", status, clip(body))
		}
		requireJSON(t, hdr)
	})
	t.Run("unknown order", func(t *testing.T) {
		status, hdr, body := arPut(srv, srv.AdminKey, 999999, `{"auto_reissue":0}`)
		requireErrors(t, status, hdr, body, 404, "not_found|order")
	})

	_, raw := getOrder(t, srv, id)
	var info struct {
		Certificate struct {
			Thumbprint   string `json:"thumbprint"`
			SerialNumber string `json:"serial_number"`
		} `json:"certificate"`
	}
	if err := json.Unmarshal(raw, &info); err != nil || info.Certificate.SerialNumber == "" {
		t.Fatalf("order info without serial_number: %v %s", err, clip(raw))
	}
	for i, ref := range []string{itoa(id), info.Certificate.Thumbprint, info.Certificate.SerialNumber} {
		want := i % 2 // 0, 1, 0
		status, _, body := srv.Do("PUT", orderPath+ref+"/auto-reissue", fmt.Sprintf(`{"auto_reissue":"%d"}`, want))
		if status != http.StatusNoContent {
			t.Fatalf("by %q: %d %s", ref, status, clip(body))
		}
		if v := arSetting(t, srv, id); v != want {
			t.Errorf("by %q: auto_reissue = %d, want %d", ref, v, want)
		}
	}
	// Through the Go client, as users' code does: the same value again.
	c := client.New(srv.URL, srv.AdminKey)
	if err := c.SetAutoReissue(ctx, id, false); err != nil {
		t.Fatalf("the same value again: %v", err)
	}
	if o, err := c.GetOrder(ctx, itoa(id)); err != nil || o.AutoReissue != 0 {
		t.Fatalf("client order info: auto_reissue %v, %v", o, err)
	}
	evs, err := srv.App.Store.AuditEvents(ctx, 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Action == "order.auto_reissue_updated" && ev.Object == fmt.Sprintf("order:%d", id) {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d order.auto_reissue_updated events, want 3 (one per change)", n)
	}
}

// TestAutoReissueTurnedOnAgain: a plan whose reissue the job passed over
// while auto_reissue was 0 gets it at the next round once the setting is
// turned on, its certificate still within 30 days of its end.
func TestAutoReissueTurnedOnAgain(t *testing.T) {
	t.Parallel()
	srv, shift, id, first, _ := arPlan(t, map[string]any{"auto_reissue": 0})
	ctx := context.Background()
	shift.Store(int64(time.Until(first.NotAfter.Add(-jobs.ReissueLead + time.Hour))))
	if _, err := srv.App.Jobs.RoundOf(ctx, jobs.KindReissue); err != nil {
		t.Fatal(err)
	}
	if _, l := arCerts(t, srv, id); len(l) != 0 {
		t.Fatalf("%d reissues while auto_reissue is 0", len(l))
	}
	if status, _, body := arPut(srv, srv.AdminKey, id, `{"auto_reissue":1}`); status != http.StatusNoContent {
		t.Fatalf("turn on: %d %s", status, clip(body))
	}
	roundsUntil(t, srv, shift, func() bool { _, l := arCerts(t, srv, id); return len(l) > 0 }, jobs.KindReissue)
	o, l := arCerts(t, srv, id)
	if len(l) != 1 || o.CertificateID != l[0].ID {
		t.Fatalf("after turning auto_reissue on: %d reissues, order's certificate %d", len(l), o.CertificateID)
	}
	arLeaf(t, l[0].Certificate)
}

// TestAutoReissueMail: when the job makes a plan's next certificate, the
// order's recipients (its requester and additional_emails, each once) get
// one auto_reissue mail each, in the order's locale, naming the order and
// the new certificate's end, however many engines race on the round.
func TestAutoReissueMail(t *testing.T) {
	t.Parallel()
	srv, shift, id, first, _ := arPlan(t, map[string]any{"locale": "de", "additional_emails": []string{"plan-ops@example.com"}})
	shift.Store(int64(time.Until(first.NotAfter.Add(-jobs.ReissueLead + time.Hour))))
	raceRounds(t, srv, jobs.KindReissue)
	// Past the second engine's clock: its mail is due.
	shift.Add(int64(15 * time.Minute))
	roundsUntil(t, srv, shift, func() bool { _, l := arCerts(t, srv, id); return len(l) > 0 }, jobs.KindReissue)
	o, l := arCerts(t, srv, id)
	if len(l) != 1 || o.CertificateID != l[0].ID {
		t.Fatalf("%d reissues, order's certificate %d", len(l), o.CertificateID)
	}
	until := arLeaf(t, l[0].Certificate).NotAfter.UTC().Format(time.DateOnly)
	srv.App.Mail.Kick()
	var ms sbMailList
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ms = sbListMail(t, srv, fmt.Sprintf("?kind=auto_reissue&order_id=%d", id))
		pending := 0
		for _, m := range ms.Mails {
			if m.Status == "pending" {
				pending++
			}
		}
		if len(ms.Mails) > 0 && pending == 0 || time.Now().After(deadline) {
			break
		}
	}
	var me struct {
		Email string `json:"email"`
	}
	if status, _, body := srv.Do("GET", v2+"/user/me", ""); status != http.StatusOK || json.Unmarshal(body, &me) != nil {
		t.Fatalf("user/me: %d %s", status, clip(body))
	}
	got := map[string]int{}
	for _, m := range ms.Mails {
		for _, r := range m.Recipients {
			got[strings.ToLower(r)]++
		}
		if m.Status != "sent" || !strings.Contains(m.Subject, "Auftrag "+itoa(id)) || !strings.Contains(m.Subject, "ausgestellt") ||
			!strings.Contains(m.Subject, until) || !strings.Contains(m.Body, first.NotAfter.UTC().Format(time.DateOnly)) {
			t.Errorf("mail %d: %s %q\n%s", m.ID, m.Status, m.Subject, m.Body)
		}
	}
	if len(ms.Mails) != 2 || got["plan-ops@example.com"] != 1 || got[strings.ToLower(me.Email)] != 1 {
		t.Fatalf("auto_reissue mails to %v (%d rows), want one each to plan-ops@example.com and %s", got, len(ms.Mails), me.Email)
	}
}
