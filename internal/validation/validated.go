package validation

import (
	"context"
	"time"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/store"
)

// Validated: the organization holds the validation the product needs and
// every name of the order is validated — what the order engine asks
// before it signs. In sandbox mode domain control counts as passed unless
// a sandbox rule holds a name back (and new organizations are validated
// at once). Otherwise every DNS name's registrable domain, the name itself
// or a domain between them must hold a completed domain validation of the
// account still within its reuse period (domainsValidated in domains.go),
// proven by the DCV engine (dcvcheck.go) or granted by an administrator.
// Every email address must hold a mailbox validation of the account
// completed within the last 30 days (mailbox.go).
// CAA is not part of it: CheckCAA runs right before the signature.
func (s *Service) Validated(ctx context.Context, product catalog.Product, org *store.Organization, o *store.Order) bool {
	if s.Sandbox {
		if len(product.DCVMethods) > 0 && !s.sandboxNamesPass(o.DNSNames) {
			return false // a scripted rule holds a name back
		}
		switch {
		case product.OrgValidation == "":
			return true
		case org == nil:
			return false
		case org.ID == 0:
			return true // created with this order; sandbox validates it at once
		}
		return orgValidated(org, product.OrgValidation, s.now())
	}
	if product.OrgValidation != "" && (org == nil || org.ID == 0 || !orgValidated(org, product.OrgValidation, s.now())) {
		return false
	}
	if len(o.Emails) > 0 && !s.mailboxesValidated(ctx, s.Store, o) {
		// A mailbox is proven only by its owner answering the random
		// value mailed to it (S/MIME BR 3.2.2.2, mailbox.go); no grant
		// covers one.
		return false
	}
	if len(product.DCVMethods) == 0 {
		return true // code signing and client certificates name no domains
	}
	return s.domainsValidated(ctx, o)
}

func orgValidated(org *store.Organization, typ string, now time.Time) bool {
	for _, v := range org.Validations {
		if v.Type == typ && v.Status == "active" && v.ValidatedUntil.After(now) {
			return true
		}
	}
	return false
}
