package api

import (
	"strconv"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
)

// spend charges one request to the caller's key. Over budget the answer is
// 429 request_limit_exceeded with Retry-After (writeError sets it from the
// error), counted after authentication so an unknown key spends no one's
// budget.
func (s *Server) spend(a account.Actor) error {
	if s.Limits == nil || a.Key == nil {
		return nil
	}
	wait, err := s.Limits.Allow(strconv.FormatInt(a.Key.ID, 10))
	if err == nil {
		return nil
	}
	e := errs.New(errs.RateLimited, "request_limit_exceeded", "The API key has exceeded its request limit; retry after %d seconds.",
		retrySeconds(wait))
	e.RetryAfter = wait
	return e
}
