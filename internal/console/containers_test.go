package console_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/flex"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/testenv"
)

// TestContainerPages: the container tree shows each viewer the
// containers the API lists for them: all of them to an administrator,
// their own subtree to everyone else; a container outside it is not
// found; users are listed only to those who may read users.
func TestContainerPages(t *testing.T) {
	t.Parallel()
	f := start(t, testenv.Options{Sandbox: true})
	ctx := context.Background()
	east, west := f.container("East"), f.container("West")
	sub, err := f.srv.App.Console.Accounts.CreateContainer(ctx, f.admin, east, "parent", &account.ContainerInput{Name: "East Sub"})
	if err != nil {
		t.Fatal(err)
	}
	lim := f.user("lim", store.RoleLimitedUser, east, "Lim")
	f.user("mgr", store.RoleManager, east, "Max")
	f.user("wes", store.RoleStandardUser, west, "Wes")
	for _, tc := range []struct {
		who    string
		user   *store.User
		sees   []int64
		hidden []int64
		users  bool
	}{
		{who: "admin", sees: []int64{f.top, east, west, sub.ID}, users: true},
		{who: "mgr", sees: []int64{east, sub.ID}, hidden: []int64{f.top, west}, users: true},
		{who: "lim", user: lim, sees: []int64{east, sub.ID}, hidden: []int64{f.top, west}},
	} {
		t.Run(tc.who, func(t *testing.T) {
			b := f.signIn(tc.who)
			list := b.Get(f.url("/console/containers"))
			requireStatus(t, list, http.StatusOK, "containers")
			if !contains(b.Get(f.url("/console/")).Body, `href="/console/containers"`) {
				t.Error("the menu does not link the containers")
			}
			for _, id := range tc.sees {
				if !contains(list.Body, `href="/console/containers/`+itoa(id)+`"`) {
					t.Errorf("container %d is not listed", id)
				}
				requireStatus(t, b.Get(f.url("/console/containers/"+itoa(id))), http.StatusOK, "container "+itoa(id))
			}
			for _, id := range tc.hidden {
				if contains(list.Body, `href="/console/containers/`+itoa(id)+`"`) {
					t.Errorf("container %d is listed", id)
				}
				requireStatus(t, b.Get(f.url("/console/containers/"+itoa(id))), http.StatusNotFound, "container "+itoa(id))
			}
			page := b.Get(f.url("/console/containers/" + itoa(east)))
			if got := contains(page.Body, "Lim Tester (lim)"); got != tc.users {
				t.Errorf("East's page lists its users = %v", got)
			}
			if !contains(page.Body, `href="/console/containers/`+itoa(sub.ID)+`"`) || !contains(page.Body, "filters%5Bcontainer_id%5D="+itoa(east)) {
				t.Errorf("East's page:\n%s", clip(page.Body))
			}
			if tc.user != nil {
				// The same containers as the API lists for this user.
				_, key, err := f.srv.App.Console.Accounts.CreateAPIKey(ctx, f.admin, tc.user.ID, "k", flex.NewInt(0))
				if err != nil {
					t.Fatal(err)
				}
				status, _, body := f.srv.DoKey(key, "GET", "/services/v2/container", "")
				if status != http.StatusOK {
					t.Fatalf("GET /container: %d %s", status, body)
				}
				for _, name := range []string{"West", `"certorder"`} {
					if contains(string(body), name) {
						t.Errorf("the API lists %s to the user", name)
					}
				}
				for _, name := range []string{`"East"`, `"East Sub"`} {
					if !contains(string(body), name) {
						t.Errorf("the API does not list %s: %s", name, body)
					}
				}
			}
		})
	}
}
