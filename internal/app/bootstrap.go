package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/certorder/certorder/internal/api"
	"github.com/certorder/certorder/internal/store"
	"github.com/certorder/certorder/internal/validation"
)

// bootstrap creates, on the first start, the account, its top container,
// an administrator with an API key and one organization with full subject
// details (EV fields included). On every start it applies the account
// options of the configuration, and in sandbox mode (re)grants the
// organization's validations, so they never lapse.
func (a *App) bootstrap(ctx context.Context) error {
	n, err := a.Store.AccountCount(ctx)
	if err != nil {
		return fmt.Errorf("count accounts: %w", err)
	}
	if n == 0 {
		if err := a.firstStart(ctx); err != nil {
			return err
		}
	}
	acct, err := a.Store.FirstAccount(ctx)
	if err != nil {
		return fmt.Errorf("read account: %w", err)
	}
	mode := a.Config.ApprovalMode
	if mode == "" {
		mode = "one_step"
	}
	switch mode {
	case "one_step", "two_step", "auto":
	default:
		return fmt.Errorf("approval mode %q: want one_step, two_step or auto", mode)
	}
	now := a.Now().UTC()
	return a.Store.InTx(ctx, func(tx store.Tx) error {
		acct.ApprovalMode, acct.RequireUniqueAltOrderID = mode, a.Config.RequireUniqueAltOrderID
		acct.AllowSkipApproval = !a.Config.DisallowSkipApproval
		acct.IssuingCASelection = a.Config.IssuingCASelection
		acct.RevokeOrderWithCertificate = a.Config.RevokeOrderWithCertificate
		if err := tx.SetAccountOptions(ctx, acct); err != nil {
			return err
		}
		if !a.Config.Sandbox {
			return nil
		}
		orgs, _, err := tx.Organizations(ctx, acct.ID, store.Page{Limit: 1})
		if err != nil || len(orgs) == 0 {
			return fmt.Errorf("read first organization: %v", err)
		}
		for _, typ := range validation.SandboxOrgValidations {
			if err := tx.SetOrgValidation(ctx, store.OrgValidation{OrganizationID: orgs[0].ID, Type: typ, Status: "active",
				DateCreated: now, ValidatedUntil: now.AddDate(1, 0, 0)}); err != nil {
				return err
			}
		}
		return nil
	})
}

func (a *App) firstStart(ctx context.Context) error {
	key := a.Config.AdminKey
	generated := key == ""
	if generated {
		var err error
		if key, err = NewAPIKey(); err != nil {
			return fmt.Errorf("generate admin key: %w", err)
		}
	}
	now := a.Now().UTC()
	err := a.Store.InTx(ctx, func(tx store.Tx) error {
		balance := a.Config.InitialBalanceCents
		if balance == 0 {
			balance = DefaultBalanceCents
		}
		acct := &store.Account{Name: "certorder", ApprovalMode: "one_step", AllowSkipApproval: true, BalanceCents: balance, CreatedAt: now}
		if err := tx.CreateAccount(ctx, acct); err != nil {
			return err
		}
		c := &store.Container{AccountID: acct.ID, Name: "certorder", IsActive: true, CreatedAt: now}
		if err := tx.CreateContainer(ctx, c); err != nil {
			return err
		}
		u := &store.User{AccountID: acct.ID, ContainerID: c.ID, Username: "admin", FirstName: "certorder", LastName: "Administrator",
			Email: "admin@example.com", JobTitle: "Administrator", AccessRole: store.RoleAdministrator, CreatedAt: now}
		if err := tx.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.CreateAPIKey(ctx, &store.APIKey{AccountID: acct.ID, UserID: u.ID, Name: "admin", Hash: api.HashKey(key), CreatedAt: now}); err != nil {
			return err
		}
		org := &store.Organization{AccountID: acct.ID, ContainerID: c.ID, Name: "Example Inc.", Address: "2801 N Thanksgiving Way",
			City: "Lehi", State: "Utah", Zip: "84043", Country: "us", Telephone: "+1 801 555 0100",
			JurisdictionCountry: "us", JurisdictionState: "Delaware", BusinessCategory: "Private Organization",
			RegistrationNumber: "5299537", IncorporatingAgency: "Delaware Division of Corporations",
			OrganizationContact: &store.Contact{FirstName: "Jane", LastName: "Doe", Email: "jane.doe@example.com", JobTitle: "CTO", Telephone: "+1 801 555 0101"},
			IsActive:            true, CreatedAt: now}
		if err := tx.CreateOrganization(ctx, org); err != nil {
			return err
		}
		return tx.Audit(ctx, &store.AuditEvent{AccountID: acct.ID, UserID: u.ID, At: now, Action: "account.bootstrapped", Object: fmt.Sprintf("account:%d", acct.ID)})
	})
	if err != nil {
		return fmt.Errorf("bootstrap account: %w", err)
	}
	a.AdminKey = key
	if generated {
		path := filepath.Join(a.Config.DataDir, AdminKeyFile)
		if err := os.WriteFile(path, []byte(key+"\n"), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(a.Config.Out, "certorder: administrator API key (shown once, also in %s):\n%s\n", path, key)
	}
	return nil
}
