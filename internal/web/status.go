package web

import (
	"net/http"

	"github.com/certorder/certorder/internal/errs"
)

// Status is the HTTP status of an error of a rule, for every edge that
// answers one (the API's envelope, the console's and the link pages'
// error pages): one table, so that a rule refuses alike wherever it is
// met.
func Status(k errs.Kind) int {
	switch k {
	case errs.Invalid, errs.Conflict:
		return http.StatusBadRequest
	case errs.Unauthorized, errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.TooLarge:
		return http.StatusRequestEntityTooLarge
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}
