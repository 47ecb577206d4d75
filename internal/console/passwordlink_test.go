package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/dcv/dcvtest"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
	"github.com/certorder/certorder/internal/web/webtest"
)

// TestPasswordLinkOnlyAdministratorsForOthers: a password link sets the
// password of whoever reads the user's mailbox, and a manager may change
// the address of the users they manage (PUT /user/{id}): a manager who
// could mail another user a link could set that user's password, which
// only administrators may (account.SetPassword), and sign in as a peer
// manager, the second person of a two-step approval. So a manager mails a
// link to themselves only; an administrator to anyone they manage.
func TestPasswordLinkOnlyAdministratorsForOthers(t *testing.T) {
	t.Parallel()
	smtp := dcvtest.StartSMTP(t)
	f := start(t, testenv.Options{SMTPURL: smtp.URL()})
	div := f.container("division")
	mgr := f.user("mgr", store.RoleManager, div, "Max")
	peer := f.user("peer.mgr", store.RoleManager, div, "Pia")
	std := f.user("std.user", store.RoleStandardUser, div, "Sam")
	_, key, err := f.srv.App.Console.Accounts.CreateAPIKey(context.Background(), f.actor(mgr), mgr.ID, "mgr key", flex.NewInt(0))
	if err != nil {
		t.Fatal(err)
	}
	b := f.signIn("mgr")
	for _, victim := range []*store.User{peer, std} {
		// The manager points the user's address at their own mailbox.
		if status, _, body := f.srv.DoKey(key, "PUT", "/services/v2/user/"+itoa(victim.ID), `{"email":"mgr.inbox@example.com"}`); status != http.StatusNoContent {
			t.Fatalf("manager edits %s's email: %d %s", victim.Username, status, body)
		}
		page := f.url("/console/users/" + itoa(victim.ID))
		if contains(b.Get(page).Body, "/password-link") {
			t.Errorf("%s's page offers the manager a password link", victim.Username)
		}
		if p := post(t, b, page, page+"/password-link", nil); p.Status != http.StatusForbidden {
			t.Errorf("a manager mails %s a password link: %d, want 403", victim.Username, p.Status)
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, m := range smtp.Messages() {
		link := regexp.MustCompile(`http://[^\s]+/console/password/[a-z2-7]+`).FindString(m.Text)
		if link == "" {
			continue
		}
		// What the manager does with it: set the password, sign in.
		nb := webtest.New(t)
		nb.Submit(link, url.Values{"password": {"taken over by mgr"}, "confirm": {"taken over by mgr"}})
		for _, name := range []string{"peer.mgr", "std.user"} {
			if p := webtest.New(t).Submit(f.url("/console/signin"), url.Values{"username": {name}, "password": {"taken over by mgr"}}); p.Status == http.StatusSeeOther {
				t.Errorf("the manager signed in as %s with a password of their choice", name)
			}
		}
	}
	// Their own link, and an administrator's for the user, are mailed.
	own := f.url("/console/users/" + itoa(mgr.ID))
	requireStatus(t, post(t, b, own, own+"/password-link", nil), http.StatusSeeOther, "a manager's own password link")
	smtp.WaitFor(t, mgr.Email, 10*time.Second)
	admin := f.signIn("admin")
	page := f.url("/console/users/" + itoa(std.ID))
	requireStatus(t, post(t, admin, page, page+"/password-link", nil), http.StatusSeeOther, "an administrator's link for a user")
	smtp.WaitFor(t, "mgr.inbox@example.com", 10*time.Second)
}
