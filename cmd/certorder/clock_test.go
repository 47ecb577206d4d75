package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// TestClockCommand moves the clock of a running sandbox from beside it:
// the server's business time follows within a second; the command refuses
// to move it back, bad arguments, and a store no sandbox ever served.
func TestClockCommand(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := clockCmd(context.Background(), args, &out, &errOut)
		return out.String(), err
	}
	out, err := run("advance", "--data", srv.DataDir, "30d")
	if err != nil || !strings.Contains(out, "offset 720h0m0s") {
		t.Fatalf("clock advance 30d: %q, %v", out, err)
	}
	// Flags after the duration too.
	if out, err = run("advance", "2h", "--data", srv.DataDir); err != nil || !strings.Contains(out, "offset 722h0m0s") {
		t.Fatalf("clock advance 2h: %q, %v", out, err)
	}
	to := time.Now().UTC().Add(800 * time.Hour).Truncate(time.Second)
	if out, err = run("advance", "--data", srv.DataDir, "--to", to.Format(time.RFC3339)); err != nil || !strings.Contains(out, "sandbox time "+to.Format("2006-01-02T15")) {
		t.Fatalf("clock advance --to: %q, %v", out, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, body := srv.Do("GET", "/services/v2/sandbox/clock", "")
		var c struct {
			OffsetSeconds int64 `json:"offset_seconds"`
		}
		json.Unmarshal(body, &c)
		if c.OffsetSeconds >= 799*3600 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not see the move: %s", body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err = run("show", "--data", srv.DataDir); err != nil || !strings.Contains(out, "sandbox time "+to.Format("2006-01-02T15")) {
		t.Fatalf("clock show: %q, %v", out, err)
	}
	// The other commands on a sandbox's store date by its clock too.
	var out2, errOut bytes.Buffer
	if err := validationCmd(context.Background(), "domain", []string{"validate", "--data", srv.DataDir, "--domain", "cli-travel.example.com"}, &out2, &errOut); err != nil {
		t.Fatalf("domain validate: %v %s", err, errOut.String())
	}
	_, _, body := srv.Do("GET", "/services/v2/domain?filters[search]=cli-travel", "")
	var doms struct {
		Domains []struct {
			DCVApproval string `json:"dcv_approval_datetime"`
		} `json:"domains"`
	}
	if err := json.Unmarshal(body, &doms); err != nil || len(doms.Domains) != 1 {
		t.Fatalf("domain list: %v %s", err, body)
	}
	if at, err := time.Parse(time.RFC3339, doms.Domains[0].DCVApproval); err != nil || at.Before(to.Add(-time.Minute)) {
		t.Errorf("domain validated by the command at %q, want the sandbox's time %s", doms.Domains[0].DCVApproval, to)
	}
	prod := testenv.Start(t, testenv.Options{})
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"advance", "--data", srv.DataDir, "--to", "2020-01-01T00:00:00Z"}, "only moves forward"},
		{[]string{"advance", "--data", srv.DataDir, "-1h"}, "flag provided but not defined"},
		{[]string{"advance", "--data", srv.DataDir, "--", "-1h"}, "only moves forward"},
		{[]string{"advance", "--data", srv.DataDir, "soon"}, "neither a duration"},
		{[]string{"advance", "--data", srv.DataDir}, "one DURATION or --to TIME"},
		{[]string{"advance", "--data", srv.DataDir, "1h", "2h"}, "one DURATION or --to TIME"},
		{[]string{"rewind", "--data", srv.DataDir}, "missing subcommand"},
		{[]string{"advance", "--data", prod.DataDir, "1h"}, "never been served with --sandbox"},
	} {
		if out, err := run(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("clock %s: %q, %v; want an error with %q", strings.Join(c.args, " "), out, err, c.want)
		}
	}
}
