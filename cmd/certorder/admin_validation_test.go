package main

import (
	"context"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/certorder/certorder/internal/testenv"
)

// TestValidationCommands: next to a running server without the sandbox,
// `certorder org validate` and `certorder domain validate` grant the
// validations a waiting order needs, and the order issues.
func TestValidationCommands(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	csr := testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored.example.org")
	body := fmt.Sprintf(`{"certificate":{"common_name":"cli-widgets.com","csr":%q,"signature_hash":"sha256"},
		"validity_years":1,"organization":{"id":1},"skip_approval":true}`, csr)
	status, _, b := srv.Do("POST", "/services/v2/order/certificate/ssl_securesite", body)
	if status != 201 {
		t.Fatalf("order: %d %s", status, b)
	}
	var created struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(b, &created); err != nil {
		t.Fatal(err)
	}
	orderStatus := func() string {
		t.Helper()
		status, _, b := srv.Do("GET", fmt.Sprintf("/services/v2/order/certificate/%d", created.ID), "")
		var o struct {
			Status string `json:"status"`
		}
		if status != 200 || json.Unmarshal(b, &o) != nil {
			t.Fatalf("order info: %d %s", status, b)
		}
		return o.Status
	}
	run := func(group string, args ...string) (string, error) {
		var out, errb strings.Builder
		err := validationCmd(context.Background(), group, args, &out, &errb)
		return out.String(), err
	}

	refusals := []struct {
		name  string
		group string
		args  []string
		want  string
	}{
		{"no subcommand", "org", nil, "validate"},
		{"org without --type", "org", []string{"validate", "--data", srv.DataDir, "--org", "1"}, "--type"},
		{"unknown type", "org", []string{"validate", "--data", srv.DataDir, "--org", "1", "--type", "evcs"}, "invalid_value:type"},
		{"unknown org", "org", []string{"validate", "--data", srv.DataDir, "--org", "99", "--type", "ov"}, "not_found|organization"},
		{"bad --until", "org", []string{"validate", "--data", srv.DataDir, "--org", "1", "--type", "ov", "--until", "soon"}, "--until"},
		{"domain without --domain", "domain", []string{"validate", "--data", srv.DataDir}, "--domain"},
		{"bad domain", "domain", []string{"validate", "--data", srv.DataDir, "--domain", "*.cli-widgets.com"}, "invalid_value:name"},
		{"bad method", "domain", []string{"validate", "--data", srv.DataDir, "--domain", "cli-widgets.com", "--method", "fax"}, "invalid_value:dcv_method"},
		{"no data directory", "domain", []string{"validate", "--data", t.TempDir(), "--domain", "cli-widgets.com"}, "no CA"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := run(tc.group, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	if s := orderStatus(); s != "pending" {
		t.Fatalf("order is %s before any grant, want pending", s)
	}

	out, err := run("org", "validate", "--data", srv.DataDir, "--org", "1", "--type", "ov", "--public-url", srv.URL)
	if err != nil || !strings.Contains(out, "ov validated until") || !strings.Contains(out, "pending orders issued: 0") {
		t.Fatalf("org validate: %v\n%s", err, out)
	}
	if s := orderStatus(); s != "pending" {
		t.Fatalf("order is %s with only the organization validated, want pending", s)
	}
	out, err = run("domain", "validate", "--data", srv.DataDir, "--domain", "cli-widgets.com", "--method", "dns-txt-token", "--public-url", srv.URL)
	if err != nil || !strings.Contains(out, "validated by dns-txt-token") || !strings.Contains(out, "pending orders issued: 1") {
		t.Fatalf("domain validate: %v\n%s", err, out)
	}
	if s := orderStatus(); s != "issued" {
		t.Fatalf("order is %s after both grants, want issued", s)
	}
	status, _, b = srv.Do("GET", fmt.Sprintf("/services/v2/certificate/download/order/%d/format/pem_all", created.ID), "")
	if status != 200 {
		t.Fatalf("download: %d %s", status, b)
	}
	chain := testenv.ParsePEMChain(t, b)
	if len(chain) != 3 {
		t.Fatalf("pem_all holds %d certificates", len(chain))
	}
	for _, c := range chain {
		testenv.RequireLintClean(t, c.Raw)
	}
	if err := chain[0].CheckSignatureFrom(chain[1]); err != nil {
		t.Errorf("leaf not signed by the intermediate: %v", err)
	}
	if len(chain[0].IssuingCertificateURL) == 0 || !strings.HasPrefix(chain[0].IssuingCertificateURL[0], srv.URL) {
		t.Errorf("AIA %q does not name --public-url %s", chain[0].IssuingCertificateURL, srv.URL)
	}
}
