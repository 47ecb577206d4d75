package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestJobsCommand: jobs run runs a round of each job on a server's data
// directory (a round the server claimed already is left to it) and
// refuses an unknown subcommand.
func TestJobsCommand(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	srv.Stop()
	var out, errOut bytes.Buffer
	if err := jobsCmd(context.Background(), []string{"run", "--data", srv.DataDir}, &out, &errOut); err != nil {
		t.Fatalf("jobs run: %v\n%s", err, errOut.String())
	}
	if out.String() != "expire_orders: 0\nrenewal_notices: 0\n" {
		t.Errorf("jobs run printed %q", out.String())
	}
	if err := jobsCmd(context.Background(), []string{"walk"}, &out, &errOut); err == nil {
		t.Error("jobs walk: no error")
	}
}
