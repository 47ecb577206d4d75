package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/certorder/certorder/internal/errs"
	"github.com/certorder/certorder/internal/store"
)

// TestWriteError: the one mapping from an error to what the client gets,
// status, envelope code and Retry-After, for every kind and for a store
// outage however deep in the chain it sits.
func TestWriteError(t *testing.T) {
	storeDown := store.Unavailable(errors.New("dial tcp 127.0.0.1:5432: connect: connection refused"))
	limited := errs.New(errs.RateLimited, "request_limit_exceeded", "Slow down.")
	limited.RetryAfter = 1200 * time.Millisecond
	cases := []struct {
		name   string
		err    error
		status int
		code   string
		retry  string // Retry-After, "" for none
	}{
		{"internal", errs.Internalf(errors.New("boom"), "read order"), 500, "internal_error", ""},
		{"not an errs.Error", errors.New("boom"), 500, "internal_error", ""},
		{"invalid", errs.InvalidValue("validity_years", ""), 400, "invalid_value:validity_years", ""},
		{"conflict", errs.New(errs.Conflict, "invalid_request_status", "No."), 400, "invalid_request_status", ""},
		{"unauthorized", errs.New(errs.Unauthorized, "access_denied|access_denied_invalid_key", "No."), 403, "access_denied|access_denied_invalid_key", ""},
		{"forbidden", errs.New(errs.Forbidden, "access_denied|missing_permission", "No."), 403, "access_denied|missing_permission", ""},
		{"not found", errs.NotFoundf("order", "No."), 404, "not_found|order", ""},
		{"too large", errs.New(errs.TooLarge, "request_too_large", "Big."), 413, "request_too_large", ""},
		{"rate limited, rounded up", limited, 429, "request_limit_exceeded", "2"},
		{"unavailable without a time", errs.New(errs.Unavailable, "email_unavailable", "No relay."), 503, "email_unavailable", ""},
		{"store unavailable", storeDown, 503, "service_unavailable", "10"},
		{"store unavailable under an internal error", errs.Internalf(fmt.Errorf("list orders: %w", storeDown), "list orders"), 503, "service_unavailable", "10"},
		{"store unavailable under a wrapped error", fmt.Errorf("create order: %w", errs.Internalf(storeDown, "insert")), 503, "service_unavailable", "10"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			writeError(rec, tc.err)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header()["Content-Type"]; len(got) != 1 || got[0] != "application/json" {
				t.Errorf("Content-Type %q, want exactly application/json", got)
			}
			if got := rec.Header().Get("Retry-After"); got != tc.retry {
				t.Errorf("Retry-After %q, want %q", got, tc.retry)
			}
			var env struct {
				Errors []errs.Detail `json:"errors"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || len(env.Errors) != 1 {
				t.Fatalf("body %s: %v", rec.Body, err)
			}
			if env.Errors[0].Code != tc.code {
				t.Errorf("code %q, want %q", env.Errors[0].Code, tc.code)
			}
			if tc.status >= 500 && env.Errors[0].Message == "" {
				t.Error("empty message")
			}
		})
	}
	if http.StatusServiceUnavailable != statusOf(errs.Unavailable) {
		t.Error("errs.Unavailable is not 503")
	}
}
