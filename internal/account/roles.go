package account

import (
	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// Area is a part of the API as the permission table sees it (spec §1.2).
type Area int

const (
	AreaOrders     Area = iota // orders, requests, certificates, custom fields
	AreaOrgs                   // organizations, domains
	AreaCatalog                // products, the caller's own user
	AreaUsers                  // users
	AreaFinance                // balance and other money matters
	AreaContainers             // containers (divisions)
	AreaKeys                   // API keys (a user-management matter for key roles)
	AreaSandbox                // the sandbox's clock and outbox: administrators with unrestricted keys
	AreaAccount                // the account's notification settings and emails: administrators
	AreaAudit                  // the account's audit log: administrators, read only
)

// AreaNames name the areas in docs and messages.
var AreaNames = map[Area]string{
	AreaOrders: "orders", AreaOrgs: "organizations, domains", AreaCatalog: "catalog, own user", AreaUsers: "users",
	AreaFinance: "finance", AreaContainers: "containers", AreaKeys: "API keys", AreaSandbox: "sandbox",
	AreaAccount: "account settings", AreaAudit: "audit log",
}

// Areas lists every area, for tables and tests that walk them all.
var Areas = []Area{AreaOrders, AreaOrgs, AreaCatalog, AreaUsers, AreaFinance, AreaContainers, AreaKeys, AreaSandbox, AreaAccount, AreaAudit}

// Key roles (spec §1.2).
const (
	KeyRoleInherit        = 0
	KeyRoleOrders         = 100
	KeyRoleOrdersDomsOrgs = 101
	KeyRoleViewOnly       = 102
	KeyRoleUserManagement = 103
)

// KeyRoles lists every key role.
var KeyRoles = []int{KeyRoleInherit, KeyRoleOrders, KeyRoleOrdersDomsOrgs, KeyRoleViewOnly, KeyRoleUserManagement}

// AccessRoles lists every access role of a user.
var AccessRoles = []int{store.RoleAdministrator, store.RoleLimitedUser, store.RoleFinanceManager, store.RoleManager, store.RoleStandardUser}

// RoleNames are the access roles' display names.
var RoleNames = map[int]string{
	store.RoleAdministrator: "Administrator", store.RoleLimitedUser: "Limited User", store.RoleFinanceManager: "Finance Manager",
	store.RoleManager: "Manager", store.RoleStandardUser: "Standard User",
}

// KeyRoleNames are the names the command line accepts for key roles.
var KeyRoleNames = map[string]int{
	"inherit": KeyRoleInherit, "orders": KeyRoleOrders, "orders_domains_organizations": KeyRoleOrdersDomsOrgs,
	"view_only": KeyRoleViewOnly, "user_management": KeyRoleUserManagement,
}

// AccessRoleNames are the names the command line accepts for access roles.
var AccessRoleNames = map[string]int{
	"administrator": store.RoleAdministrator, "limited_user": store.RoleLimitedUser, "finance_manager": store.RoleFinanceManager,
	"manager": store.RoleManager, "standard_user": store.RoleStandardUser,
}

// keyAllows is the key-role half of the permission table: a key role can
// only narrow what its user's access role allows (0 inherits it). Keys are
// a user-management matter for key roles. The sandbox's clock and outbox
// are the account's as a whole: every restricted key is refused, reads
// too (the outbox shows every user's mail).
func keyAllows(keyRole int, ar Area, read bool) bool {
	if ar == AreaSandbox {
		return keyRole == KeyRoleInherit
	}
	if ar == AreaAudit {
		// The log is a record, never written through a call; a view-only
		// key reads it as it reads everything.
		return read && (keyRole == KeyRoleInherit || keyRole == KeyRoleViewOnly)
	}
	if ar == AreaKeys {
		ar = AreaUsers
	}
	if ar == AreaAccount {
		// Who the account's mail reaches is the account's as a whole: no
		// key restricted to a part of the API changes it; a view-only key
		// reads it.
		return keyRole == KeyRoleInherit || keyRole == KeyRoleViewOnly && read
	}
	switch keyRole {
	case KeyRoleInherit:
		return true
	case KeyRoleOrders:
		return ar == AreaOrders || ar == AreaCatalog || ar == AreaContainers && read
	case KeyRoleOrdersDomsOrgs:
		return ar == AreaOrders || ar == AreaOrgs || ar == AreaCatalog || ar == AreaContainers && read
	case KeyRoleViewOnly:
		return read
	case KeyRoleUserManagement:
		return ar == AreaUsers || ar == AreaCatalog || ar == AreaContainers && read
	}
	return false
}

// roleAllows is the access-role half (docs/decisions.md, "Users, keys and
// containers"); read is a GET. Administrators reach everything. Managers
// reach orders, organizations, domains, finance and users (the rules keep
// administrators out of their reach) and read containers. Finance managers
// reach finance and read orders, organizations and containers. Standard and
// limited users place and read orders and read organizations and
// containers. Everyone may manage their own API keys (the rules refuse
// other users' keys). Only administrators reach the sandbox's clock and
// outbox and the account's notification settings, and only they read the
// audit log.
func roleAllows(role int, ar Area, read bool) bool {
	if ar == AreaSandbox || ar == AreaAccount {
		// Moving the clock expires everyone's orders and validations; the
		// account's notification settings decide who hears of every order.
		return role == store.RoleAdministrator
	}
	if ar == AreaAudit {
		// The log names every user's actions across containers.
		return role == store.RoleAdministrator && read
	}
	switch ar {
	case AreaCatalog, AreaKeys:
		return true
	}
	switch role {
	case store.RoleAdministrator:
		return true
	case store.RoleManager:
		return ar != AreaContainers || read
	case store.RoleFinanceManager:
		return ar == AreaFinance || read && (ar == AreaOrders || ar == AreaOrgs || ar == AreaContainers)
	case store.RoleStandardUser, store.RoleLimitedUser:
		return ar == AreaOrders || read && (ar == AreaOrgs || ar == AreaContainers)
	}
	return false
}

// Allowed enforces both roles of a call, the key's restriction first:
// each failure is 403 access_denied|missing_permission.
func Allowed(a Actor, ar Area, read bool) error {
	if !keyAllows(a.Key.RoleID, ar, read) {
		return errs.New(errs.Forbidden, "access_denied|missing_permission", "This API key's role does not allow this call.")
	}
	if !roleAllows(a.User.AccessRole, ar, read) {
		return errs.New(errs.Forbidden, "access_denied|missing_permission", "Your access role (%s) does not allow this call.", RoleNames[a.User.AccessRole])
	}
	return nil
}

// CanSkipApproval: administrators and managers may bypass the request step
// when the account allows it (spec §3.6).
func CanSkipApproval(a Actor) bool {
	return a.Account.AllowSkipApproval && CanApprove(a)
}

// CanApprove: administrators and managers approve requests.
func CanApprove(a Actor) bool {
	return a.User != nil && (a.User.AccessRole == store.RoleAdministrator || a.User.AccessRole == store.RoleManager)
}

// Covers reports whether a may do everything b may: wherever the
// permission table lets b read or write, it lets a too, and a limited user
// (who sees only their own orders) covers only another limited user. A
// call may never hand out a user or a key that b would describe beyond a:
// a restricted key could otherwise mint an unrestricted one.
func Covers(a, b Actor) bool {
	for _, ar := range Areas {
		for _, read := range []bool{true, false} {
			if Allowed(b, ar, read) == nil && Allowed(a, ar, read) != nil {
				return false
			}
		}
	}
	return a.User.AccessRole != store.RoleLimitedUser || b.User.AccessRole == store.RoleLimitedUser
}

// As is the actor a user would be with a key of keyRole.
func As(acct *store.Account, u *store.User, keyRole int) Actor {
	return Actor{Account: acct, User: u, Key: &store.APIKey{AccountID: acct.ID, UserID: u.ID, RoleID: keyRole}}
}
