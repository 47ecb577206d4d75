package apitest

import (
	"bytes"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/api"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

const v2 = "/services/v2"

const denied = "access_denied|missing_permission"

// usrID decodes {"id": N} from a 201.
func usrID(t *testing.T) func(int, http.Header, []byte) int64 {
	return func(status int, hdr http.Header, body []byte) int64 {
		t.Helper()
		return usrIDOf(t, status, hdr, body)
	}
}

func usrIDOf(t *testing.T, status int, hdr http.Header, body []byte) int64 {
	t.Helper()
	if status != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body: %s", status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.ID <= 0 {
		t.Fatalf("201 without an id: %v %s", err, clip(body))
	}
	return v.ID
}

func usrContainer(t *testing.T, srv *testenv.Server, parent int64, name string) int64 {
	t.Helper()
	return usrID(t)(srv.Do("POST", fmt.Sprintf("%s/container/%d/children", v2, parent), mustJSON(t, map[string]any{"name": name, "template_id": 6})))
}

var usrSeq atomic.Int64

func usrUser(t *testing.T, srv *testenv.Server, role int, container int64) int64 {
	t.Helper()
	seq := usrSeq.Add(1)
	name := fmt.Sprintf("user%d.role%d", seq, role)
	return usrID(t)(srv.Do("POST", v2+"/user", mustJSON(t, map[string]any{
		"username": name, "first_name": "First", "last_name": fmt.Sprintf("Last%d", seq), "email": name + "@example.com",
		"container": map[string]any{"id": container}, "access_roles": []map[string]any{{"id": role}}})))
}

func usrKey(t *testing.T, srv *testenv.Server, userID int64, role int) (int64, string) {
	t.Helper()
	status, hdr, body := srv.Do("POST", fmt.Sprintf("%s/key/user/%d", v2, userID), mustJSON(t, map[string]any{"name": "test key", "restricted_to_role_id": role}))
	id := usrID(t)(status, hdr, body)
	var v struct {
		APIKey string `json:"api_key"`
	}
	if err := json.Unmarshal(body, &v); err != nil || len(v.APIKey) < 40 {
		t.Fatalf("key answer without api_key: %s", clip(body))
	}
	return id, v.APIKey
}

// usrTally is everything a refused write must leave alone.
type usrTally struct {
	tally
	users, keys, containers, audit int
}

func usrState(t *testing.T, srv *testenv.Server) usrTally {
	t.Helper()
	var st usrTally
	st.tally = counts(t, srv)
	var u struct {
		Page pageTotal `json:"page"`
	}
	usrGet(t, srv, srv.AdminKey, "/user?limit=1", &u)
	st.users = u.Page.Total
	var k struct {
		APIKeys []struct {
			Status string `json:"status"`
		} `json:"api_keys"`
	}
	usrGet(t, srv, srv.AdminKey, "/key", &k)
	for _, x := range k.APIKeys {
		if x.Status == "active" {
			st.keys++
		}
	}
	var c struct {
		Containers []json.RawMessage `json:"containers"`
	}
	usrGet(t, srv, srv.AdminKey, "/container", &c)
	st.containers = len(c.Containers)
	acct, err := srv.App.Store.FirstAccount(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ev, err := srv.App.Store.AuditEvents(t.Context(), acct.ID, 1000)
	if err != nil {
		t.Fatal(err)
	}
	st.audit = len(ev)
	return st
}

type pageTotal struct {
	Total int `json:"total"`
}

func usrGet(t *testing.T, srv *testenv.Server, key, path string, out any) {
	t.Helper()
	status, hdr, body := srv.DoKey(key, "GET", v2+path, "")
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, status, clip(body))
	}
	requireJSON(t, hdr)
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v %s", path, err, clip(body))
	}
}

// usrCall is one API call of the permission matrix.
type usrCall struct{ method, path, body string }

// TestUsersRoleMatrix: for every key role and every access role, each
// write the role forbids answers exactly 403 access_denied|missing_permission
// and writes nothing (orders, requests, organizations, users, active keys,
// containers, audit events unchanged), and the reads it allows answer 200.
func TestUsersRoleMatrix(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	divA := usrContainer(t, srv, 1, "Division A")
	victim := usrUser(t, srv, 5, divA)
	victimKey, _ := usrKey(t, srv, victim, 0)
	adminA := usrUser(t, srv, 1, divA)
	pending := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
	pending.requirePending(t)

	calls := map[string]usrCall{
		"order":          {"POST", "/order/certificate/ssl_securesite", mustJSON(t, baseBody(csr))},
		"approve":        {"PUT", fmt.Sprintf("/request/%d/status", pending.Requests[0].ID), `{"status":"approved"}`},
		"metadata":       {"POST", "/account/metadata", `{"label":"Cost center","data_type":"text"}`},
		"user add":       {"POST", "/user", mustJSON(t, map[string]any{"username": "never.created", "first_name": "N", "last_name": "C", "email": "never@example.com", "access_roles": []map[string]any{{"id": 5}}})},
		"admin add":      {"POST", "/user", mustJSON(t, map[string]any{"username": "never.admin", "first_name": "N", "last_name": "A", "email": "admin2@example.com", "access_roles": []map[string]any{{"id": 1}}})},
		"user delete":    {"DELETE", fmt.Sprintf("/user/%d", victim), ""},
		"user edit":      {"PUT", fmt.Sprintf("/user/%d", victim), `{"first_name":"Changed"}`},
		"admin delete":   {"DELETE", fmt.Sprintf("/user/%d", adminA), ""},
		"key create":     {"POST", fmt.Sprintf("/key/user/%d", victim), `{"name":"stolen"}`},
		"own key create": {"POST", "/key/user/1", `{"name":"escalated","restricted_to_role_id":0}`},
		"key revoke":     {"PUT", fmt.Sprintf("/key/%d/status", victimKey), `{"status":"revoked"}`},
		"container add":  {"POST", fmt.Sprintf("/container/%d/children", divA), `{"name":"Never"}`},
		"container post": {"POST", "/container", `{"name":"Never","parent_id":1}`},
		"cancel":         {"PUT", fmt.Sprintf("/order/certificate/%d/status", pending.ID), `{"status":"canceled","note":"x"}`},
		"reissue":        {"POST", fmt.Sprintf("/order/certificate/%d/reissue", pending.ID), `{}`},
		"duplicate":      {"POST", fmt.Sprintf("/order/certificate/%d/duplicate", pending.ID), `{}`},
		"csr":            {"PUT", fmt.Sprintf("/order/certificate/%d/csr", pending.ID), mustJSON(t, map[string]string{"csr": csr})},
		"org add":        {"POST", "/organization", `{"name":"Never Ltd","address":"1 Road","city":"Lehi","state":"Utah","zip":"84043","country":"us","telephone":"+1 801 555 0100"}`},
		"org validate":   {"POST", "/organization/1/validation", `{"validations":[{"type":"ov"}]}`},
		"domain add":     {"POST", "/domain", `{"name":"never.example.com","organization":{"id":1},"validations":[{"type":"ov"}]}`},
		"finance":        {"GET", "/finance/balance", ""},
		"users read":     {"GET", "/user", ""},
		"user read":      {"GET", fmt.Sprintf("/user/%d", victim), ""},
	}
	reads := map[string]usrCall{
		"orders":        {"GET", "/order/certificate", ""},
		"requests":      {"GET", "/request", ""},
		"organizations": {"GET", "/organization", ""},
		"containers":    {"GET", "/container", ""},
		"products":      {"GET", "/product", ""},
		"me":            {"GET", "/user/me", ""},
		"finance":       {"GET", "/finance/balance", ""},
		"users":         {"GET", "/user", ""},
		"keys":          {"GET", "/key", ""},
	}

	type matrixCase struct {
		name    string
		role    int // access role of the user (1 = the bootstrap administrator)
		keyRole int
		refused []string
		allowed []string
	}
	cases := []matrixCase{
		{"view only key", 1, 102,
			[]string{"user edit", "order", "cancel", "reissue", "duplicate", "csr", "org add", "org validate", "domain add", "approve", "metadata", "user add", "user delete", "key create", "own key create", "key revoke", "container add", "container post"},
			[]string{"orders", "requests", "organizations", "containers", "finance", "users", "keys", "me"}},
		{"orders key", 1, 100,
			[]string{"user edit", "org add", "org validate", "domain add", "user add", "user delete", "key create", "own key create", "key revoke", "container add", "container post", "finance", "users read", "user read"},
			[]string{"orders", "requests", "containers", "products", "me"}},
		{"orders domains organizations key", 1, 101,
			[]string{"user edit", "user add", "user delete", "key create", "own key create", "key revoke", "container add", "container post", "finance", "users read"},
			[]string{"orders", "requests", "organizations", "containers", "me"}},
		{"user management key", 1, 103,
			[]string{"order", "cancel", "reissue", "duplicate", "csr", "org add", "domain add", "approve", "metadata", "container add", "container post", "finance", "own key create", "key create"},
			[]string{"users", "keys", "containers", "me"}},
		{"finance manager", 3, 0,
			[]string{"user edit", "order", "cancel", "reissue", "duplicate", "csr", "org add", "org validate", "domain add", "approve", "metadata", "user add", "user delete", "key create", "container add", "container post", "users read", "user read"},
			[]string{"finance", "orders", "requests", "organizations", "containers", "me", "keys"}},
		{"standard user", 5, 0,
			[]string{"user edit", "org add", "org validate", "domain add", "approve", "metadata", "user add", "user delete", "key create", "container add", "container post", "finance", "users read", "user read"},
			[]string{"orders", "requests", "organizations", "containers", "me", "keys"}},
		{"limited user", 2, 0,
			[]string{"user edit", "org add", "domain add", "approve", "metadata", "user add", "user delete", "key create", "container add", "container post", "finance", "users read", "user read"},
			[]string{"orders", "requests", "organizations", "containers", "me", "keys"}},
		{"manager", 4, 0,
			[]string{"metadata", "admin add", "admin delete", "key create", "container add", "container post"},
			[]string{"orders", "requests", "organizations", "containers", "finance", "users", "me"}},
		{"view only key of a manager", 4, 102,
			[]string{"user edit", "order", "cancel", "org add", "domain add", "approve", "user add", "user delete", "key revoke", "container add"},
			[]string{"orders", "users", "finance"}},
		{"user management key of a standard user", 5, 103,
			[]string{"order", "user add", "users read", "finance", "container add"},
			[]string{"me", "keys"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			uid := int64(1)
			if tc.role != 1 {
				uid = usrUser(t, srv, tc.role, divA)
			}
			_, key := usrKey(t, srv, uid, tc.keyRole)
			for _, name := range tc.refused {
				c, ok := calls[name]
				if !ok {
					t.Fatalf("unknown call %q", name)
				}
				before := usrState(t, srv)
				status, hdr, body := srv.DoKey(key, c.method, v2+c.path, c.body)
				requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
				if after := usrState(t, srv); after != before {
					t.Errorf("%s: refused call changed the state: before %+v, after %+v", name, before, after)
				}
			}
			for _, name := range tc.allowed {
				c := reads[name]
				status, hdr, body := srv.DoKey(key, c.method, v2+c.path, c.body)
				if status != http.StatusOK {
					t.Errorf("%s %s: %d, want 200: %s", c.method, c.path, status, clip(body))
					continue
				}
				requireJSON(t, hdr)
			}
		})
	}
}

// TestUsersContainerIsolation: a user who is not an administrator sees the
// orders, requests, certificates, containers and users of their container
// and its descendants only; everything else is 404 as if it did not exist,
// and lists leave it out. A limited user sees only their own orders.
func TestUsersContainerIsolation(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	divA := usrContainer(t, srv, 1, "Division A")
	divB := usrContainer(t, srv, 1, "Division B")
	divA1 := usrContainer(t, srv, divA, "Division A1")

	_, stdA := usrKey(t, srv, usrUser(t, srv, 5, divA), 0)
	stdBUser := usrUser(t, srv, 5, divB)
	_, stdB := usrKey(t, srv, stdBUser, 0)
	_, mgrA := usrKey(t, srv, usrUser(t, srv, 4, divA), 0)
	_, limA := usrKey(t, srv, usrUser(t, srv, 2, divA), 0)

	place := func(key string, mutate func(map[string]any)) created {
		t.Helper()
		m := baseBody(csr)
		if mutate != nil {
			mutate(m)
		}
		status, hdr, body := srv.DoKey(key, "POST", orderPath+"ssl_securesite", mustJSON(t, m))
		return requireCreated(t, status, hdr, body)
	}
	orderA := place(stdA, nil)
	orderB := place(stdB, nil)
	orderA1 := place(srv.AdminKey, func(m map[string]any) {
		m["container"] = map[string]any{"id": divA1}
		m["skip_approval"] = true
	})
	orderB2 := place(srv.AdminKey, func(m map[string]any) {
		m["container"] = map[string]any{"id": divB}
		m["skip_approval"] = true
	})
	if orderA1.CertificateID == 0 || orderB2.CertificateID == 0 {
		t.Fatalf("skip_approval orders were not issued at once: %+v %+v", orderA1, orderB2)
	}

	total := func(key, path string) int {
		t.Helper()
		var v struct {
			Page pageTotal `json:"page"`
		}
		usrGet(t, srv, key, path, &v)
		return v.Page.Total
	}
	type seen struct {
		name          string
		key           string
		orders, reqs  int
		containers    int
		visibleOrders []int64
		hiddenOrders  []int64
	}
	for _, tc := range []seen{
		{"administrator", srv.AdminKey, 4, 2, 4, []int64{orderA.ID, orderB.ID, orderA1.ID, orderB2.ID}, nil},
		{"standard user of A", stdA, 2, 1, 2, []int64{orderA.ID, orderA1.ID}, []int64{orderB.ID, orderB2.ID}},
		{"standard user of B", stdB, 2, 1, 1, []int64{orderB.ID, orderB2.ID}, []int64{orderA.ID, orderA1.ID}},
		{"manager of A", mgrA, 2, 1, 2, []int64{orderA.ID, orderA1.ID}, []int64{orderB.ID}},
		{"limited user of A", limA, 0, 0, 2, nil, []int64{orderA.ID, orderA1.ID, orderB.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := total(tc.key, "/order/certificate"); got != tc.orders {
				t.Errorf("order list total = %d, want %d", got, tc.orders)
			}
			if got := total(tc.key, "/request"); got != tc.reqs {
				t.Errorf("request list total = %d, want %d", got, tc.reqs)
			}
			var cs struct {
				Containers []struct {
					ID int64 `json:"id"`
				} `json:"containers"`
			}
			usrGet(t, srv, tc.key, "/container", &cs)
			if len(cs.Containers) != tc.containers {
				t.Errorf("sees %d containers, want %d: %+v", len(cs.Containers), tc.containers, cs.Containers)
			}
			for _, id := range tc.visibleOrders {
				if status, _, body := srv.DoKey(tc.key, "GET", orderPath+itoa(id), ""); status != http.StatusOK {
					t.Errorf("order %d: %d %s, want 200", id, status, clip(body))
				}
			}
			for _, id := range tc.hiddenOrders {
				status, hdr, body := srv.DoKey(tc.key, "GET", orderPath+itoa(id), "")
				requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|order")
			}
		})
	}

	t.Run("requests certificates containers and users of another container are 404", func(t *testing.T) {
		before := usrState(t, srv)
		defer func() {
			if after := usrState(t, srv); after != before {
				t.Errorf("hidden objects changed: %+v → %+v", before, after)
			}
		}()
		for _, c := range []struct {
			key, method, path, body, code string
		}{
			{stdA, "GET", fmt.Sprintf("/request/%d", orderB.Requests[0].ID), "", "not_found|request"},
			{mgrA, "PUT", fmt.Sprintf("/request/%d/status", orderB.Requests[0].ID), `{"status":"approved"}`, "not_found|request"},
			{stdA, "GET", fmt.Sprintf("/certificate/%d/download/format/pem_all", orderB2.CertificateID), "", "not_found|certificate"},
			{stdA, "GET", fmt.Sprintf("/certificate/%d/chain", orderB2.CertificateID), "", "not_found|certificate"},
			{stdA, "GET", fmt.Sprintf("/certificate/download/order/%d", orderB2.ID), "", "not_found|order"},
			{stdA, "PUT", fmt.Sprintf("/order/certificate/%d/status", orderB.ID), `{"status":"canceled","note":"not mine"}`, "not_found|order"},
			{stdA, "POST", fmt.Sprintf("/order/certificate/%d/reissue", orderB2.ID), `{}`, "not_found|order"},
			{stdA, "POST", fmt.Sprintf("/order/certificate/%d/duplicate", orderB2.ID), `{}`, "not_found|order"},
			{stdA, "PUT", fmt.Sprintf("/order/certificate/%d/csr", orderB.ID), mustJSON(t, map[string]string{"csr": csr}), "not_found|order"},
			{limA, "PUT", fmt.Sprintf("/order/certificate/%d/status", orderA.ID), `{"status":"canceled","note":"not mine"}`, "not_found|order"},
			{stdA, "GET", fmt.Sprintf("/container/%d", divB), "", "not_found|container"},
			{stdA, "GET", "/container/1", "", "not_found|container"},
			{mgrA, "GET", fmt.Sprintf("/user/%d", stdBUser), "", "not_found|user"},
			{mgrA, "DELETE", fmt.Sprintf("/user/%d", stdBUser), "", "not_found|user"},
		} {
			status, hdr, body := srv.DoKey(c.key, c.method, v2+c.path, c.body)
			requireErrors(t, status, hdr, body, http.StatusNotFound, c.code)
		}
		// The descendant's certificate is visible from A.
		if status, _, body := srv.DoKey(stdA, "GET", fmt.Sprintf("%s/certificate/%d/download/format/pem_all", v2, orderA1.CertificateID), ""); status != http.StatusOK {
			t.Errorf("certificate of a descendant container: %d %s", status, clip(body))
		}
	})

	t.Run("status changes are scoped", func(t *testing.T) {
		var v struct {
			Orders []struct {
				OrderID int64 `json:"order_id"`
			} `json:"orders"`
		}
		usrGet(t, srv, stdB, "/order/certificate/status-changes?minutes=60", &v)
		got := map[int64]bool{}
		for _, o := range v.Orders {
			got[o.OrderID] = true
		}
		if len(got) != 2 || !got[orderB.ID] || !got[orderB2.ID] {
			t.Errorf("standard user of B sees the status changes of %v, want only %d and %d", got, orderB.ID, orderB2.ID)
		}
	})

	t.Run("ordering into another container is refused", func(t *testing.T) {
		before := usrState(t, srv)
		m := baseBody(csr)
		m["container"] = map[string]any{"id": divA}
		status, hdr, body := srv.DoKey(stdB, "POST", orderPath+"ssl_securesite", mustJSON(t, m))
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:container")
		if after := usrState(t, srv); after != before {
			t.Errorf("refused order changed the state: %+v → %+v", before, after)
		}
	})

	t.Run("limited user sees the orders they placed", func(t *testing.T) {
		own := place(limA, nil)
		if got := total(limA, "/order/certificate"); got != 1 {
			t.Errorf("limited user's order list total = %d, want 1", got)
		}
		if got := total(limA, "/request"); got != 1 {
			t.Errorf("limited user's request list total = %d, want 1", got)
		}
		if status, _, body := srv.DoKey(limA, "GET", orderPath+itoa(own.ID), ""); status != http.StatusOK {
			t.Errorf("own order: %d %s", status, clip(body))
		}
		if status, _, body := srv.DoKey(limA, "GET", fmt.Sprintf("%s/request/%d", v2, own.Requests[0].ID), ""); status != http.StatusOK {
			t.Errorf("own request: %d %s", status, clip(body))
		}
		// The standard user of the same container sees it too.
		if status, _, body := srv.DoKey(stdA, "GET", orderPath+itoa(own.ID), ""); status != http.StatusOK {
			t.Errorf("standard user of A, order of a limited user of A: %d %s", status, clip(body))
		}
	})

	t.Run("manager approves requests of their containers", func(t *testing.T) {
		status, _, body := srv.DoKey(mgrA, "PUT", fmt.Sprintf("%s/request/%d/status", v2, orderA.Requests[0].ID), `{"status":"approved"}`)
		if status != http.StatusNoContent {
			t.Fatalf("approve: %d %s", status, clip(body))
		}
	})

	t.Run("user list is scoped", func(t *testing.T) {
		var v struct {
			Users []struct {
				ID        int64 `json:"id"`
				Container struct {
					ID int64 `json:"id"`
				} `json:"container"`
			} `json:"users"`
			Page pageTotal `json:"page"`
		}
		usrGet(t, srv, mgrA, "/user", &v)
		if v.Page.Total != 3 || len(v.Users) != 3 {
			t.Fatalf("manager of A sees %d users (total %d), want the 3 of A", len(v.Users), v.Page.Total)
		}
		for _, u := range v.Users {
			if u.Container.ID != divA {
				t.Errorf("manager of A sees user %d of container %d", u.ID, u.Container.ID)
			}
		}
		var all struct {
			Page pageTotal `json:"page"`
		}
		usrGet(t, srv, srv.AdminKey, fmt.Sprintf("/user?container_id=%d", divB), &all)
		if all.Page.Total != 1 {
			t.Errorf("container_id=%d: %d users, want 1", divB, all.Page.Total)
		}
	})
}

// TestUsersAccountIsolation: a second account's administrator sees none of
// the first account's orders, users, keys or containers, and cannot act on
// them.
func TestUsersAccountIsolation(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored")
	first := createOK(t, srv, "ssl_securesite", mustJSON(t, baseBody(csr)))
	divA := usrContainer(t, srv, 1, "Division A")
	keyID, _ := usrKey(t, srv, 1, 0)

	ctx := t.Context()
	st := srv.App.Store
	other := "OTHERACCOUNTKEY" + strings.Repeat("7", 40)
	now := time.Now().UTC()
	err := st.InTx(ctx, func(tx store.Tx) error {
		a := &store.Account{Name: "other", ApprovalMode: "one_step", CreatedAt: now}
		if err := tx.CreateAccount(ctx, a); err != nil {
			return err
		}
		c := &store.Container{AccountID: a.ID, Name: "other", IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: a.ID, ContainerID: c.ID, Username: "other.admin", FirstName: "O", LastName: "A", Email: "o@example.com",
			AccessRole: store.RoleAdministrator, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.CreateAPIKey(ctx, &store.APIKey{AccountID: a.ID, UserID: u.ID, Hash: api.HashKey(other), CreatedAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	before := usrState(t, srv)
	for _, c := range []struct{ method, path, body, code string }{
		{"GET", fmt.Sprintf("/order/certificate/%d", first.ID), "", "not_found|order"},
		{"GET", fmt.Sprintf("/request/%d", first.Requests[0].ID), "", "not_found|request"},
		{"PUT", fmt.Sprintf("/request/%d/status", first.Requests[0].ID), `{"status":"approved"}`, "not_found|request"},
		{"GET", "/user/1", "", "not_found|user"},
		{"DELETE", "/user/1", "", "not_found|user"},
		{"POST", "/key/user/1", `{"name":"x"}`, "not_found|user"},
		{"GET", fmt.Sprintf("/key/%d", keyID), "", "not_found|key"},
		{"PUT", fmt.Sprintf("/key/%d/status", keyID), `{"status":"revoked"}`, "not_found|key"},
		{"GET", fmt.Sprintf("/container/%d", divA), "", "not_found|container"},
		{"POST", fmt.Sprintf("/container/%d/children", divA), `{"name":"x"}`, "not_found|container"},
	} {
		status, hdr, body := srv.DoKey(other, c.method, v2+c.path, c.body)
		requireErrors(t, status, hdr, body, http.StatusNotFound, c.code)
	}
	if after := usrState(t, srv); after != before {
		t.Errorf("the other account changed the first: %+v → %+v", before, after)
	}
	for _, path := range []string{"/order/certificate", "/request", "/user"} {
		var v struct {
			Page pageTotal `json:"page"`
		}
		usrGet(t, srv, other, path, &v)
		want := 0
		if path == "/user" {
			want = 1
		}
		if v.Page.Total != want {
			t.Errorf("other account %s total = %d, want %d", path, v.Page.Total, want)
		}
	}
	var keys struct {
		APIKeys []json.RawMessage `json:"api_keys"`
	}
	usrGet(t, srv, other, "/key", &keys)
	if len(keys.APIKeys) != 1 {
		t.Errorf("other account sees %d keys, want its own 1", len(keys.APIKeys))
	}
}

// TestUsersKeys: a key is shown once, works at once, is stored only as its
// SHA-256, lists without the key, and once revoked answers 403
// access_denied|access_denied_invalid_key for good; deleting a user revokes
// its keys.
func TestUsersKeys(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	uid := usrUser(t, srv, 5, 1)
	keyID, key := usrKey(t, srv, uid, 0)

	var me struct {
		ID int64 `json:"id"`
	}
	usrGet(t, srv, key, "/user/me", &me)
	if me.ID != uid {
		t.Fatalf("/user/me with the new key = user %d, want %d", me.ID, uid)
	}
	status, hdr, body := srv.Do("GET", fmt.Sprintf("%s/key/%d", v2, keyID), "")
	if status != http.StatusOK || bytes.Contains(body, []byte(key)) {
		t.Fatalf("key info: %d %s", status, clip(body))
	}
	requireJSON(t, hdr)
	var info struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		User   struct {
			ID int64 `json:"id"`
		} `json:"user"`
		RestrictedToRoleID *int `json:"restricted_to_role_id"`
	}
	if err := json.Unmarshal(body, &info); err != nil || info.Status != "active" || info.User.ID != uid || info.RestrictedToRoleID == nil {
		t.Fatalf("key info: %v %s", err, clip(body))
	}
	k, err := srv.App.Store.APIKeyByHash(t.Context(), api.HashKey(key))
	if err != nil || k.ID != keyID {
		t.Fatalf("stored key by hash: %+v %v", k, err)
	}
	for _, f := range []string{"certorder.db", "certorder.db-wal"} {
		b, err := os.ReadFile(filepath.Join(srv.DataDir, f))
		if err == nil && bytes.Contains(b, []byte(key)) {
			t.Errorf("%s holds the key in clear", f)
		}
	}

	t.Run("a user manages only their own keys", func(t *testing.T) {
		other := usrUser(t, srv, 5, 1)
		status, hdr, body := srv.DoKey(key, "POST", fmt.Sprintf("%s/key/user/%d", v2, other), `{"name":"x"}`)
		requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
		ownID := usrID(t)(srv.DoKey(key, "POST", fmt.Sprintf("%s/key/user/%d", v2, uid), `{"name":"second","restricted_to_role_id":102}`))
		var list struct {
			APIKeys []struct {
				ID int64 `json:"id"`
			} `json:"api_keys"`
		}
		usrGet(t, srv, key, "/key", &list)
		if len(list.APIKeys) != 2 || list.APIKeys[0].ID != keyID || list.APIKeys[1].ID != ownID {
			t.Errorf("own key list = %+v", list.APIKeys)
		}
	})

	t.Run("bad key bodies", func(t *testing.T) {
		for _, c := range []struct{ body, code string }{
			{`{}`, "missing_field:name"},
			{`{"name":"x","restricted_to_role_id":104}`, "invalid_value:restricted_to_role_id"},
			{`{"name":"x","restricted_to_role_id":"abc"}`, "invalid_value:restricted_to_role_id"},
			{`[]`, "bad_request_format"},
		} {
			before := usrState(t, srv)
			status, hdr, body := srv.Do("POST", fmt.Sprintf("%s/key/user/%d", v2, uid), c.body)
			requireErrors(t, status, hdr, body, http.StatusBadRequest, c.code)
			if after := usrState(t, srv); after != before {
				t.Errorf("%s changed the state", c.body)
			}
		}
		status, hdr, body := srv.Do("POST", v2+"/key/user/9999", `{"name":"x"}`)
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|user")
	})

	t.Run("revoke", func(t *testing.T) {
		put := func(status string) (int, http.Header, []byte) {
			return srv.Do("PUT", fmt.Sprintf("%s/key/%d/status", v2, keyID), `{"status":"`+status+`"}`)
		}
		if status, _, body := put("revoked"); status != http.StatusNoContent || len(body) != 0 {
			t.Fatalf("revoke: %d %s", status, body)
		}
		status, hdr, body := srv.DoKey(key, "GET", v2+"/user/me", "")
		requireErrors(t, status, hdr, body, http.StatusForbidden, "access_denied|access_denied_invalid_key")
		if status, _, body := put("revoked"); status != http.StatusNoContent {
			t.Errorf("revoking again: %d %s", status, body)
		}
		status, hdr, body = put("active")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:status")
		status, hdr, body = put("paused")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:status")
		status, hdr, body = srv.DoKey(key, "GET", v2+"/user/me", "")
		requireErrors(t, status, hdr, body, http.StatusForbidden, "access_denied|access_denied_invalid_key")
		var v struct {
			Status string `json:"status"`
		}
		usrGet(t, srv, srv.AdminKey, fmt.Sprintf("/key/%d", keyID), &v)
		if v.Status != "revoked" {
			t.Errorf("key status = %q, want revoked", v.Status)
		}
	})

	t.Run("deleting a user revokes its keys", func(t *testing.T) {
		u := usrUser(t, srv, 4, 1)
		_, k := usrKey(t, srv, u, 0)
		usrGet(t, srv, k, "/user/me", &me)
		status, _, body := srv.Do("DELETE", fmt.Sprintf("%s/user/%d", v2, u), "")
		if status != http.StatusNoContent {
			t.Fatalf("delete user: %d %s", status, body)
		}
		status, hdr, body := srv.DoKey(k, "GET", v2+"/user/me", "")
		requireErrors(t, status, hdr, body, http.StatusForbidden, "access_denied|access_denied_invalid_key")
		status, hdr, body = srv.Do("GET", fmt.Sprintf("%s/user/%d", v2, u), "")
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|user")
		status, hdr, body = srv.Do("DELETE", fmt.Sprintf("%s/user/%d", v2, u), "")
		requireErrors(t, status, hdr, body, http.StatusNotFound, "not_found|user")
		status, hdr, body = srv.Do("DELETE", v2+"/user/1", "")
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:user_id")
	})

	t.Run("service user", func(t *testing.T) {
		status, hdr, body := srv.Do("POST", v2+"/user", `{"is_api_only":true,"email":"robot@example.com","api_name":"robot","restricted_to_role_id":102}`)
		id := usrID(t)(status, hdr, body)
		var v struct {
			APIKey string `json:"api_key"`
		}
		json.Unmarshal(body, &v)
		usrGet(t, srv, v.APIKey, "/user/me", &me)
		if me.ID != id {
			t.Errorf("service user key is user %d, want %d", me.ID, id)
		}
		status, hdr, body = srv.DoKey(v.APIKey, "POST", v2+"/container/1/children", `{"name":"x"}`)
		requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
	})
}

// TestUsersCreateValidation: every rule of POST /user, all failures at
// once, nothing written.
func TestUsersCreateValidation(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	good := func() map[string]any {
		return map[string]any{"username": "jill.valentine", "first_name": "Jill", "last_name": "Valentine", "email": "jill@example.com",
			"job_title": "Alpha Team", "telephone": "555-555-5555", "access_roles": []map[string]any{{"id": 5}}, "unknown_field": true}
	}
	for _, tc := range []struct {
		name   string
		mutate func(map[string]any)
		codes  []string
	}{
		{"empty", func(m map[string]any) { clear(m) }, []string{"missing_field:username", "missing_field:first_name", "missing_field:last_name", "missing_field:email", "missing_field:access_roles"}},
		{"bad username", func(m map[string]any) { m["username"] = "jill valentine" }, []string{"invalid_value:username"}},
		{"bad email", func(m map[string]any) { m["email"] = "jill" }, []string{"invalid_value:email"}},
		{"bad role", func(m map[string]any) { m["access_roles"] = []map[string]any{{"id": 7}} }, []string{"invalid_value:access_roles"}},
		{"two roles", func(m map[string]any) { m["access_roles"] = []map[string]any{{"id": 4}, {"id": 5}} }, []string{"invalid_value:access_roles"}},
		{"unknown container", func(m map[string]any) { m["container"] = map[string]any{"id": 99} }, []string{"invalid_value:container"}},
		{"long job title", func(m map[string]any) { m["job_title"] = strings.Repeat("x", 65) }, []string{"invalid_value:job_title"}},
		{"wrong type", func(m map[string]any) { m["first_name"] = 12 }, []string{"invalid_value:first_name"}},
		{"service user without api_name", func(m map[string]any) { clear(m); m["is_api_only"] = true; m["email"] = "r@example.com" }, []string{"missing_field:api_name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := good()
			tc.mutate(m)
			before := usrState(t, srv)
			status, hdr, body := srv.Do("POST", v2+"/user", mustJSON(t, m))
			requireErrors(t, status, hdr, body, http.StatusBadRequest, tc.codes...)
			if after := usrState(t, srv); after != before {
				t.Errorf("refused user changed the state: %+v → %+v", before, after)
			}
		})
	}
	id := usrID(t)(srv.Do("POST", v2+"/user", mustJSON(t, good())))
	var u struct {
		ID          int64  `json:"id"`
		Username    string `json:"username"`
		Status      string `json:"status"`
		AccessRoles []struct {
			ID   int    `json:"id"`
			Name string `json:"name"`
		} `json:"access_roles"`
		Container struct {
			ID int64 `json:"id"`
		} `json:"container"`
	}
	usrGet(t, srv, srv.AdminKey, fmt.Sprintf("/user/%d", id), &u)
	if u.ID != id || u.Username != "jill.valentine" || u.Status != "active" || len(u.AccessRoles) != 1 || u.AccessRoles[0].ID != 5 || u.Container.ID != 1 {
		t.Errorf("user info = %+v", u)
	}
	before := usrState(t, srv)
	status, hdr, body := srv.Do("POST", v2+"/user", mustJSON(t, good()))
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:username")
	if after := usrState(t, srv); after != before {
		t.Errorf("duplicate user changed the state")
	}
}

// TestUsersContainers: POST /container/{id}/children and POST /container
// create children; GET /container/{id}/children lists the immediate ones.
func TestUsersContainers(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	a := usrContainer(t, srv, 1, "Sales")
	b := usrID(t)(srv.Do("POST", v2+"/container", mustJSON(t, map[string]any{"name": "Sales EMEA", "parent_id": a, "description": "Europe"})))
	var c struct {
		ID          int64  `json:"id"`
		ParentID    int64  `json:"parent_id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		IsActive    bool   `json:"is_active"`
	}
	usrGet(t, srv, srv.AdminKey, fmt.Sprintf("/container/%d", b), &c)
	if c.ParentID != a || c.Name != "Sales EMEA" || c.Description != "Europe" || !c.IsActive {
		t.Errorf("container %d = %+v", b, c)
	}
	var kids struct {
		Containers []struct {
			ID int64 `json:"id"`
		} `json:"containers"`
	}
	usrGet(t, srv, srv.AdminKey, "/container/1/children", &kids)
	if len(kids.Containers) != 1 || kids.Containers[0].ID != a {
		t.Errorf("children of 1 = %+v, want only %d", kids.Containers, a)
	}
	for _, tc := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/container/99/children", `{"name":"x"}`, 404, "not_found|container"},
		{"/container/1/children", `{"description":"no name"}`, 400, "missing_field:name"},
		{"/container/1/children", `{"name":"x","template_id":"six"}`, 400, "invalid_value:template_id"},
		{"/container", `{"name":"x","parent_id":99}`, 400, "invalid_value:parent_id"},
		{"/container/1/children", `not json`, 400, "bad_request_format"},
	} {
		before := usrState(t, srv)
		status, hdr, body := srv.Do("POST", v2+tc.path, tc.body)
		requireErrors(t, status, hdr, body, tc.status, tc.code)
		if after := usrState(t, srv); after != before {
			t.Errorf("%s %s changed the state", tc.path, tc.body)
		}
	}
}

// TestUsersClient drives the Go client's user, key and container calls.
func TestUsersClient(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	ctx := t.Context()
	c := client.New(srv.URL, srv.AdminKey)
	div, err := c.CreateContainer(ctx, 1, "Client division", "made by the client", 6)
	if err != nil {
		t.Fatal(err)
	}
	kids, err := c.ListChildContainers(ctx, 1)
	if err != nil || len(kids) != 1 || kids[0].ID != div || kids[0].ParentID != 1 {
		t.Fatalf("children: %+v %v", kids, err)
	}
	uid, err := c.CreateUser(ctx, &client.NewUser{Username: "client.user", FirstName: "C", LastName: "U", Email: "cu@example.com",
		Container: &client.IDRef{ID: div}, AccessRoles: []client.IDRef{{ID: client.RoleStandardUser}}})
	if err != nil {
		t.Fatal(err)
	}
	u, err := c.GetUser(ctx, uid)
	if err != nil || u.Username != "client.user" || u.Container == nil || u.Container.ID != div || u.AccessRoles[0].ID != client.RoleStandardUser {
		t.Fatalf("user: %+v %v", u, err)
	}
	list, err := c.ListUsers(ctx, div, nil)
	if err != nil || list.Page.Total != 1 || list.Users[0].ID != uid {
		t.Fatalf("users of %d: %+v %v", div, list, err)
	}
	k, err := c.CreateKey(ctx, uid, "client key", client.KeyRoleViewOnly)
	if err != nil || k.APIKey == "" {
		t.Fatalf("key: %+v %v", k, err)
	}
	me, err := client.New(srv.URL, k.APIKey).Me(ctx)
	if err != nil || me.ID != uid {
		t.Fatalf("me with the new key: %+v %v", me, err)
	}
	_, err = client.New(srv.URL, k.APIKey).CreateContainer(ctx, div, "x", "", 0)
	if e := client.AsAPIError(err); e == nil || e.StatusCode != http.StatusForbidden || !e.Has(denied) {
		t.Fatalf("view only key created a container: %v", err)
	}
	keys, err := c.ListKeys(ctx, uid)
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID || keys[0].RestrictedToRoleID != client.KeyRoleViewOnly || keys[0].Status != "active" {
		t.Fatalf("keys: %+v %v", keys, err)
	}
	if err := c.RevokeKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetKey(ctx, k.ID)
	if err != nil || got.Status != "revoked" {
		t.Fatalf("revoked key: %+v %v", got, err)
	}
	svc, err := c.CreateServiceUser(ctx, &client.NewServiceUser{Email: "bot@example.com", APIName: "bot", RestrictedToRoleID: client.KeyRoleOrders})
	if err != nil || svc.ID == 0 || svc.APIKey == "" {
		t.Fatalf("service user: %+v %v", svc, err)
	}
	if err := c.DeleteUser(ctx, uid); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, uid); !client.AsAPIError(err).Has("not_found|user") {
		t.Fatalf("deleted user: %v", err)
	}
}

// TestUsersEdit: PUT /user/{id} changes what is sent and keeps the rest;
// managers never touch administrators; the account keeps an administrator.
func TestUsersEdit(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	ctx := t.Context()
	c := client.New(srv.URL, srv.AdminKey)
	div := usrContainer(t, srv, 1, "Edits")
	uid := usrUser(t, srv, 5, 1)
	name, title := "Renamed", "Lead"
	if err := c.UpdateUser(ctx, uid, &client.UserUpdate{FirstName: &name, JobTitle: &title, Container: &client.IDRef{ID: div},
		AccessRoles: []client.IDRef{{ID: client.RoleManager}}}); err != nil {
		t.Fatal(err)
	}
	u, err := c.GetUser(ctx, uid)
	if err != nil || u.FirstName != "Renamed" || u.JobTitle != "Lead" || !strings.HasPrefix(u.LastName, "Last") || u.Container.ID != div || u.AccessRoles[0].ID != client.RoleManager {
		t.Fatalf("edited user: %+v %v", u, err)
	}
	_, mgr := usrKey(t, srv, uid, 0)
	status, hdr, body := srv.Do("PUT", v2+"/user/1", `{"access_roles":[{"id":5}]}`)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:access_roles")
	admin := usrUser(t, srv, 1, div)
	std := usrUser(t, srv, 5, div)
	for _, tc := range []struct {
		name, key string
		id        int64
		body      string
		status    int
		code      string
	}{
		{"manager edits an administrator", mgr, admin, `{"first_name":"X"}`, 403, denied},
		{"manager makes an administrator", mgr, std, `{"access_roles":[{"id":1}]}`, 403, denied},
		{"manager edits a user outside their containers", mgr, 1, `{"first_name":"X"}`, 404, "not_found|user"},
		{"bad email", srv.AdminKey, std, `{"email":"nope"}`, 400, "invalid_value:email"},
		{"empty name", srv.AdminKey, std, `{"first_name":" "}`, 400, "missing_field:first_name"},
		{"unknown container", srv.AdminKey, std, `{"container":{"id":99}}`, 400, "invalid_value:container"},
		{"unknown user", srv.AdminKey, 999, `{"first_name":"X"}`, 404, "not_found|user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := usrState(t, srv)
			status, hdr, body := srv.DoKey(tc.key, "PUT", fmt.Sprintf("%s/user/%d", v2, tc.id), tc.body)
			requireErrors(t, status, hdr, body, tc.status, tc.code)
			if after := usrState(t, srv); after != before {
				t.Errorf("refused edit changed the state")
			}
		})
	}
	// The manager edits a standard user of their container.
	if status, _, body := srv.DoKey(mgr, "PUT", fmt.Sprintf("%s/user/%d", v2, std), `{"telephone":"+1 555 0100","unknown":1}`); status != http.StatusNoContent {
		t.Fatalf("manager edit: %d %s", status, body)
	}
	// A second administrator makes demoting the first possible.
	if status, _, body := srv.Do("PUT", fmt.Sprintf("%s/user/%d", v2, admin), `{"access_roles":[{"id":4}]}`); status != http.StatusNoContent {
		t.Fatalf("demote second admin: %d %s", status, body)
	}
}

// escalationProbes are one call per area and direction that the permission
// table alone decides: each body is invalid or names nothing, so a call the
// key may make answers 400 or 404 and changes nothing, and one it may not
// make answers 403.
var escalationProbes = []usrCall{
	{"GET", "/order/certificate", ""},
	{"POST", "/order/certificate/ssl_securesite", "{}"},
	{"GET", "/organization", ""},
	{"POST", "/organization", "{}"},
	{"GET", "/user", ""},
	{"POST", "/user", "{}"},
	{"GET", "/finance/balance", ""},
	{"GET", "/container", ""},
	{"POST", "/container", "{}"},
	{"GET", "/key", ""},
	{"PUT", "/key/999999/status", `{"status":"revoked"}`},
}

// rightsOf is which probes a key passes.
func rightsOf(t *testing.T, srv *testenv.Server, key string) []bool {
	t.Helper()
	out := make([]bool, len(escalationProbes))
	for i, p := range escalationProbes {
		status, _, body := srv.DoKey(key, p.method, v2+p.path, p.body)
		switch status {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
			out[i] = true
		case http.StatusForbidden:
		default:
			t.Fatalf("probe %s %s: %d %s", p.method, p.path, status, clip(body))
		}
	}
	return out
}

// TestUsersNoEscalation: for every access role × key role of the caller and
// every call that makes a user or a key or changes a user's role (service
// user with each key role, a key for oneself with each key role, a user of
// each access role, another user edited to each access role), whatever the
// call hands out can do nothing its caller cannot: each new key, and a key
// the administrator makes for each new or edited user, passes only the
// probes the caller's key passes. The counts of what succeeds pin the
// rules down (a user-management key of an administrator once made an
// unrestricted administrator key through a service user).
func TestUsersNoEscalation(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	keyRoles := []int{0, 100, 101, 102, 103}
	roles := []int{store.RoleAdministrator, store.RoleLimitedUser, store.RoleFinanceManager, store.RoleManager, store.RoleStandardUser}
	type outcome struct{ service, self, human, edit int }
	want := map[[2]int]outcome{
		{1, 0}: {5, 5, 5, 5}, {1, 103}: {1, 0, 0, 0},
		{4, 0}: {0, 5, 4, 4}, {3, 0}: {0, 5, 0, 0}, {5, 0}: {0, 5, 0, 0}, {2, 0}: {0, 5, 0, 0},
	}
	adminKeyFor := func(uid int64) string {
		_, k := usrKey(t, srv, uid, 0)
		return k
	}
	var seq int
	for _, role := range roles {
		for _, kr := range keyRoles {
			t.Run(fmt.Sprintf("role %d key %d", role, kr), func(t *testing.T) {
				creator := usrUser(t, srv, role, 1)
				_, ckey := usrKey(t, srv, creator, kr)
				mine := rightsOf(t, srv, ckey)
				within := func(what, key string) {
					t.Helper()
					for i, ok := range rightsOf(t, srv, key) {
						if ok && !mine[i] {
							p := escalationProbes[i]
							t.Errorf("%s may %s %s, which its creator (role %d, key role %d) may not", what, p.method, p.path, role, kr)
						}
					}
				}
				var got outcome
				// minted checks a call that hands out a key: its key may do
				// nothing the creator may not; a refusal is 403.
				minted := func(what string, count *int, status int, hdr http.Header, body []byte) {
					t.Helper()
					if status != http.StatusCreated {
						requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
						return
					}
					*count++
					var v struct {
						APIKey string `json:"api_key"`
					}
					if err := json.Unmarshal(body, &v); err != nil || v.APIKey == "" {
						t.Fatalf("%s: 201 without api_key: %s", what, clip(body))
					}
					within(what, v.APIKey)
				}
				for _, k := range keyRoles {
					seq++
					status, hdr, body := srv.DoKey(ckey, "POST", v2+"/user", mustJSON(t, map[string]any{
						"is_api_only": true, "email": fmt.Sprintf("svc%d@example.com", seq), "api_name": "svc", "restricted_to_role_id": k}))
					minted(fmt.Sprintf("a service user's key (key role %d)", k), &got.service, status, hdr, body)
					status, hdr, body = srv.DoKey(ckey, "POST", fmt.Sprintf("%s/key/user/%d", v2, creator), mustJSON(t, map[string]any{"name": "own", "restricted_to_role_id": k}))
					minted(fmt.Sprintf("an own key (key role %d)", k), &got.self, status, hdr, body)
				}
				for _, r := range roles {
					seq++
					name := fmt.Sprintf("made%d", seq)
					status, hdr, body := srv.DoKey(ckey, "POST", v2+"/user", mustJSON(t, map[string]any{
						"username": name, "first_name": "M", "last_name": "U", "email": name + "@example.com",
						"container": map[string]any{"id": 1}, "access_roles": []map[string]any{{"id": r}}}))
					if status == http.StatusCreated {
						got.human++
						within(fmt.Sprintf("a new user of role %d", r), adminKeyFor(usrIDOf(t, status, hdr, body)))
					} else {
						requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
					}
					victim := usrUser(t, srv, store.RoleStandardUser, 1)
					status, hdr, body = srv.DoKey(ckey, "PUT", fmt.Sprintf("%s/user/%d", v2, victim), mustJSON(t, map[string]any{"access_roles": []map[string]any{{"id": r}}}))
					if status == http.StatusNoContent {
						got.edit++
						within(fmt.Sprintf("a user edited to role %d", r), adminKeyFor(victim))
					} else {
						requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
					}
				}
				if w := want[[2]int{role, kr}]; got != w {
					t.Errorf("succeeded: %+v, want %+v", got, w)
				}
			})
		}
	}
}

// TestRestrictedKeyCannotLockOutAdmins: a user-management key of an
// administrator may not delete another administrator nor revoke their
// unrestricted key (either would lock the account's managers out), and a
// service user does not count as the account's last administrator.
func TestRestrictedKeyCannotLockOutAdmins(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	a := usrUser(t, srv, store.RoleAdministrator, 1)
	_, aKey := usrKey(t, srv, a, 103)
	b := usrUser(t, srv, store.RoleAdministrator, 1)
	bKeyID, bKey := usrKey(t, srv, b, 0)

	for _, c := range []usrCall{
		{"PUT", fmt.Sprintf("/key/%d/status", bKeyID), `{"status":"revoked"}`},
		{"DELETE", fmt.Sprintf("/user/%d", b), ""},
	} {
		before := usrState(t, srv)
		status, hdr, body := srv.DoKey(aKey, c.method, v2+c.path, c.body)
		requireErrors(t, status, hdr, body, http.StatusForbidden, denied)
		if after := usrState(t, srv); after != before {
			t.Errorf("%s %s: refused call changed the state", c.method, c.path)
		}
	}
	if status, _, body := srv.DoKey(bKey, "GET", v2+"/user/me", ""); status != http.StatusOK {
		t.Fatalf("the administrator's key stopped working: %d %s", status, clip(body))
	}

	// The only person among the administrators cannot step down behind a
	// service user whose key is view-only.
	solo := testenv.Start(t, testenv.Options{Sandbox: true})
	status, hdr, body := solo.Do("POST", v2+"/user", mustJSON(t, map[string]any{
		"is_api_only": true, "email": "svc@example.com", "api_name": "reader", "restricted_to_role_id": 102}))
	if status != http.StatusCreated {
		t.Fatalf("service user: %d %s", status, clip(body))
	}
	status, hdr, body = solo.Do("PUT", v2+"/user/1", `{"access_roles":[{"id":4}]}`)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_value:access_roles")
}
