package compat_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/testenv"
)

// clients are the public CertCentral clients replayed, each on a server of
// its own set up the way that client's users run their account.
var clients = []struct {
	dir  string
	opts testenv.Options
	// setup does what the client's users do in the console before the
	// client runs (it is not one of the client's requests).
	setup func(t *testing.T, r *replay)
}{
	// sapcc/go-certcentral, as sapcc/digicert-issuer (a cert-manager
	// issuer) uses it: skip_approval and certificate_chain in the 201.
	{dir: "sapcc-go-certcentral", opts: testenv.Options{Sandbox: true}},
	// marqeta/go-digicert: orders need approval (skip_approval false).
	{dir: "marqeta-go-digicert", opts: testenv.Options{Sandbox: true}},
	// myklst/terraform-provider-st-digicert: no skip_approval; the
	// provider reads the chain right after ordering, so its account
	// approves an approver's own requests (auto).
	{dir: "terraform-st-digicert", opts: testenv.Options{Sandbox: true, ApprovalMode: "auto"}},
	// Venafi/digicert-ca-connector: no skip_approval; auto approval as
	// for Terraform.
	{dir: "venafi-digicert-ca-connector", opts: testenv.Options{Sandbox: true, ApprovalMode: "auto"}},
	// Keyfactor/digicert-certcentral-cagateway (AnyGateway plugin).
	{dir: "keyfactor-certcentral-cagateway", opts: testenv.Options{Sandbox: true}},
	// Netflix/lemur's DigiCert issuer plugin: no skip_approval, it polls
	// order info until "issued".
	{dir: "netflix-lemur", opts: testenv.Options{Sandbox: true, ApprovalMode: "auto"}},
	// digicert/digicert_client (Python): the order is placed only when a
	// domain record of that exact name exists in the user's container.
	{dir: "digicert-python-client", opts: testenv.Options{Sandbox: true, ApprovalMode: "auto"},
		setup: func(t *testing.T, r *replay) {
			doJSON(t, r.srv, "POST", "/services/v2/domain",
				`{"name":"dc.example.com","organization":{"id":`+r.vars["ORG_ID"]+`},"validations":[{"type":"ov"}],"dcv_method":"dns-txt-token"}`, 201)
		}},
	// riboseinc/digicert (Ruby gem): one-step approval through the gem's
	// own request-status call.
	{dir: "riboseinc-digicert-ruby", opts: testenv.Options{Sandbox: true}},
}

func TestClients(t *testing.T) {
	for _, c := range clients {
		if only := os.Getenv("COMPAT_ONLY"); only != "" && only != c.dir {
			continue
		}
		t.Run(c.dir, func(t *testing.T) {
			t.Parallel()
			steps := loadSteps(t, c.dir)
			srv := testenv.Start(t, c.opts)
			r := &replay{srv: srv, vars: newVars(t, srv)}
			// The account's first organization and the key user's
			// container: what the client's configuration names.
			orgs := doJSON(t, srv, "GET", "/services/v2/organization", "", 200)
			list, _ := orgs["organizations"].([]any)
			if len(list) == 0 {
				t.Fatal("setup: no organization")
			}
			r.vars["ORG_ID"] = scalarText(list[0].(map[string]any)["id"])
			me := doJSON(t, srv, "GET", "/services/v2/user/me", "", 200)
			if ctr, ok := me["container"].(map[string]any); ok {
				r.vars["CONTAINER_ID"] = scalarText(ctr["id"])
			}
			if c.setup != nil {
				c.setup(t, r)
			}
			for _, s := range steps {
				t.Run(strings.TrimSuffix(s.file, ".txt"), func(t *testing.T) { r.run(t, s) })
			}
		})
	}
}

// TestRecordingsNameTheirSource keeps every recording attributable: a
// client, and a source naming repository, file and commit or version.
func TestRecordingsNameTheirSource(t *testing.T) {
	for _, c := range clients {
		for _, s := range loadSteps(t, c.dir) {
			if !strings.Contains(s.source, "@") {
				t.Errorf("%s/%s: source %q names no commit or version (repo path @ commit)", c.dir, s.file, s.source)
			}
		}
	}
}

// checks are client-specific readings no path directive expresses.
var checks = map[string]func(t *testing.T, r *replay, doc any, raw []byte){
	// Keyfactor's GetSingleRecord stores Intermediates[0].PEM as the
	// order's certificate: the first element must be the end-entity.
	"chain-first-is-leaf": func(t *testing.T, r *replay, doc any, raw []byte) {
		v, ok := lookup(doc, "intermediates[0].pem")
		if !ok {
			t.Errorf("no intermediates[0].pem: %s", clip(raw))
			return
		}
		certs := pemCerts(t, []byte(v.(string)))
		if len(certs) != 1 || certs[0].IsCA {
			t.Errorf("intermediates[0] is not the end-entity certificate")
			return
		}
		testenv.RequireLintClean(t, certs[0].Raw)
	},
	// The Terraform provider picks the leaf by subject_common_name and
	// takes the last element as the root.
	"chain-leaf-by-cn-and-root-last": func(t *testing.T, r *replay, doc any, raw []byte) {
		list, _ := doc.(map[string]any)["intermediates"].([]any)
		if len(list) < 2 {
			t.Errorf("chain too short: %s", clip(raw))
			return
		}
		leafFound := false
		for _, e := range list {
			m := e.(map[string]any)
			if m["subject_common_name"] == "tf.example.com" {
				leafFound = true
				testenv.RequireLintClean(t, pemCerts(t, []byte(m["pem"].(string)))[0].Raw)
			}
		}
		if !leafFound {
			t.Errorf("no element with subject_common_name tf.example.com")
		}
		last := pemCerts(t, []byte(list[len(list)-1].(map[string]any)["pem"].(string)))
		if len(last) != 1 || !last[0].IsCA || last[0].Subject.String() != last[0].Issuer.String() {
			t.Errorf("the last element is not the root")
		}
		r.vars["TF_INTERMEDIATE_CN"] = scalarText(list[1].(map[string]any)["subject_common_name"])
	},
	// The provider finds the issuer PEM by matching the chain's names
	// against GET /certificate/intermediates.
	"intermediates-cover-chain": func(t *testing.T, r *replay, doc any, raw []byte) {
		want := r.vars["TF_INTERMEDIATE_CN"]
		list, _ := doc.(map[string]any)["intermediates"].([]any)
		for _, e := range list {
			if e.(map[string]any)["subject_common_name"] == want {
				return
			}
		}
		t.Errorf("intermediates do not list %q, the chain's issuer: %s", want, clip(raw))
	},
	// getAllDomains fails on an empty list.
	"domains-not-empty": func(t *testing.T, r *replay, doc any, raw []byte) {
		if list, _ := doc.(map[string]any)["domains"].([]any); len(list) == 0 {
			t.Errorf("the client refuses an empty domain list: %s", clip(raw))
		}
	},
	// digicert_client places the order only if a domain of the common
	// name belongs to the organization (compared with ==, so both ids
	// must be JSON numbers).
	"dc-domain-matches-org": func(t *testing.T, r *replay, doc any, raw []byte) {
		list, _ := doc.(map[string]any)["domains"].([]any)
		for _, e := range list {
			m := e.(map[string]any)
			org, _ := m["organization"].(map[string]any)
			if m["name"] == "dc.example.com" && org != nil {
				if _, isNum := org["id"].(float64); isNum && scalarText(org["id"]) == r.vars["ORG_ID"] {
					return
				}
			}
		}
		t.Errorf("no domain dc.example.com whose organization.id is the number %s: %s", r.vars["ORG_ID"], clip(raw))
	},
	// digicert_client matches the organization on its address fields and
	// lower-cases state and country, so they are strings.
	"dc-org-address": func(t *testing.T, r *replay, doc any, raw []byte) {
		list, _ := doc.(map[string]any)["organizations"].([]any)
		if len(list) == 0 {
			t.Errorf("no organizations")
			return
		}
		m := list[0].(map[string]any)
		for _, k := range []string{"name", "address", "city", "state", "zip", "country"} {
			if _, ok := m[k].(string); !ok {
				t.Errorf("organizations[0].%s = %v, the client compares it as a string", k, m[k])
			}
		}
	},
	// digicert_client splits the body on "-----" and wants three blocks.
	"dc-three-blocks": func(t *testing.T, r *replay, doc any, raw []byte) {
		n := 0
		for _, part := range strings.Split(string(raw), "-----") {
			part = strings.TrimSpace(part)
			if part != "" && !strings.HasPrefix(part, "BEGIN ") && !strings.HasPrefix(part, "END ") {
				n++
			}
		}
		if n != 3 {
			t.Errorf("the client needs 3 certificates, found %d", n)
		}
	},
	// Keyfactor's incremental sync reads order_id/status of the orders
	// that changed in the window; the one just issued is among them.
	"status-changes-list-order": func(t *testing.T, r *replay, doc any, raw []byte) {
		list, _ := doc.(map[string]any)["orders"].([]any)
		for _, e := range list {
			if scalarText(e.(map[string]any)["order_id"]) == r.vars["ORDER_ID"] {
				return
			}
		}
		t.Errorf("order %s, issued in the window, is not listed: %s", r.vars["ORDER_ID"], clip(raw))
	},
	// The Keyfactor gateway takes the revocation date from the approved
	// revoke request of the order.
	"revoke-request-approved": func(t *testing.T, r *replay, doc any, raw []byte) {
		list, _ := doc.(map[string]any)["requests"].([]any)
		for _, e := range list {
			m := e.(map[string]any)
			if m["type"] == "revoke" && m["status"] == "approved" {
				if s, _ := m["date"].(string); s != "" {
					if _, err := time.Parse(time.RFC3339, s); err == nil {
						return
					}
				}
			}
		}
		t.Errorf("no approved revoke request with an RFC 3339 date: %s", clip(raw))
	},
	// Venafi imports only active organizations.
	"org-active": func(t *testing.T, r *replay, doc any, raw []byte) {
		list, _ := doc.(map[string]any)["organizations"].([]any)
		for _, e := range list {
			m := e.(map[string]any)
			if scalarText(m["id"]) == r.vars["ORG_ID"] && m["is_active"] == true {
				return
			}
		}
		t.Errorf("organization %s is not listed with is_active true: %s", r.vars["ORG_ID"], clip(raw))
	},
	// Venafi's import stops when offset plus the page's orders equals
	// page.total, and parses every valid_till.
	"venafi-page": func(t *testing.T, r *replay, doc any, raw []byte) {
		m := doc.(map[string]any)
		list, _ := m["orders"].([]any)
		total, _ := lookup(doc, "page.total")
		offset, _ := lookup(doc, "page.offset")
		if scalarText(offset) != "0" || scalarText(total) != scalarText(float64(len(list))) {
			t.Errorf("page %v/%v with %d orders: the import would not stop", offset, total, len(list))
		}
		for _, e := range list {
			vt, _ := lookup(e, "certificate.valid_till")
			if s, _ := vt.(string); s == "" {
				t.Errorf("order without certificate.valid_till: %v", e)
			} else if _, err := time.Parse("2006-01-02", s); err != nil {
				t.Errorf("valid_till %q: %v", s, err)
			}
		}
	},
	// The Terraform provider takes an empty answer for success and reads
	// a non-empty one as {"errors":[...]}.
	"empty-or-no-errors": func(t *testing.T, r *replay, doc any, raw []byte) {
		if len(raw) == 0 {
			return
		}
		m, ok := doc.(map[string]any)
		if !ok {
			t.Errorf("a non-empty answer must be a JSON object: %s", clip(raw))
			return
		}
		if e, _ := m["errors"].([]any); len(e) > 0 {
			t.Errorf("answer carries errors: %s", clip(raw))
		}
	},
	// Keyfactor picks the certificate whose subject_common_name is the
	// request's common name out of certificate_chain.
	"kf-chain-has-cn": func(t *testing.T, r *replay, doc any, raw []byte) {
		list, _ := doc.(map[string]any)["certificate_chain"].([]any)
		for _, e := range list {
			if strings.EqualFold(scalarText(e.(map[string]any)["subject_common_name"]), "kf.example.com") {
				return
			}
		}
		t.Errorf("no certificate_chain element named kf.example.com: %s", clip(raw))
	},
}
