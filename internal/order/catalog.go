package order

import (
	"errors"

	"github.com/certorder/certorder/internal/catalog"
	"github.com/certorder/certorder/internal/errs"
)

// Products is the catalogue new orders are placed from: the operator's
// (Service.Catalog) or the built-in one.
func (s *Service) Products() *catalog.Catalog {
	if s.Catalog != nil {
		return s.Catalog
	}
	return catalog.Default()
}

// orderProduct is the product an order placed under productID is for: the
// product, the one an alias names, or the one a determinator ("ssl")
// chooses from the body's names. Disabled products are not found, as
// CertCentral answers for products not enabled for the account.
func (s *Service) orderProduct(productID string, in *CreateInput) (catalog.Product, error) {
	var cn string
	var sans []string
	if in != nil && in.Certificate != nil {
		cn, sans = in.Certificate.CommonName, in.Certificate.DNSNames
	}
	p, err := s.Products().ForOrder(productID, cn, sans)
	var amb *catalog.AmbiguousError
	switch {
	case errors.As(err, &amb):
		return p, errs.New(errs.Invalid, "ambiguous_product",
			"No single product of %s fits these names: %s. Order a wildcard or multi-domain product directly.", productID, amb.Reason)
	case err != nil:
		if _, ok := s.Products().Orderable(productID); ok {
			// A determinator chose a product that is not enabled.
			return p, errs.NotFoundf("product", "%s orders another product for these names, and it is not enabled for this account.", productID)
		}
		return p, errs.NotFoundf("product", "The product %q does not exist or is not enabled for this account.", productID)
	}
	return p, nil
}
