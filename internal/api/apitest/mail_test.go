package apitest

import (
	"net/http"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

const accountSettingsPath = v2 + "/account/settings"

// putSettings sends PUT /account/settings with the administrator's key and
// requires 204.
func putSettings(t *testing.T, srv *testenv.Server, settings ...map[string]any) {
	t.Helper()
	status, _, body := srv.Do("PUT", accountSettingsPath, mustJSON(t, map[string]any{"account_settings": settings}))
	if status != http.StatusNoContent {
		t.Fatalf("PUT /account/settings: %d %s", status, body)
	}
}

// noLifecycleMail turns every recipient group off: the account's orders
// then mail only their additional_emails and the account's copies.
func noLifecycleMail(t *testing.T, srv *testenv.Server) {
	t.Helper()
	var s []map[string]any
	for _, name := range []string{"confirmation_email_recipients", "rejection_email_recipients", "approval_email_recipients", "renewal_email_recipients"} {
		s = append(s, map[string]any{"name": name, "value": "[]"})
	}
	putSettings(t, srv, s...)
}
