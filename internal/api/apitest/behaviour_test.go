package apitest

// Behaviour the spec and public clients require: revoking an order's only
// certificate leaves the order active (spec §4.4) unless the account says
// otherwise; auto-approved orders that can issue at once answer with the
// chain (§3.6); what a revoke call answers an administrator's key in each
// approval mode; the domain records an order leaves (§6.10). Request
// bodies are sent exactly as the clients named in each test send them.
// Helpers start with bh.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/crypto/ocsp"

	"github.com/certorder/certorder/internal/testenv"
)

// bhOrder is the part of order info these tests read: the order's status
// and its certificate's own (spec §2.1; public clients read
// certificate.status before the order's).
type bhOrder struct {
	Status      string `json:"status"`
	Certificate struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	} `json:"certificate"`
}

func bhGetOrder(t *testing.T, srv *testenv.Server, id int64) bhOrder {
	t.Helper()
	_, body := getOrder(t, srv, id)
	var o bhOrder
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatalf("order %d: %v", id, err)
	}
	return o
}

// bhRequireOrder checks the order's status and its certificate's.
func bhRequireOrder(t *testing.T, srv *testenv.Server, id int64, status, certStatus string) bhOrder {
	t.Helper()
	o := bhGetOrder(t, srv, id)
	if o.Status != status || o.Certificate.Status != certStatus {
		t.Fatalf("order %d is %q with certificate %q, want %q with certificate %q", id, o.Status, o.Certificate.Status, status, certStatus)
	}
	return o
}

// bhReissue is a reissue as Keyfactor's gateway sends it (skip_approval,
// a new CSR, the order's names).
func bhReissue(t *testing.T, srv *testenv.Server, orderID int64, cn, csr string) (int, http.Header, []byte) {
	t.Helper()
	return srv.Do("POST", orderPath+itoa(orderID)+"/reissue", `{"certificate":{"common_name":"`+cn+`","csr":"`+
		strings.ReplaceAll(csr, "\n", "")+`","signature_hash":"sha256"},"skip_approval":true}`)
}

// TestBehaviourRevokeCertificateKeepsOrder: PUT /certificate/{id}/revoke
// revokes the certificate (CRL and OCSP say so) and leaves the order
// issued, with certificate.status "revoked", and reissuable; PUT
// /order/certificate/{id}/revoke revokes the order, after which it takes
// no reissue, including an order whose certificates were all revoked one
// by one.
func TestBehaviourRevokeCertificateKeepsOrder(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	chain := placed.requireChain(t, "example.com")
	leaf, inter := chain[0], chain[1]

	status, _, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), `{"revocation_reason":"superseded","skip_approval":true}`)
	rvNoContent(t, status, body)
	bhRequireOrder(t, srv, placed.ID, "issued", "revoked")
	if rv := rvRevocation(t, srv, placed.CertificateID); rv == nil || rv.Reason != 4 {
		t.Fatalf("revocation = %+v, want reason superseded", rv)
	}
	rl := rvFreshCRL(t, leaf.CRLDistributionPoints[0], inter, leaf.SerialNumber)
	onCRL := false
	for _, e := range rl.RevokedCertificateEntries {
		onCRL = onCRL || e.SerialNumber.Cmp(leaf.SerialNumber) == 0
	}
	fam2Must(t, onCRL, "the revoked certificate is not on its CRL")
	if resp := ocspClean(t, ocspVia(t, "POST", leaf.OCSPServer[0], leaf, inter), leaf, inter); resp.Status != ocsp.Revoked {
		t.Errorf("OCSP status %d, want revoked", resp.Status)
	}
	// Listed as issued still, as order info has it.
	status, _, body = srv.Do("GET", "/services/v2/order/certificate?filters[status]=issued&filters[id]="+itoa(placed.ID), "")
	fam2Must(t, status == http.StatusOK && strings.Contains(string(body), `"status":"revoked"`) &&
		strings.Contains(string(body), `"id":`+itoa(placed.ID)), "order list: %d %s", status, clip(body))

	// The order is still active: a reissue issues a new certificate.
	_, csr2 := lcKey(t)
	status, hdr, body := bhReissue(t, srv, placed.ID, "example.com", csr2)
	re := requireCreated(t, status, hdr, body)
	re.requireChain(t, "example.com")
	o := bhRequireOrder(t, srv, placed.ID, "issued", "issued")
	fam2Must(t, o.Certificate.ID == re.CertificateID && re.CertificateID != placed.CertificateID,
		"order's certificate is %d, want the reissue %d", o.Certificate.ID, re.CertificateID)

	// The order call revokes the order and the reissued certificate.
	status, _, body = srv.Do("PUT", rvOrderPath(placed.ID), `{"skip_approval":true}`)
	rvNoContent(t, status, body)
	bhRequireOrder(t, srv, placed.ID, "revoked", "revoked")
	fam2Must(t, rvRevocation(t, srv, re.CertificateID) != nil, "order revoke left the reissue unrevoked")
	_, csr3 := lcKey(t)
	status, hdr, body = bhReissue(t, srv, placed.ID, "example.com", csr3)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")

	t.Run("order call after its certificates were revoked", func(t *testing.T) {
		_, csr := lcKey(t)
		placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
		placed.requireChain(t, "example.com")
		status, _, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), `{"skip_approval":true}`)
		rvNoContent(t, status, body)
		bhRequireOrder(t, srv, placed.ID, "issued", "revoked")
		// Through a request, approved afterwards.
		status, hdr, body := srv.Do("PUT", rvOrderPath(placed.ID), `{"comments":"end it"}`)
		req := rvCreated(t, status, hdr, body, "submitted", "end it")
		bhRequireOrder(t, srv, placed.ID, "issued", "revoked")
		fam2PutRequest(t, srv, req.ID, "approved")
		bhRequireOrder(t, srv, placed.ID, "revoked", "revoked")
		status, hdr, body = srv.Do("PUT", rvOrderPath(placed.ID), `{"skip_approval":true}`)
		requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")
	})

	t.Run("through an approved request", func(t *testing.T) {
		_, csr := lcKey(t)
		placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
		placed.requireChain(t, "example.com")
		status, hdr, body := srv.Do("PUT", rvCertPath(itoa(placed.CertificateID)), `{"comments":"I no longer need this cert."}`)
		req := rvCreated(t, status, hdr, body, "submitted", "I no longer need this cert.")
		fam2PutRequest(t, srv, req.ID, "approved")
		bhRequireOrder(t, srv, placed.ID, "issued", "revoked")
	})
}

// TestBehaviourRevokeOrderWithCertificate: with the account setting
// (--revoke-order-with-certificate), revoking the only certificate left on
// an order revokes the order; while a duplicate is still valid the order
// stays issued.
func TestBehaviourRevokeOrderWithCertificate(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, RevokeOrderWithCertificate: true})
	_, csr := lcKey(t)
	only := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
	only.requireChain(t, "example.com")
	status, _, body := srv.Do("PUT", rvCertPath(itoa(only.CertificateID)), `{"skip_approval":true}`)
	rvNoContent(t, status, body)
	bhRequireOrder(t, srv, only.ID, "revoked", "revoked")
	_, csr2 := lcKey(t)
	status, hdr, body := bhReissue(t, srv, only.ID, "example.com", csr2)
	requireErrors(t, status, hdr, body, http.StatusBadRequest, "invalid_order_status")

	_, csr = lcKey(t)
	a := lcIssuedAnswer(t, srv, "ssl_dv_geotrust", dvBase(csr))
	a.requireChain(t, "example.com")
	_, dcsr := lcKey(t)
	dup := lcOpOK(t, srv, a.ID, "duplicate", map[string]any{
		"certificate": map[string]any{"common_name": "example.com", "csr": dcsr}, "skip_approval": true})
	dup.requireChain(t, "example.com")
	status, _, body = srv.Do("PUT", rvCertPath(itoa(a.CertificateID)), `{"skip_approval":true}`)
	rvNoContent(t, status, body)
	bhRequireOrder(t, srv, a.ID, "issued", "revoked")
	status, _, body = srv.Do("PUT", rvCertPath(itoa(dup.CertificateID)), `{"skip_approval":true}`)
	rvNoContent(t, status, body)
	bhRequireOrder(t, srv, a.ID, "revoked", "revoked")
}

// TestBehaviourAutoImmediate: on an auto-approve account an approver's
// order that can issue at once answers 201 with its approved request,
// certificate_id and certificate_chain, as skip_approval does (spec §3.6);
// a standard user's order still waits for approval.
func TestBehaviourAutoImmediate(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: "auto"})
	_, stdKey := usrKey(t, srv, usrUser(t, srv, 5, 1), 0)
	_, mgrKey := usrKey(t, srv, usrUser(t, srv, 4, 1), 0)
	for _, tc := range []struct {
		name, product, key string
		body               func(csr string) map[string]any
	}{
		{"administrator, OV", "ssl_securesite", srv.AdminKey, baseBody},
		{"manager, DV", "ssl_dv_geotrust", mgrKey, dvBase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, csr := lcKey(t)
			status, hdr, body := srv.DoKey(tc.key, "POST", orderPath+tc.product, mustJSON(t, tc.body(csr)))
			c := requireCreated(t, status, hdr, body)
			c.requireKeys(t, "id", "requests", "certificate_id", "certificate_chain")
			if len(c.Requests) != 1 || c.Requests[0].ID <= 0 || c.Requests[0].Status != "approved" {
				t.Fatalf("requests = %+v, want one approved request", c.Requests)
			}
			c.requireChain(t, "example.com")
			bhRequireOrder(t, srv, c.ID, "issued", "issued")
			if got := lcGetRequest(t, srv, c.Requests[0].ID); got.Status != "approved" || got.Type != "new_request" {
				t.Errorf("request = %+v, want an approved new_request", got)
			}
		})
	}
	t.Run("standard user", func(t *testing.T) {
		_, csr := lcKey(t)
		status, hdr, body := srv.DoKey(stdKey, "POST", orderPath+"ssl_securesite", mustJSON(t, baseBody(csr)))
		requireCreated(t, status, hdr, body).requirePending(t)
	})
}

// TestBehaviourRevokeAnswers: what a revoke call answers an
// administrator's key in each approval mode. Venafi's DigiCert connector
// sends PUT /certificate/{serial}/revoke with {"reason","comment"} and no
// skip_approval and takes only status "submitted" as success; Keyfactor's
// gateway sends PUT /order/certificate/{id}/revoke with {"comments"} and
// approves the request id it gets. skip_approval answers 204.
func TestBehaviourRevokeAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode string
		// request is the stored status of the administrator's request;
		// revoked, whether the 201 already revoked; approve, what
		// Keyfactor's approval then answers.
		request     string
		revoked     bool
		approve     int
		approveCode string
	}{
		{mode: "one_step", request: "pending", approve: http.StatusNoContent},
		{mode: "two_step", request: "submitted", approve: http.StatusBadRequest, approveCode: "invalid_request_status"},
		{mode: "auto", request: "approved", revoked: true, approve: http.StatusNoContent},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			srv := testenv.Start(t, testenv.Options{Sandbox: true, ApprovalMode: tc.mode})

			// Venafi: by hex serial, its own body.
			_, csr := lcKey(t)
			v := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
			leaf := v.requireChain(t, "example.com")[0]
			status, hdr, body := srv.Do("PUT", rvCertPath(strings.ToUpper(leaf.SerialNumber.Text(16))), `{"reason":"keyCompromise","comment":""}`)
			req := rvCreated(t, status, hdr, body, "submitted", "")
			fam2Must(t, lcGetRequest(t, srv, req.ID).Status == tc.request, "request %d is %q, want %q", req.ID, lcGetRequest(t, srv, req.ID).Status, tc.request)
			fam2Must(t, (rvRevocation(t, srv, v.CertificateID) != nil) == tc.revoked, "revoked = %v, want %v", !tc.revoked, tc.revoked)

			// Keyfactor: the order call, then its approval of the request.
			_, csr = lcKey(t)
			k := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
			k.requireChain(t, "example.com")
			status, hdr, body = srv.Do("PUT", rvOrderPath(k.ID), `{"comments":"Unspecified"}`)
			kreq := rvCreated(t, status, hdr, body, "submitted", "Unspecified")
			status, hdr, body = srv.Do("PUT", "/services/v2/request/"+itoa(kreq.ID)+"/status", `{"status":"approved"}`)
			if tc.approveCode != "" {
				requireErrors(t, status, hdr, body, tc.approve, tc.approveCode)
			} else {
				rvNoContent(t, status, body)
				bhRequireOrder(t, srv, k.ID, "revoked", "revoked")
			}

			// skip_approval: 204 whatever the mode.
			_, csr = lcKey(t)
			s := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
			s.requireChain(t, "example.com")
			status, _, body = srv.Do("PUT", rvCertPath(itoa(s.CertificateID)), `{"comments":"I no longer need this cert.","skip_approval":true}`)
			rvNoContent(t, status, body)
			bhRequireOrder(t, srv, s.ID, "issued", "revoked")
		})
	}
	t.Run("manager, one_step", func(t *testing.T) {
		t.Parallel()
		srv := testenv.Start(t, testenv.Options{Sandbox: true})
		_, mgrKey := usrKey(t, srv, usrUser(t, srv, 4, 1), 0)
		_, csr := lcKey(t)
		placed := lcIssuedAnswer(t, srv, "ssl_securesite", baseBody(csr))
		placed.requireChain(t, "example.com")
		status, hdr, body := srv.DoKey(mgrKey, "PUT", rvCertPath(itoa(placed.CertificateID)), `{"comments":"please"}`)
		rvCreated(t, status, hdr, body, "pending", "please")
	})
}

// bhDomain is one item of GET /domain as the old CertCentral SDK reads
// it: it indexes organization.id of every item.
type bhDomain struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	IsActive     bool   `json:"is_active"`
	Organization *struct {
		ID int64 `json:"id"`
	} `json:"organization"`
	Container *struct {
		ID int64 `json:"id"`
	} `json:"container"`
}

// bhContainerDomains is the SDK's look-up: GET /user/me for the
// container, then GET /domain?container_id=.
func bhContainerDomains(t *testing.T, srv *testenv.Server) (int64, []bhDomain) {
	t.Helper()
	status, _, body := srv.Do("GET", "/services/v2/user/me", "")
	var me struct {
		Container struct {
			ID int64 `json:"id"`
		} `json:"container"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &me) != nil || me.Container.ID == 0 {
		t.Fatalf("user/me: %d %s", status, clip(body))
	}
	status, hdr, body := srv.Do("GET", "/services/v2/domain?container_id="+itoa(me.Container.ID), "")
	if status != http.StatusOK {
		t.Fatalf("GET /domain?container_id=%d: %d %s", me.Container.ID, status, clip(body))
	}
	requireJSON(t, hdr)
	var v struct {
		Domains []bhDomain `json:"domains"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Domains == nil {
		t.Fatalf("domain list: %v %s", err, clip(body))
	}
	for _, d := range v.Domains {
		if d.Organization == nil || d.Container == nil || d.Container.ID != me.Container.ID {
			t.Errorf("domain %s listed for container %d without its organization or container: %s", d.Name, me.Container.ID, clip(body))
		}
	}
	return me.Container.ID, v.Domains
}

func bhFind(doms []bhDomain, name string) *bhDomain {
	for i := range doms {
		if doms[i].Name == name {
			return &doms[i]
		}
	}
	return nil
}

// TestBehaviourSandboxDomains: an order whose names the sandbox validates
// leaves the domain records CertCentral would have, with the order's
// organization and container, so that a client that looks for its domain
// before ordering finds it; sandbox rules still hold for names under them.
func TestBehaviourSandboxDomains(t *testing.T) {
	t.Parallel()
	srv := testenv.Start(t, testenv.Options{Sandbox: true})
	_, csr := lcKey(t)
	first := domOrder(t, srv, csr, 1, true, "behave-sandbox.com", "behave-sandbox.com", "www.behave-sandbox.com", "shop.behave-other.net")
	first.requireChain(t, "behave-sandbox.com")
	cont, doms := bhContainerDomains(t, srv)
	for _, name := range []string{"behave-sandbox.com", "behave-other.net"} {
		d := bhFind(doms, name)
		if d == nil || !d.IsActive || d.Organization == nil || d.Organization.ID != 1 || d.Container == nil || d.Container.ID != cont {
			t.Fatalf("domain %s = %+v, want active with organization 1 in container %d", name, d, cont)
		}
		if info := domGet(t, srv, d.ID); info.Status != "active" || info.IsPendingValidation {
			t.Errorf("domain %s = %+v, want validated", name, info)
		}
	}
	// Its id takes a submission like any other domain.
	d := bhFind(doms, "behave-sandbox.com")
	status, _, body := srv.Do("POST", domainPath+"/"+itoa(d.ID)+"/validation", `{"validations":[{"type":"ov"}],"dcv_method":"dns-txt-token"}`)
	fam2Must(t, status == http.StatusCreated, "resubmitting the recorded domain: %d %s", status, clip(body))

	// A rule holds a name back even under a recorded domain.
	m := baseBody(csr)
	certOf(m)["common_name"] = "www.dcv-pending.behave-sandbox.com"
	m["dcv_method"], m["skip_approval"] = "dns-txt-token", true
	held := createOK(t, srv, "ssl_securesite", mustJSON(t, m))
	held.requireKeys(t, "id", "certificate_id")
	fam2WaitStatus(t, srv, held.ID, "pending")
	status, _, body = srv.Do("PUT", orderPath+itoa(held.ID)+"/check-dcv", "")
	fam2Must(t, status == http.StatusOK && strings.Contains(string(body), `"status":"pending"`),
		"check-dcv of a held name: %d %s", status, clip(body))
	bhRequireOrder(t, srv, held.ID, "pending", "pending")

	// A DV order names no organization: its domain is recorded without
	// one and is not listed for the container, whose every domain the SDK
	// reads organization.id of.
	_, csr = lcKey(t)
	dv := dvBase(csr)
	certOf(dv)["common_name"] = "behave-dv.org"
	dv["skip_approval"] = true
	createOK(t, srv, "ssl_dv_geotrust", mustJSON(t, dv)).requireChain(t, "behave-dv.org")
	_, doms = bhContainerDomains(t, srv)
	fam2Must(t, bhFind(doms, "behave-dv.org") == nil, "a domain without organization is listed for the container")
	status, _, body = srv.Do("GET", domainPath+"?filters[search]=behave-dv.org", "")
	fam2Must(t, status == http.StatusOK && strings.Contains(string(body), `"name":"behave-dv.org"`), "DV order's domain not recorded: %s", clip(body))
}

// TestBehaviourDCVDomainOrganization: outside the sandbox, a domain proven
// by an order's DCV is recorded with the order's organization and
// container and listed for that container.
func TestBehaviourDCVDomainOrganization(t *testing.T) {
	t.Parallel()
	e := startDCV(t, nil)
	domNoContent(t, e.srv, "PUT", "/services/v2/organization/1/validation/ov", "")
	m := baseBody(e.csr)
	certOf(m)["common_name"] = "behave-dcv.com"
	m["dcv_method"] = "dns-txt-token"
	m["skip_approval"] = true
	o := createOK(t, e.srv, "ssl_securesite", mustJSON(t, m))
	info, _ := dvcsGetOrder(t, e.srv, o.ID)
	dvcsRequireRandomValue(t, info.DCVRandomValue)
	e.dns.SetTXT("behave-dcv.com", info.DCVRandomValue)
	e.requireCheckIssues(t, o.ID, "behave-dcv.com")
	cont, doms := bhContainerDomains(t, e.srv)
	d := bhFind(doms, "behave-dcv.com")
	if d == nil || d.Organization == nil || d.Organization.ID != 1 || d.Container == nil || d.Container.ID != cont {
		t.Fatalf("proven domain = %+v, want organization 1 in container %d", d, cont)
	}
}
