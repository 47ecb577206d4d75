package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestNoticesCommand sets the account's and a container's default of the
// renewal notice switches beside a running server, shows them, takes a
// container back to its parent's, and refuses what makes no sense.
func TestNoticesCommand(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := noticesCmd(context.Background(), append(args, "--data", srv.DataDir), &out, &errOut)
		return out.String(), err
	}
	lineOf := func(out, where string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, where) {
				return strings.Join(strings.Fields(l), " ")
			}
		}
		return ""
	}
	out, err := run("show")
	if err != nil || lineOf(out, "account") != "account none (not set: all on)" {
		t.Fatalf("show on a new store: %q, %v", out, err)
	}
	if out, err = run("set", "--off", "send_plus_7,minus_90"); err != nil || lineOf(out, "account") != "account minus_90,plus_7 account" ||
		!strings.Contains(lineOf(out, "container:1 "), "minus_90,plus_7 account") {
		t.Fatalf("set the account's: %q, %v", out, err)
	}
	if out, err = run("set", "--container", "1", "--off", "none"); err != nil || !strings.HasSuffix(lineOf(out, "container:1 "), "none container:1") {
		t.Fatalf("set container 1's: %q, %v", out, err)
	}
	if out, err = run("set", "--container", "1", "--inherit"); err != nil || !strings.HasSuffix(lineOf(out, "container:1 "), "minus_90,plus_7 account") {
		t.Fatalf("container 1 inherits: %q, %v", out, err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"set", "--off", "minus_1"}, "not a renewal notice"},
		{[]string{"set"}, "either --off or --inherit"},
		{[]string{"set", "--container", "1", "--off", "", "--inherit"}, "either --off or --inherit"},
		{[]string{"set", "--inherit"}, "inherits its default"},
		{[]string{"set", "--container", "999", "--off", "minus_3"}, "not found"},
		{[]string{"frobnicate"}, "missing subcommand"},
	} {
		if _, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}
