package client_test

import (
	"context"
	"crypto/elliptic"
	"net/http"
	"testing"
	"time"

	"github.com/certorder/certorder/client"
	"github.com/certorder/certorder/internal/testenv"
)

// TestClientOrgsAndDomains drives organizations and domains through the
// client against a server without the sandbox: create, submit, grant,
// then an order for the validated domain issues at once.
func TestClientOrgsAndDomains(t *testing.T) {
	srv := testenv.Start(t, testenv.Options{Sandbox: false})
	ctx := context.Background()
	c := client.New(srv.URL, srv.AdminKey)

	org := &client.NewOrganization{Validations: []client.ValidationRequest{
		{Type: "ov"},
		{Type: "ev", VerifiedUsers: []client.VerifiedUser{{ID: 1}}},
	}}
	org.Name, org.Address, org.City, org.State, org.Zip, org.Country = "Client Orgs Ltd", "1 Main St", "Provo", "Utah", "84601", "us"
	orgID, err := c.CreateOrganization(ctx, org)
	if err != nil || orgID <= 0 {
		t.Fatalf("CreateOrganization: %d, %v", orgID, err)
	}
	if again, err := c.CreateOrganization(ctx, org); err != nil || again != orgID {
		t.Errorf("identical organization: %d, %v; want %d", again, err, orgID)
	}
	spare := *org
	spare.SkipDuplicateOrgCheck, spare.Validations = true, nil
	spareID, err := c.CreateOrganization(ctx, &spare)
	if err != nil || spareID == orgID {
		t.Fatalf("CreateOrganization with skip_duplicate_org_check: %d, %v", spareID, err)
	}
	if err := c.DeleteOrganization(ctx, spareID); err != nil {
		t.Errorf("DeleteOrganization: %v", err)
	}
	if e := client.AsAPIError(c.DeleteOrganization(ctx, 1)); e == nil || e.Errors[0].Code != "cannot_delete_organization" {
		t.Errorf("deleting the first organization: %v", e)
	}
	if err := c.SubmitOrganizationValidation(ctx, orgID, client.ValidationRequest{Type: "cs", VerifiedUsers: []client.VerifiedUser{{FirstName: "Ann", LastName: "Lee", Email: "ann@client-orgs.com"}}}); err != nil {
		t.Fatalf("SubmitOrganizationValidation: %v", err)
	}
	err = c.SubmitOrganizationValidation(ctx, orgID, client.ValidationRequest{Type: "ev"})
	if e := client.AsAPIError(err); e == nil || e.StatusCode != http.StatusBadRequest || e.Errors[0].Code != "missing_field:verified_users" {
		t.Errorf("ev without verified users: %v", err)
	}
	if err := c.GrantOrganizationValidation(ctx, orgID, "ov", time.Now().AddDate(0, 3, 0)); err != nil {
		t.Fatalf("GrantOrganizationValidation: %v", err)
	}
	vals, err := c.GetOrganizationValidations(ctx, orgID)
	if err != nil || len(vals) != 3 {
		t.Fatalf("GetOrganizationValidations: %+v, %v", vals, err)
	}
	got := map[string]string{}
	for _, v := range vals {
		got[v.Type] = v.Status
	}
	if got["ov"] != "active" || got["ev"] != "pending" || got["cs"] != "pending" {
		t.Errorf("statuses = %v", got)
	}
	info, err := c.GetOrganization(ctx, orgID)
	if err != nil || len(info.VerifiedContacts) != 2 {
		t.Errorf("GetOrganization verified_contacts: %+v, %v", info, err)
	}

	sub, err := c.AddDomain(ctx, &client.NewDomain{Name: "client-orgs.com", Organization: client.IDRef{ID: orgID},
		Validations: []client.DomainValidationType{{Type: "ov"}}, DCVMethod: "dns-txt-token"})
	if err != nil || sub.ID <= 0 || sub.DCVToken == nil || len(sub.DCVToken.Token) != 32 {
		t.Fatalf("AddDomain: %+v, %v", sub, err)
	}
	tok, err := c.NewDomainToken(ctx, sub.ID)
	if err != nil || tok.Token == sub.DCVToken.Token {
		t.Errorf("NewDomainToken: %+v, %v", tok, err)
	}
	if err := c.GrantDomainValidation(ctx, sub.ID, ""); err != nil {
		t.Fatalf("GrantDomainValidation: %v", err)
	}
	d, err := c.GetDomain(ctx, sub.ID)
	if err != nil || d.Status != "active" || d.Organization == nil || d.Organization.IsActive != "1" || d.DCVToken == nil {
		t.Fatalf("GetDomain: %+v, %v", d, err)
	}
	list, err := c.ListDomains(ctx, &client.ListOptions{Filters: map[string]string{"organization_id": "1"}})
	if err != nil || list.Page.Total != 0 || list.Domains == nil {
		t.Errorf("ListDomains of organization 1: %+v, %v", list, err)
	}

	resp, err := c.OrderCertificate(ctx, "ssl_securesite", &client.OrderRequest{
		Certificate: client.CertificateSpec{CommonName: "www.client-orgs.com",
			CSR: testenv.CSR(t, testenv.ECKey(t, elliptic.P256()), "ignored"), SignatureHash: "sha256"},
		ValidityYears: 1, Organization: &client.OrderOrganization{ID: orgID}, SkipApproval: true})
	if err != nil || len(resp.CertificateChain) != 3 {
		t.Fatalf("order for the validated domain: %+v, %v", resp, err)
	}
	ov, err := c.GetOrderValidation(ctx, resp.ID)
	if err != nil || ov.OrderStatus != "issued" || len(ov.DNSNameValidations) != 1 || ov.DNSNameValidations[0].Status != "approved" ||
		len(ov.OrganizationValidations) != 1 || ov.OrganizationValidations[0].Status != "active" {
		t.Errorf("GetOrderValidation: %+v, %v", ov, err)
	}
}
