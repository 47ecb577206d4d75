package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// TestAdminCommands drives the user, key and container subcommands against
// the data directory of a running server, then uses what they made through
// the API: the new key works at once, with its restriction, and stops
// working when revoked.
func TestAdminCommands(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	run := func(t *testing.T, args ...string) (string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		err := adminCmd(context.Background(), args[0], append(args[1:], "--data", srv.DataDir), &out, &errOut)
		return out.String(), err
	}
	must := func(t *testing.T, args ...string) string {
		t.Helper()
		out, err := run(t, args...)
		if err != nil {
			t.Fatalf("certorder %s: %v", strings.Join(args, " "), err)
		}
		return out
	}

	out := must(t, "container", "add", "--name", "Ops")
	var divID int64
	if _, err := fmt.Sscanf(out, "container %d created under 1", &divID); err != nil {
		t.Fatalf("container add printed %q", out)
	}
	out = must(t, "user", "add", "--username", "ops.viewer", "--email", "ops@example.com", "--first-name", "Ops",
		"--last-name", "Viewer", "--role", "manager", "--container", fmt.Sprint(divID))
	var uid int64
	if _, err := fmt.Sscanf(out, "user %d created", &uid); err != nil {
		t.Fatalf("user add printed %q", out)
	}
	if out := must(t, "user", "list"); !strings.Contains(out, "ops.viewer") || !strings.Contains(out, "admin") {
		t.Errorf("user list:\n%s", out)
	}
	key := strings.TrimSpace(must(t, "key", "create", "--user", fmt.Sprint(uid), "--role", "view_only", "--name", "dashboards"))
	if len(key) < 40 || strings.ContainsAny(key, " \n") {
		t.Fatalf("key create printed %q, want the key alone", key)
	}

	code, _, body := srv.DoKey(key, "GET", "/services/v2/user/me", "")
	if code != http.StatusOK || !strings.Contains(string(body), `"ops.viewer"`) {
		t.Fatalf("new key: %d %s", code, body)
	}
	code, _, body = srv.DoKey(key, "POST", "/services/v2/container/1/children", `{"name":"x"}`)
	if code != http.StatusForbidden || !strings.Contains(string(body), "access_denied|missing_permission") {
		t.Fatalf("view only key wrote: %d %s", code, body)
	}

	list := must(t, "key", "list", "--user", fmt.Sprint(uid))
	fields := strings.Fields(strings.Split(strings.TrimSpace(list), "\n")[1])
	if len(fields) < 4 || fields[2] != "102" || fields[3] != "active" {
		t.Fatalf("key list:\n%s", list)
	}
	must(t, "key", "revoke", "--id", fields[0])
	code, _, body = srv.DoKey(key, "GET", "/services/v2/user/me", "")
	if code != http.StatusForbidden || !strings.Contains(string(body), "access_denied_invalid_key") {
		t.Fatalf("revoked key: %d %s", code, body)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"duplicate username", []string{"user", "add", "--username", "ops.viewer", "--email", "o2@example.com", "--first-name", "O", "--last-name", "V", "--role", "5"}, "invalid_value:username"},
		{"unknown role", []string{"user", "add", "--username", "x", "--role", "boss"}, `unknown role "boss"`},
		{"unknown key role", []string{"key", "create", "--user", "1", "--role", "105"}, "invalid_value:restricted_to_role_id"},
		{"unknown user", []string{"key", "create", "--user", "999"}, "not_found|user"},
		{"unknown key", []string{"key", "revoke", "--id", "999"}, "not_found|key"},
		{"unknown command", []string{"user", "rename"}, "unknown command"},
		{"delete self-less last admin", []string{"user", "delete", "--id", "1"}, "last administrator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}

	t.Run("no database", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := adminCmd(context.Background(), "user", []string{"list", "--data", t.TempDir()}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "no certorder database") {
			t.Fatalf("err = %v", err)
		}
	})
}

// TestUserPasswd sets a console password from standard input (never a
// flag) through the same rule as the console, and turns a second factor
// off; the password signs in afterwards.
func TestUserPasswd(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	run := func(in string, args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		stdin = strings.NewReader(in)
		defer func() { stdin = os.Stdin }()
		err := adminCmd(context.Background(), "user", append(args, "--data", srv.DataDir), &out, &errOut)
		return out.String(), errOut.String(), err
	}
	if _, _, err := run("short\n", "passwd", "--username", "admin"); err == nil || !strings.Contains(err.Error(), "at least 12") {
		t.Fatalf("a short password: %v", err)
	}
	if _, _, err := run("", "passwd", "--username", "admin"); err == nil {
		t.Fatal("an empty standard input set a password")
	}
	if _, _, err := run("x\n", "passwd", "--username", "nobody"); err == nil {
		t.Fatal("an unknown user's password was set")
	}
	out, prompt, err := run("correct horse battery staple\n", "passwd", "--username", "admin")
	if err != nil || !strings.Contains(out, "password set") || strings.Contains(out+prompt, "horse") {
		t.Fatalf("passwd: %q %q %v", out, prompt, err)
	}
	if _, _, err := srv.App.Console.Accounts.SignIn(context.Background(), "admin", "correct horse battery staple", netip.Addr{}, time.Now()); err != nil {
		t.Fatalf("the password set by the command does not sign in: %v", err)
	}
	if out, _, err := run("", "totp-off", "--username", "admin"); err != nil || !strings.Contains(out, "password only") {
		t.Fatalf("totp-off: %q %v", out, err)
	}
}
