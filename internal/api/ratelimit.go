package api

import (
	"math"
	"net/http"
	"strconv"

	"github.com/certorder/certorder/internal/account"
	"github.com/certorder/certorder/internal/errs"
)

// spend charges one request to the caller's key. Over budget the answer is
// 429 request_limit_exceeded with Retry-After in whole seconds, counted
// after authentication so an unknown key spends no one's budget.
func (s *Server) spend(w http.ResponseWriter, a account.Actor) error {
	if s.Limits == nil || a.Key == nil {
		return nil
	}
	wait, err := s.Limits.Allow(strconv.FormatInt(a.Key.ID, 10))
	if err == nil {
		return nil
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	return errs.New(errs.RateLimited, "request_limit_exceeded", "The API key has exceeded its request limit; retry after %d seconds.",
		int(math.Ceil(wait.Seconds())))
}
