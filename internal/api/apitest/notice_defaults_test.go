package apitest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/jobs"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// TestNoticeDefaults: the account and each container have a default of
// the send_* switches; an order placed without a switch takes the default
// of its container, else of the nearest parent container (even one its
// requester cannot see), else of the account, and order info shows the
// result; a switch sent wins; a default changed later changes no order
// placed before, nor an automatic renewal, which keeps its predecessor's
// switches; the notice job follows each order's switches. Only
// administrators set defaults.
func TestNoticeDefaults(t *testing.T) {
	t.Parallel()
	var shift atomic.Int64
	srv := testenv.Start(t, testenv.Options{Sandbox: true, Now: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }})
	ctx := context.Background()
	acct, err := srv.App.Store.Account(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	admin := account.SystemActor(acct)
	set := func(container int64, off []string, inherit bool) {
		t.Helper()
		if err := srv.App.Orders.SetNoticeDefaults(ctx, admin, container, off, inherit); err != nil {
			t.Fatal(err)
		}
	}
	divA := usrContainer(t, srv, 1, "Division A")
	divA1 := usrContainer(t, srv, divA, "Division A1")
	divB := usrContainer(t, srv, 1, "Division B")
	_, stdA1 := usrKey(t, srv, usrUser(t, srv, store.RoleStandardUser, divA1), 0)
	_, csr := lcKey(t)
	set(0, []string{store.NoticeMinus90, store.NoticeMinus60}, false)
	set(divA, []string{store.NoticePlus7}, false)

	place := func(key string, container int64, extra map[string]any) int64 {
		t.Helper()
		m := baseBody(csr)
		m["container"] = map[string]any{"id": container}
		for k, v := range extra {
			m[k] = v
		}
		if key == srv.AdminKey {
			m["skip_approval"] = true
		}
		status, hdr, body := srv.DoKey(key, "POST", orderPath+"ssl_securesite", mustJSON(t, m))
		return requireCreated(t, status, hdr, body).ID
	}
	switches := func(id int64) []string {
		t.Helper()
		_, raw := getOrder(t, srv, id)
		var v map[string]any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		var off []string
		for _, n := range []string{"minus_90", "minus_60", "minus_30", "minus_7", "minus_3", "plus_7"} {
			on, ok := v["send_"+n].(bool)
			if !ok {
				t.Fatalf("order info of %d has no boolean send_%s: %s", id, n, clip(raw))
			}
			if !on {
				off = append(off, n)
			}
		}
		return off
	}
	account1 := place(srv.AdminKey, 1, nil)
	sent := place(srv.AdminKey, 1, map[string]any{"send_minus_90": true})
	inA := place(srv.AdminKey, divA, nil)
	inA1 := place(stdA1, divA1, nil)
	inB := place(srv.AdminKey, divB, map[string]any{"send_plus_7": false})
	renewBody := map[string]any{"auto_renew": 1, "validity_days": 60}
	renewing := place(srv.AdminKey, 1, renewBody)
	set(divA1, []string{}, false) // all on in A1 from now on
	ownA1 := place(stdA1, divA1, nil)
	set(divA1, nil, true) // A1 takes A's default again
	inheritA1 := place(stdA1, divA1, nil)
	set(0, nil, false) // the account's default: all on
	later := place(srv.AdminKey, 1, nil)
	for _, c := range []struct {
		name string
		id   int64
		want []string
	}{
		{"account default", account1, []string{"minus_90", "minus_60"}},
		{"a switch sent wins", sent, []string{"minus_60"}},
		{"container default", inA, []string{"plus_7"}},
		{"parent container's default, placed by a user who cannot see it", inA1, []string{"plus_7"}},
		{"account default in a container without one, a switch sent besides", inB, []string{"minus_90", "minus_60", "plus_7"}},
		{"the container's own default: all on", ownA1, nil},
		{"inherited again", inheritA1, []string{"plus_7"}},
		{"the account's default changed", later, nil},
		{"placed before the change", renewing, []string{"minus_90", "minus_60"}},
	} {
		if got := switches(c.id); !slices.Equal(got, c.want) {
			t.Errorf("%s: order %d has %v off, want %v", c.name, c.id, got, c.want)
		}
	}

	// Refusals: a manager, a container of nobody, inherit on the account.
	mgr, err := srv.App.Store.User(ctx, 1, usrUser(t, srv, store.RoleManager, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		actor     account.Actor
		container int64
		inherit   bool
		kind      errs.Kind
	}{
		{"manager", account.Actor{Account: acct, User: mgr}, 0, false, errs.Forbidden},
		{"unknown container", admin, 99999, false, errs.Invalid},
		{"the account inherits", admin, 0, true, errs.Invalid},
	} {
		err := srv.App.Orders.SetNoticeDefaults(ctx, c.actor, c.container, []string{store.NoticeMinus3}, c.inherit)
		var e *errs.Error
		if !errors.As(err, &e) || e.Kind != c.kind {
			t.Errorf("%s: %v, want kind %v", c.name, err, c.kind)
		}
	}
	if got := switches(place(srv.AdminKey, 1, nil)); got != nil {
		t.Errorf("a refused change took effect: %v off", got)
	}

	// The renewal keeps the switches of the order it renews.
	o, err := srv.App.Store.Order(ctx, 1, renewing)
	if err != nil {
		t.Fatal(err)
	}
	shift.Store(int64(time.Until(o.OrderValidTill.Add(-jobs.RenewLead + time.Hour))))
	roundsUntil(t, srv, &shift, func() bool {
		o, err := srv.App.Store.Order(ctx, 1, renewing)
		return err == nil && o.IsRenewed
	}, jobs.KindRenew)
	o, _ = srv.App.Store.Order(ctx, 1, renewing)
	if got := switches(o.RenewedOrderID); !slices.Equal(got, []string{"minus_90", "minus_60"}) {
		t.Errorf("the renewal has %v off, want its predecessor's [minus_90 minus_60]", got)
	}

	// The 90-day notice goes to the orders that have it on, only.
	a1, err := srv.App.Store.Order(ctx, 1, account1)
	if err != nil {
		t.Fatal(err)
	}
	shift.Store(max(shift.Load(), int64(time.Until(a1.OrderValidTill.Add(-90*24*time.Hour+time.Hour)))))
	roundsUntil(t, srv, &shift, func() bool {
		ns, err := srv.App.Store.OrderNotices(ctx, 1, sent)
		return err == nil && len(ns) > 0
	}, jobs.KindNotices)
	for _, c := range []struct {
		id   int64
		mail bool
	}{{account1, false}, {sent, true}, {inA, true}, {inB, false}, {later, true}} {
		ms, err := srv.App.Store.MailByOrder(ctx, 1, c.id)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range ms {
			if m.Kind == jobs.MailKindRenewal {
				n++
			}
		}
		if (n > 0) != c.mail {
			t.Errorf("order %d: %d renewal notices queued, want some: %v", c.id, n, c.mail)
		}
	}
}
