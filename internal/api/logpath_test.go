package api

import (
	"net/http/httptest"
	"testing"
)

// TestLogPath: whatever follows a secret path's prefix never reaches a
// log, wherever the prefix stands and in whatever case; other paths are
// logged as they are.
func TestLogPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, want string }{
		{"/mailbox/abc", "/mailbox/[redacted]"},
		{"/MAILBOX/ABC", "/MAILBOX/[redacted]"},
		{"/Pickup/abc/", "/Pickup/[redacted]"},
		{"//order-approval/abc", "//order-approval/[redacted]"},
		{"/prefix/dcv/email/abc", "/prefix/dcv/email/[redacted]"},
		{"/services/v2/order/certificate/5/Email-Validation/abc", "/services/v2/order/certificate/5/Email-Validation/[redacted]"},
		{"/%FF%C4%B0/mailbox/abc", "/\xff\xc4\xb0/mailbox/[redacted]"},
		{"/services/v2/order/certificate/5", "/services/v2/order/certificate/5"},
	} {
		r := httptest.NewRequest("GET", "http://ca.example"+tc.path, nil)
		if got := logPath(r); got != tc.want {
			t.Errorf("logPath(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
