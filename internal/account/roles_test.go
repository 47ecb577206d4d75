package account

import (
	"fmt"
	"testing"

	"github.com/certorder/certorder/internal/store"
)

// The permission table as docs/decisions.md and docs/security.md write it:
// "rw" both, "r" GET only, "" neither.
var keyTable = map[int]map[Area]string{
	KeyRoleInherit:        {AreaOrders: "rw", AreaOrgs: "rw", AreaCatalog: "rw", AreaUsers: "rw", AreaFinance: "rw", AreaContainers: "rw", AreaKeys: "rw", AreaSandbox: "rw", AreaAccount: "rw", AreaAudit: "r"},
	KeyRoleOrders:         {AreaOrders: "rw", AreaCatalog: "rw", AreaContainers: "r"},
	KeyRoleOrdersDomsOrgs: {AreaOrders: "rw", AreaOrgs: "rw", AreaCatalog: "rw", AreaContainers: "r"},
	KeyRoleViewOnly:       {AreaOrders: "r", AreaOrgs: "r", AreaCatalog: "r", AreaUsers: "r", AreaFinance: "r", AreaContainers: "r", AreaKeys: "r", AreaAccount: "r", AreaAudit: "r"},
	KeyRoleUserManagement: {AreaCatalog: "rw", AreaUsers: "rw", AreaContainers: "r", AreaKeys: "rw"},
}

var roleTable = map[int]map[Area]string{
	store.RoleAdministrator:  {AreaOrders: "rw", AreaOrgs: "rw", AreaCatalog: "rw", AreaUsers: "rw", AreaFinance: "rw", AreaContainers: "rw", AreaKeys: "rw", AreaSandbox: "rw", AreaAccount: "rw", AreaAudit: "r"},
	store.RoleManager:        {AreaOrders: "rw", AreaOrgs: "rw", AreaCatalog: "rw", AreaUsers: "rw", AreaFinance: "rw", AreaContainers: "r", AreaKeys: "rw"},
	store.RoleFinanceManager: {AreaOrders: "r", AreaOrgs: "r", AreaCatalog: "rw", AreaFinance: "rw", AreaContainers: "r", AreaKeys: "rw"},
	store.RoleStandardUser:   {AreaOrders: "rw", AreaOrgs: "r", AreaCatalog: "rw", AreaContainers: "r", AreaKeys: "rw"},
	store.RoleLimitedUser:    {AreaOrders: "rw", AreaOrgs: "r", AreaCatalog: "rw", AreaContainers: "r", AreaKeys: "rw"},
}

func tableAllows(cell string, read bool) bool {
	if read {
		return cell == "r" || cell == "rw"
	}
	return cell == "rw"
}

// TestAllowedMatrix walks access role × key role × area × method: a call
// passes exactly when both tables allow it, and a refusal is 403
// access_denied|missing_permission.
func TestAllowedMatrix(t *testing.T) {
	acct := &store.Account{ID: 1}
	for _, role := range AccessRoles {
		for _, kr := range KeyRoles {
			a := As(acct, &store.User{ID: 7, AccountID: 1, AccessRole: role}, kr)
			for _, ar := range Areas {
				for _, read := range []bool{true, false} {
					want := tableAllows(keyTable[kr][ar], read) && tableAllows(roleTable[role][ar], read)
					err := Allowed(a, ar, read)
					if (err == nil) != want {
						t.Errorf("role %d key %d area %d read %v: allowed=%v, want %v", role, kr, ar, read, err == nil, want)
					}
				}
			}
		}
	}
	if Allowed(As(acct, &store.User{AccessRole: store.RoleAdministrator}, 104), AreaCatalog, true) == nil {
		t.Error("an unknown key role passed")
	}
}

func TestCovers(t *testing.T) {
	acct := &store.Account{ID: 1}
	as := func(role, kr int) Actor { return As(acct, &store.User{AccountID: 1, AccessRole: role}, kr) }
	cases := []struct {
		a, b [2]int
		want bool
	}{
		{[2]int{1, 0}, [2]int{1, 0}, true},
		{[2]int{1, 0}, [2]int{5, 102}, true},
		{[2]int{1, 103}, [2]int{1, 0}, false}, // the user-management key minting an administrator key
		{[2]int{1, 103}, [2]int{1, 103}, true},
		{[2]int{1, 103}, [2]int{1, 102}, false},
		{[2]int{1, 103}, [2]int{5, 0}, false},
		{[2]int{1, 101}, [2]int{1, 100}, true},
		{[2]int{1, 100}, [2]int{1, 101}, false},
		{[2]int{4, 0}, [2]int{1, 0}, false},
		{[2]int{4, 0}, [2]int{3, 0}, true},
		{[2]int{4, 0}, [2]int{2, 0}, true},
		{[2]int{3, 0}, [2]int{5, 0}, false},
		{[2]int{5, 0}, [2]int{3, 0}, false},
		{[2]int{2, 0}, [2]int{5, 0}, false}, // a limited user sees only their own orders
		{[2]int{5, 0}, [2]int{2, 0}, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.a, c.b), func(t *testing.T) {
			if got := Covers(as(c.a[0], c.a[1]), as(c.b[0], c.b[1])); got != c.want {
				t.Errorf("Covers = %v, want %v", got, c.want)
			}
		})
	}
	for _, role := range AccessRoles {
		for _, kr := range KeyRoles {
			if !Covers(as(role, kr), as(role, kr)) {
				t.Errorf("role %d key %d does not cover itself", role, kr)
			}
		}
	}
}
